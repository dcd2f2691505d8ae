// SCIM Users (RFC 7644 §3.3–3.6): each write is atomic, holding the change, its audit
// event and the directory-change hook (one transaction; a create nobody listens to is one
// statement), so a failed request writes nothing. A write is re-run on a deadlock or
// serialisation failure (src/db/retry.ts); its locks follow reconcile.ts's "Lock order":
// the user row, then (a deletion) the groups it is in, then memberships, then licences.
import type { Knex } from 'knex';
import { appendAuditEvent, canonicalJson, type AuditAction } from '../audit/index.js';
import { retryingTransaction } from '../db/retry.js';
import {
  deleteUser,
  findUser,
  groupsOfUsers,
  lockGroupsOf,
  type StoredData,
  updateUser,
  USER_COLUMNS,
  type UserRow,
} from '../directory/index.js';
import type { ScimContext } from './context.js';
import { scimError } from './errors.js';
import { checkIfMatch } from './etag.js';
import { listRows } from './list.js';
import type { ListQuery } from './list-query.js';
import { applyPatch, parsePatchBody } from './patch.js';
import { project, wants } from './projection.js';
import { userResource } from './representation.js';
import { validateUser } from './schemas.js';
import { insertCreate, writeCreate, type UserCreate } from './user-creates.js';
import { newId } from '../shared/ids.js';

const notFound = (id: string) => scimError(404, undefined, `User ${id} not found`, 'not_found');

async function render(ctx: ScimContext, db: Knex, row: UserRow) {
  const groups = await groupsOfUsers(db, ctx.tenantId, [row.user_id]);
  return userResource(row, groups.get(row.user_id), ctx.base);
}

async function audited(
  trx: Knex.Transaction,
  ctx: ScimContext,
  action: AuditAction,
  row: UserRow | { user_id: string },
  data?: StoredData,
) {
  await ctx.hooks.changed(trx, ctx.tenantId, { userIds: [row.user_id], groupIds: [] }, ctx.actor);
  // Last: the append holds the tenant's chain head until commit (other writers queue
  // their events meanwhile), so the less that runs after it, the better.
  await appendAuditEvent(
    trx,
    ctx.tenantId,
    {
      action,
      actor: ctx.actor,
      target: { type: 'user', id: row.user_id },
      subject: row.user_id,
      ...(data ? { payload: data } : {}),
    },
    ctx.clock,
  );
}

/**
 * POST /Users. The user and their audit event are one INSERT (the event queued as a CTE,
 * chained by the settler), so when no directory listener wants to hear of creates, as
 * the seat reconciler does not, a create is a single statement in autocommit, shared
 * with the creates that arrive with it (src/scim/user-creates.ts): no BEGIN or COMMIT,
 * the chain head never locked on the request's path.
 */
export async function createUser(ctx: ScimContext, body: unknown) {
  const data = validateUser(body);
  const id = newId();
  const create: UserCreate = {
    tenantId: ctx.tenantId,
    id,
    data,
    now: ctx.clock.now(),
    event: {
      action: 'user.created',
      actor: ctx.actor,
      target: { type: 'user', id },
      subject: id,
      payload: data,
    },
    clock: ctx.clock,
  };
  if (!ctx.hooks.hearsCreates)
    return userResource(await writeCreate(ctx.knex, create), [], ctx.base);
  return retryingTransaction(ctx.knex, async (trx) => {
    const row = await insertCreate(trx, create);
    const change = { userIds: [id], groupIds: [], created: true };
    await ctx.hooks.changed(trx, ctx.tenantId, change, ctx.actor);
    return userResource(row, [], ctx.base);
  });
}

export async function getUser(ctx: ScimContext, id: string) {
  const row = await findUser(ctx.knex, ctx.tenantId, id);
  if (!row) throw notFound(id);
  return { row, resource: await render(ctx, ctx.knex, row) };
}

// jsonb reorders keys, so compare canonical forms (RFC 8785).
const same = (a: StoredData, b: StoredData) => canonicalJson(a) === canonicalJson(b);

async function write(
  ctx: ScimContext,
  id: string,
  ifMatch: string | undefined,
  action: AuditAction,
  next: (row: UserRow, trx: Knex.Transaction) => Promise<StoredData>,
) {
  return retryingTransaction(ctx.knex, async (trx) => {
    const row = await findUser(trx, ctx.tenantId, id, { forUpdate: true });
    if (!row) throw notFound(id);
    checkIfMatch(ifMatch, Number(row.version));
    const data = await next(row, trx);
    // An update that changes nothing keeps its version: IdP retries stay idempotent.
    if (same(data, row.data) && data.userName === row.user_name) return render(ctx, trx, row);
    const updated = await updateUser(trx, ctx.tenantId, id, data, ctx.clock.now());
    const resource = await render(ctx, trx, updated);
    await audited(trx, ctx, action, updated, data);
    return resource;
  });
}

/** PUT: the body replaces every writable attribute (Okta's GET-then-PUT lands here). */
export async function replaceUser(ctx: ScimContext, id: string, body: unknown, ifMatch?: string) {
  const data = validateUser(body);
  return write(ctx, id, ifMatch, 'user.replaced', async () => data);
}

export async function patchUser(ctx: ScimContext, id: string, body: unknown, ifMatch?: string) {
  const ops = parsePatchBody(body, 'User');
  for (const op of ops) {
    if (op.path && /^groups(\b|\.|\[)/i.test(op.path)) {
      throw scimError(
        400,
        'mutability',
        'groups is read-only on a User: change memberships on the Group',
      );
    }
  }
  return write(ctx, id, ifMatch, 'user.patched', async (row) => {
    const current = userResource(row, undefined, ctx.base);
    const patched = await applyPatch('User', current, ops);
    return validateUser(patched);
  });
}

export async function removeUser(ctx: ScimContext, id: string, ifMatch?: string) {
  await retryingTransaction(ctx.knex, async (trx) => {
    const row = await findUser(trx, ctx.tenantId, id, { forUpdate: true });
    if (!row) throw notFound(id);
    checkIfMatch(ifMatch, Number(row.version));
    // The user's groups before their membership rows, in id order: their writers lock the
    // group first too, so a deletion waits for them instead of holding rows they need.
    await lockGroupsOf(trx, ctx.tenantId, id);
    const groups = await deleteUser(trx, ctx.tenantId, id);
    await ctx.hooks.changed(trx, ctx.tenantId, { userIds: [id], groupIds: [] }, ctx.actor);
    await appendAuditEvent(
      trx,
      ctx.tenantId,
      {
        action: 'user.deleted',
        actor: ctx.actor,
        target: { type: 'user', id },
        subject: id,
        payload: { userName: row.user_name, groups },
      },
      ctx.clock,
    );
  });
}

export async function listUsers(ctx: ScimContext, query: ListQuery) {
  const page = await listRows<UserRow>(ctx.knex, ctx.tenantId, 'User', query, USER_COLUMNS);
  const withGroups = wants('groups', 'User', query.attributes, query.excludedAttributes);
  const groups = withGroups
    ? await groupsOfUsers(
        ctx.knex,
        ctx.tenantId,
        page.rows.map((r) => r.user_id),
      )
    : undefined;
  const resources = page.rows.map((r) =>
    project(
      userResource(r, groups?.get(r.user_id), ctx.base),
      'User',
      query.attributes,
      query.excludedAttributes,
    ),
  );
  return { ...page, resources };
}
