// PATCH (RFC 7644 §3.5.2) on top of scimmy's PatchOp, with the shapes real identity
// providers send made acceptable first:
// - operation names in any case ("Replace", Entra);
// - booleans as strings ("False", Entra), coerced where the schema says boolean;
// - an empty Operations array (a no-op rather than an error);
// and the RFC 7643 §2.4 rule scimmy leaves out: at most one `primary: true` per
// multi-valued attribute, the value made primary by this request winning. Value filters
// in paths are decided by our evaluator, not scimmy's (patch-value-path.ts).
import { LIMITS_SCHEMA, PATCH_MAX_OPERATIONS } from './limits.js';
import SCIMMY from 'scimmy';
import { scimError } from './errors.js';
import { ENTERPRISE_USER } from '../directory/index.js';
import type { PatchOperation } from './patch-operation.js';
import { resolveValuePath } from './patch-value-path.js';
import {
  attributesOf,
  coerceAttributeValue,
  enterpriseAttributes,
  PATCH_OP,
  type ResourceKind,
} from './schemas.js';

type Json = Record<string, unknown>;

/** Validate the PatchOp envelope and normalise its operations. */
export function parsePatchBody(body: unknown, kind: ResourceKind): PatchOperation[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw scimError(400, 'invalidSyntax', 'the request body must be a PatchOp message');
  }
  const { schemas, Operations } = body as { schemas?: unknown; Operations?: unknown };
  if (
    !Array.isArray(schemas) ||
    !schemas.some((s) => String(s).toLowerCase() === PATCH_OP.toLowerCase())
  ) {
    throw scimError(400, 'invalidSyntax', `the request body must declare the schema ${PATCH_OP}`);
  }
  const ops = (body as Json).Operations ?? (body as Json).operations;
  if (ops === undefined && Operations === undefined)
    throw scimError(400, 'invalidSyntax', 'Operations is required');
  if (!Array.isArray(ops)) throw scimError(400, 'invalidSyntax', 'Operations must be an array');
  if (ops.length > PATCH_MAX_OPERATIONS) {
    throw scimError(
      413,
      undefined,
      `the PATCH has ${ops.length} operations; at most ${PATCH_MAX_OPERATIONS} are accepted (ServiceProviderConfig, ${LIMITS_SCHEMA})`,
      'payload_too_large',
    );
  }
  return ops.map((raw, i) => {
    if (raw === null || typeof raw !== 'object')
      throw scimError(400, 'invalidSyntax', `operation ${i + 1} must be an object`);
    const o = raw as Json;
    const op = typeof o.op === 'string' ? o.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'remove' && op !== 'replace') {
      throw scimError(
        400,
        'invalidSyntax',
        `operation ${i + 1}: op must be add, remove or replace`,
      );
    }
    const path =
      o.path === undefined || o.path === null || o.path === '' ? undefined : String(o.path);
    if (op === 'remove' && path === undefined)
      throw scimError(400, 'noTarget', `operation ${i + 1}: remove needs a path`);
    if (op !== 'remove' && o.value === undefined)
      throw scimError(400, 'invalidValue', `operation ${i + 1}: ${op} needs a value`);
    return { op, path, value: coerceValue(kind, path, o.value) };
  });
}

/** Find the schema attribute a path or path-less key names (for boolean coercion). */
function attributeFor(kind: ResourceKind, path: string) {
  let p = path;
  let attrs = attributesOf(kind);
  if (kind === 'User' && p.toLowerCase().startsWith(ENTERPRISE_USER.toLowerCase() + ':')) {
    p = p.slice(ENTERPRISE_USER.length + 1);
    attrs = enterpriseAttributes;
  }
  const name = p.replace(/\[.*\]/, '').split(/[.:]/);
  const last = name[name.length - 1]!;
  // `emails[type eq "work"].primary` is `emails.primary` once the filter is cut out.
  let attr = attrs.find((a) => a.name.toLowerCase() === name[0]!.toLowerCase());
  if (attr && name.length > 1)
    attr = attr.subAttributes?.find((a) => a.name.toLowerCase() === last.toLowerCase());
  return attr;
}

