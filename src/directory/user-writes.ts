// Writing users (issue 13: the directory owns its writes; src/scim is the protocol adapter
// that parses and renders). Each write is atomic: one transaction scoped to the tenant
// (src/db/tenant-scope.ts) holding the change, the caller's precondition (If-Match), the
// directory listeners (licensing's reconcile) and the audit event, so a failed write
// writes nothing; it is re-run on a deadlock or serialisation failure (src/db/retry.ts).
// Locks follow licensing/reconcile.ts's "Lock order": the user row, then (a deletion)
// the groups it is in, then memberships, then licences.
import type { Knex } from 'knex';
import { appendAuditEvent, canonicalJson, type AuditAction } from '../audit/index.js';
import { withTenant } from '../db/tenant-scope.js';
import { AppError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { DirectoryContext, Precondition } from './context.js';
import type { GroupRef, StoredData, UserRow } from './types.js';
import { insertCreate, writeCreate, type UserCreate } from './user-creates.js';
import { deleteUser, findUser, groupsOfUsers, lockGroupsOf, updateUser } from './users.js';

const userNotFound = (id: string) =>
  new AppError('not_found', `User ${id} not found`, { status: 404 });

/** A user as written, with the groups it is directly in (what a representation shows). */
export interface WrittenUser {
  row: UserRow;
  groups: GroupRef[];
}

async function audited(
  trx: Knex.Transaction,
  ctx: DirectoryContext,
  action: AuditAction,
  userId: string,
  payload: Record<string, unknown>,
) {
  await ctx.hooks.changed(trx, ctx.tenantId, { userIds: [userId], groupIds: [] }, ctx.actor);
  // Last: the append holds the tenant's chain head until commit (other writers queue
  // their events meanwhile), so the less that runs after it, the better.
  await appendAuditEvent(
    trx,
    ctx.tenantId,
    { action, actor: ctx.actor, target: { type: 'user', id: userId }, subject: userId, payload },
    ctx.clock,
  );
}

/**
 * A new user. The user and their audit event are one INSERT (the event queued as a CTE,
 * chained by the settler), so when no directory listener wants to hear of creates, as
 * the seat reconciler does not, a create is a single statement in autocommit, shared
 * with the creates of its tenant that arrive with it (user-creates.ts): no BEGIN or
 * COMMIT, the chain head never locked on the request's path.
 */
export async function createUser(ctx: DirectoryContext, data: StoredData): Promise<UserRow> {
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
  if (!ctx.hooks.hearsCreates) return writeCreate(ctx.knex, create);
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const row = await insertCreate(trx, create);
    const change = { userIds: [id], groupIds: [], created: true };
    await ctx.hooks.changed(trx, ctx.tenantId, change, ctx.actor);
    return row;
  });
}

/** A user and its groups, read in one scoped transaction. */
export function readUser(ctx: DirectoryContext, id: string): Promise<WrittenUser | undefined> {
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const row = await findUser(trx, ctx.tenantId, id);
    return row ? { row, groups: await groupsOf(trx, ctx, row) } : undefined;
  });
}

const groupsOf = async (db: Knex, ctx: DirectoryContext, row: UserRow) =>
  (await groupsOfUsers(db, ctx.tenantId, [row.user_id])).get(row.user_id) ?? [];

// jsonb reorders keys, so compare canonical forms (RFC 8785).
const same = (a: StoredData, b: StoredData) => canonicalJson(a) === canonicalJson(b);

/**
 * Change a user: `next` turns the locked row into the new data (a PUT's body, a PATCH
 * applied). A change that changes nothing keeps its version and writes nothing, so IdP
 * retries stay idempotent.
 */
export function changeUser(
  ctx: DirectoryContext,
  id: string,
  action: 'user.replaced' | 'user.patched',
  opts: { precondition?: Precondition; next: (row: UserRow) => Promise<StoredData> },
): Promise<WrittenUser> {
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const row = await findUser(trx, ctx.tenantId, id, { forUpdate: true });
    if (!row) throw userNotFound(id);
    opts.precondition?.(Number(row.version));
    const data = await opts.next(row);
    if (same(data, row.data) && data.userName === row.user_name)
      return { row, groups: await groupsOf(trx, ctx, row) };
    const updated = await updateUser(trx, ctx.tenantId, id, data, ctx.clock.now());
    const groups = await groupsOf(trx, ctx, updated);
    await audited(trx, ctx, action, id, data);
    return { row: updated, groups };
  });
}

/** Delete a user and its memberships. */
export async function removeUser(
  ctx: DirectoryContext,
  id: string,
  precondition?: Precondition,
): Promise<void> {
  await withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const row = await findUser(trx, ctx.tenantId, id, { forUpdate: true });
    if (!row) throw userNotFound(id);
    precondition?.(Number(row.version));
    // The user's groups before their membership rows, in id order: their writers lock the
    // group first too, so a deletion waits for them instead of holding rows they need.
    await lockGroupsOf(trx, ctx.tenantId, id);
    const groups = await deleteUser(trx, ctx.tenantId, id);
    await audited(trx, ctx, 'user.deleted', id, { userName: row.user_name, groups });
  });
}
