// Bulk (RFC 7644 §3.7). Each operation runs on its own, in its own transaction, exactly as
// the same request sent alone would; `bulkId:<id>` references (in paths and anywhere in
// data, such as group members) resolve to resources created earlier in the request,
// forward references included. failOnErrors stops processing after that many errors.
// Limits are advertised in ServiceProviderConfig and enforced before anything is written.
import { AppError } from '../shared/errors.js';
import type { ScimContext } from './context.js';
import { BULK_MAX_OPERATIONS } from './discovery.js';
import { scimError, scimErrorBody } from './errors.js';
import { createGroup, patchGroup, removeGroup, replaceGroup } from './groups.js';
import { BULK_REQUEST, BULK_RESPONSE } from './schemas.js';
import { createUser, patchUser, removeUser, replaceUser } from './users.js';

interface BulkOperation {
  method: string;
  bulkId?: string;
  version?: string;
  path: string;
  data?: unknown;
}

interface BulkResult {
  method: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: unknown;
}

const REF = /^bulkId:(.+)$/;

/** Replace every "bulkId:x" string; return null when one is not resolvable yet. */
function resolveRefs(value: unknown, ids: Map<string, string>, missing: Set<string>): unknown {
  if (typeof value === 'string') {
    const m = REF.exec(value);
    if (!m) return value;
    const id = ids.get(m[1]!);
    if (id === undefined) missing.add(m[1]!);
    return id ?? value;
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, ids, missing));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, resolveRefs(v, ids, missing)]),
    );
  }
  return value;
}

function parse(body: unknown): { ops: BulkOperation[]; failOnErrors: number } {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw scimError(400, 'invalidSyntax', 'the body must be a BulkRequest');
  const b = body as Record<string, unknown>;
  if (
    !Array.isArray(b.schemas) ||
    !b.schemas.some((s) => String(s).toLowerCase() === BULK_REQUEST.toLowerCase())
  ) {
    throw scimError(400, 'invalidSyntax', `the body must declare the schema ${BULK_REQUEST}`);
  }
  if (!Array.isArray(b.Operations))
    throw scimError(400, 'invalidSyntax', 'Operations must be an array');
  if (b.Operations.length > BULK_MAX_OPERATIONS) {
    throw scimError(
      413,
      undefined,
      `the bulk request has ${b.Operations.length} operations; maxOperations is ${BULK_MAX_OPERATIONS}`,
      'payload_too_large',
    );
  }
  const failOnErrors = b.failOnErrors === undefined ? Infinity : Number(b.failOnErrors);
  if (!Number.isInteger(failOnErrors) && failOnErrors !== Infinity)
    throw scimError(400, 'invalidValue', 'failOnErrors must be an integer');
  const ops = (b.Operations as unknown[]).map((o, i) => {
    const op = o as Partial<BulkOperation>;
    if (
      !op ||
      typeof op !== 'object' ||
      typeof op.method !== 'string' ||
      typeof op.path !== 'string'
    ) {
      throw scimError(400, 'invalidSyntax', `operation ${i + 1} needs a method and a path`);
    }
    if (op.method.toUpperCase() === 'POST' && typeof op.bulkId !== 'string') {
      throw scimError(400, 'invalidSyntax', `operation ${i + 1}: POST needs a bulkId`);
    }
    return op as BulkOperation;
  });
  return { ops, failOnErrors: failOnErrors <= 0 ? Infinity : failOnErrors };
}

async function execute(ctx: ScimContext, op: BulkOperation): Promise<BulkResult> {
  const method = op.method.toUpperCase();
  const m = /^\/(Users|Groups)(?:\/([^/]+))?$/.exec(op.path);
  if (!m) throw scimError(400, 'invalidPath', `unsupported bulk path ${op.path}`);
  const kind = m[1] === 'Users' ? 'User' : 'Group';
  const id = m[2];
  const ifMatch = op.version;
  const result = (status: number, resource?: Record<string, unknown>): BulkResult => ({
    method: op.method,
    ...(op.bulkId ? { bulkId: op.bulkId } : {}),
    ...(resource
      ? {
          location: String((resource.meta as { location: string }).location),
          version: String((resource.meta as { version: string }).version),
        }
      : {}),
    status: String(status),
  });
  if (method === 'POST' && !id)
    return result(
      201,
      kind === 'User' ? await createUser(ctx, op.data) : await createGroup(ctx, op.data),
    );
  if (!id) throw scimError(400, 'invalidPath', `${method} needs a resource id in the path`);
  if (method === 'PUT')
    return result(
      200,
      kind === 'User'
        ? await replaceUser(ctx, id, op.data, ifMatch)
        : await replaceGroup(ctx, id, op.data, ifMatch),
    );
  if (method === 'PATCH') {
    if (kind === 'User') return result(200, await patchUser(ctx, id, op.data, ifMatch));
    await patchGroup(ctx, id, op.data, ifMatch);
    return { ...result(204), location: `${ctx.base}/Groups/${id}` };
  }
  if (method === 'DELETE') {
    if (kind === 'User') await removeUser(ctx, id, ifMatch);
    else await removeGroup(ctx, id, ifMatch);
    return result(204);
  }
  throw scimError(400, 'invalidSyntax', `unsupported bulk method ${op.method}`);
}

export async function handleBulk(ctx: ScimContext, body: unknown) {
  const { ops, failOnErrors } = parse(body);
  const created = new Map<string, string>();
  const results: Array<BulkResult | undefined> = new Array(ops.length);
  let errors = 0;
  let pending = ops.map((op, index) => ({ op, index }));
  // Passes until no operation waits on a bulkId any more (forward references), or none progresses.
  while (pending.length && errors < failOnErrors) {
    const waiting: typeof pending = [];
    for (const item of pending) {
      if (errors >= failOnErrors) break;
      const missing = new Set<string>();
      const path = item.op.path.replace(/\/bulkId:([^/]+)/g, (whole, ref: string) => {
        const id = created.get(ref);
        if (id === undefined) missing.add(ref);
        return id === undefined ? whole : `/${id}`;
      });
      const op = { ...item.op, path, data: resolveRefs(item.op.data, created, missing) };
      if (missing.size) {
        waiting.push(item);
        continue;
      }
      try {
        const r = await execute(ctx, op);
        if (op.bulkId && r.location) created.set(op.bulkId, r.location.split('/').pop()!);
        results[item.index] = r;
      } catch (err) {
        errors += 1;
        const e =
          err instanceof AppError
            ? err
            : new AppError('internal', 'Internal server error', {
                status: 500,
                expose: false,
                cause: err,
              });
        results[item.index] = {
          method: item.op.method,
          ...(item.op.bulkId ? { bulkId: item.op.bulkId } : {}),
          status: String(e.status),
          response: scimErrorBody(e),
        };
      }
    }
    if (waiting.length === pending.length) {
      // Nothing progressed: the remaining references name bulkIds that never resolve.
      for (const item of waiting) {
        errors += 1;
        results[item.index] = {
          method: item.op.method,
          ...(item.op.bulkId ? { bulkId: item.op.bulkId } : {}),
          status: '409',
          response: scimErrorBody(
            scimError(
              409,
              'invalidValue',
              'a bulkId reference could not be resolved (unknown, failed or circular)',
            ),
          ),
        };
      }
      break;
    }
    pending = waiting;
  }
  return {
    schemas: [BULK_RESPONSE],
    Operations: results.filter((r): r is BulkResult => r !== undefined),
  };
}