function coerceValue(kind: ResourceKind, path: string | undefined, value: unknown): unknown {
  if (path !== undefined) {
    const attr = attributeFor(kind, path);
    return attr ? coerceAttributeValue(value, attr) : value;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    const attr =
      k.toLowerCase() === ENTERPRISE_USER.toLowerCase() ? undefined : attributeFor(kind, k);
    out[k] = attr
      ? coerceAttributeValue(v, attr)
      : k.toLowerCase() === ENTERPRISE_USER.toLowerCase() && v && typeof v === 'object'
        ? coerceEnterprise(v as Json)
        : v;
  }
  return out;
}

function coerceEnterprise(v: Json): Json {
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) {
    const attr = enterpriseAttributes.find((a) => a.name.toLowerCase() === k.toLowerCase());
    out[k] = attr ? coerceAttributeValue(x, attr) : x;
  }
  return out;
}

/**
 * Okta renames a group with `replace {id, displayName}`: the read-only id inside the value
 * is the resource's own, so it is dropped; a different id is a mutability error.
 */
function withoutOwnId(op: PatchOperation, resource: Json): PatchOperation {
  if (op.path !== undefined || !op.value || typeof op.value !== 'object' || Array.isArray(op.value))
    return op;
  const { id, meta: _meta, schemas: _schemas, ...rest } = op.value as Json;
  if (id !== undefined && id !== resource.id) throw scimError(400, 'mutability', 'id is read-only');
  return { ...op, value: rest };
}

/** Keep at most one primary value in each multi-valued attribute. */
function onePrimary(before: Json, after: Json): Json {
  for (const [key, values] of Object.entries(after)) {
    if (!Array.isArray(values)) continue;
    const primaries = values.filter(
      (v) => v && typeof v === 'object' && (v as Json).primary === true,
    );
    if (primaries.length < 2) continue;
    const old = Array.isArray(before[key]) ? (before[key] as Json[]) : [];
    const wasPrimary = (v: Json) =>
      old.some((o) => o.primary === true && o.value === v.value && o.type === v.type);
    const winner = (primaries.find((p) => !wasPrimary(p as Json)) ?? primaries[0]) as Json;
    after[key] = values.map((v) =>
      v !== winner && v && typeof v === 'object' && (v as Json).primary === true
        ? { ...(v as Json), primary: false }
        : v,
    );
  }
  return after;
}

async function scimmyApply(kind: ResourceKind, resource: Json, ops: PatchOperation[]) {
  const Schema = kind === 'User' ? SCIMMY.Schemas.User : SCIMMY.Schemas.Group;
  const message = new SCIMMY.Messages.PatchOp({ schemas: [PATCH_OP], Operations: ops });
  const patched = await message.apply(
    new Schema(structuredClone(resource), 'out') as never,
    async (inst: unknown) => inst as never,
  );
  return JSON.parse(JSON.stringify(patched ?? resource)) as Json;
}

/**
 * Apply operations to a resource (its SCIM JSON, with id and meta) and return the new
 * JSON. Errors come back as SCIM errors with scimType (invalidPath, noTarget, invalidValue,
 * mutability).
 */
export async function applyPatch(
  kind: ResourceKind,
  resource: Json,
  input: PatchOperation[],
): Promise<Json> {
  const ops = input.map((op) => withoutOwnId(op, resource));
  if (ops.length === 0) return resource;
  try {
    // Operations with a value filter are resolved against the resource as the operations
    // before them left it, so those run one at a time; the rest go to scimmy together.
    let after = resource;
    if (!ops.some((op) => op.path?.includes('['))) after = await scimmyApply(kind, after, ops);
    else
      for (const op of ops)
        after = await scimmyApply(kind, after, [resolveValuePath(kind, op, after)]);
    return onePrimary(resource, after);
  } catch (err) {
    const e = err as { status?: number; scimType?: string; message?: string };
    if (e.status && e.status >= 400 && e.status < 500) {
      throw scimError(
        e.status,
        (e.scimType as never) ?? 'invalidValue',
        e.message ?? 'invalid patch',
      );
    }
    throw scimError(400, 'invalidValue', e.message ?? 'invalid patch');
  }
}
