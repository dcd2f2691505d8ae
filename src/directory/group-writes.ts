// Writing groups (issue 13: the directory owns its writes; src/scim parses and renders).
// Attributes are rewritten whole; members change through set-based SQL over the
// membership table, so adding or removing thousands of members is one statement and the
// write knows exactly which members changed. One transaction scoped to the tenant per
// write, with the caller's precondition (If-Match), the directory listeners and the
// audit event, re-run on a deadlock or serialisation failure (src/db/retry.ts). Locks:
// the group row, then its memberships, then (in the reconcile) licences, as
// licensing/reconcile.ts's "Lock order" says.
import type { Knex } from 'knex';
import { appendAuditEvent, canonicalJson, type AuditAction } from '../audit/index.js';
import { withTenant } from '../db/tenant-scope.js';
import { AppError, invalidInput } from '../shared/errors.js';
import type { DirectoryContext, Precondition } from './context.js';
import {
  addMembers,
  deleteGroup,
  findGroup,
  insertGroup,
  removeMembers,
  resolveMembers,
  updateGroup,
  type MemberKey,
  type MembershipChange,
} from './groups.js';
import { memberIdsOf } from './lookups.js';
import type { GroupRow, StoredData } from './types.js';

/**
 * One step of a membership change, in the order a request gave them: add these, remove
 * these (or all), or set the members to exactly these.
 */
export type MemberStep =
  { kind: 'add' | 'set'; ids: string[] } | { kind: 'remove'; ids: string[] | 'all' };

const groupNotFound = (id: string) =>
  new AppError('not_found', `Group ${id} not found`, { status: 404 });

/** The ids the steps add (members must exist before anything is written). */
const idsToAdd = (steps: MemberStep[]) => steps.flatMap((s) => (s.kind === 'remove' ? [] : s.ids));

/** Resolve the ids to add; unknown ids fail the whole write before anything is written. */
async function resolved(
  trx: Knex.Transaction,
  ctx: DirectoryContext,
  groupId: string,
  steps: MemberStep[],
): Promise<Map<string, MemberKey>> {
  const wanted = idsToAdd(steps);
  if (wanted.includes(groupId)) throw invalidInput('a group cannot be a member of itself');
  const { found, missing } = await resolveMembers(trx, ctx.tenantId, wanted);
  if (missing.length) {
    throw invalidInput(
      `no such member${missing.length > 1 ? 's' : ''}: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`,
    );
  }
  return new Map(found.map((m) => [m.id, m]));
}

async function applySteps(
  trx: Knex.Transaction,
  ctx: DirectoryContext,
  groupId: string,
  steps: MemberStep[],
): Promise<MembershipChange> {
  const known = await resolved(trx, ctx, groupId, steps);
  const now = ctx.clock.now();
  // Net effect per member: +1 added, -1 removed (an add then a remove cancels out).
  const net = new Map<string, { m: MemberKey; d: number }>();
  const record = (ms: MemberKey[], d: number) => {
    for (const m of ms) {
      const cur = net.get(m.id);
      net.set(m.id, { m, d: (cur?.d ?? 0) + d });
    }
  };
  for (const step of steps) {
    if (step.kind === 'remove') {
      record(await removeMembers(trx, ctx.tenantId, groupId, step.ids), -1);
      continue;
    }
    const members = [...new Set(step.ids.map((id) => id.toLowerCase()))].map((id) =>
      known.get(id)!,
    );
    if (step.kind === 'set') {
      const keep = new Set(members.map((m) => m.id));
      const current = await memberIdsOf(trx, ctx.tenantId, groupId);
      const dropped = current.filter((id) => !keep.has(id));
      record(await removeMembers(trx, ctx.tenantId, groupId, dropped), -1);
    }
    record(await addMembers(trx, ctx.tenantId, groupId, members, now), 1);
  }
  const entries = [...net.values()];
  return {
    added: entries.filter((e) => e.d > 0).map((e) => e.m),
    removed: entries.filter((e) => e.d < 0).map((e) => e.m),
  };
}

async function audited(
  trx: Knex.Transaction,
  ctx: DirectoryContext,
  action: AuditAction,
  groupId: string,
  data: StoredData | undefined,
  change: MembershipChange,
  opts: { renamed: boolean } = { renamed: false },
) {
  // Who is affected: the members added or removed, and everyone inside a member group
  // that was added or removed. The group's other members are untouched by a membership
  // change, so a 10,000-member group is not re-examined when one member joins; only a
  // rename (rule filters may name groups.display) reaches all of them.
  const members = [...change.added, ...change.removed];
  await ctx.hooks.changed(
    trx,
    ctx.tenantId,
    {
      userIds: members.filter((m) => m.type === 'User').map((m) => m.id),
      groupIds: [
        ...(opts.renamed ? [groupId] : []),
        ...members.filter((m) => m.type === 'Group').map((m) => m.id),
      ],
    },
    ctx.actor,
  );
  // Last: the audit append locks the tenant's chain head until commit (user-writes.ts).
  await appendAuditEvent(
    trx,
    ctx.tenantId,
    {
      action,
      actor: ctx.actor,
      target: { type: 'group', id: groupId },
      payload: {
        ...(data ? { displayName: data.displayName, externalId: data.externalId ?? null } : {}),
        membersAdded: change.added.map((m) => m.id),
        membersRemoved: change.removed.map((m) => m.id),
      },
    },
    ctx.clock,
  );
}

/**
 * A new group with its first members. `then` runs in the same transaction on the new
 * row (the caller's rendering reads its members there).
 */
export function createGroup<T>(
  ctx: DirectoryContext,
  data: StoredData,
  memberIds: string[] | undefined,
  then: (trx: Knex.Transaction, row: GroupRow) => Promise<T>,
): Promise<T> {
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const row = await insertGroup(trx, ctx.tenantId, data, ctx.clock.now());
    const change = memberIds?.length
      ? await applySteps(trx, ctx, row.group_id, [{ kind: 'add', ids: memberIds }])
      : { added: [], removed: [] };
    const out = await then(trx, row);
    await audited(trx, ctx, 'group.created', row.group_id, data, change);
    return out;
  });
}

/**
 * Change a group: `plan` turns the locked row into its new attributes and the membership
 * steps. A change that changes nothing writes nothing and keeps the version. `then` runs
 * in the same transaction on the resulting row.
 */
export function changeGroup<T>(
  ctx: DirectoryContext,
  id: string,
  action: 'group.replaced' | 'group.patched',
  opts: {
    precondition?: Precondition;
    plan: (row: GroupRow) => Promise<{ data: StoredData; steps: MemberStep[] }>;
    then: (trx: Knex.Transaction, row: GroupRow) => Promise<T>;
  },
): Promise<T> {
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const row = await findGroup(trx, ctx.tenantId, id, { forUpdate: true });
    if (!row) throw groupNotFound(id);
    opts.precondition?.(Number(row.version));
    const { data, steps } = await opts.plan(row);
    const change = await applySteps(trx, ctx, id, steps);
    const attributesChanged = canonicalJson(data) !== canonicalJson(row.data);
    if (!attributesChanged && change.added.length === 0 && change.removed.length === 0)
      return opts.then(trx, row);
    const updated = await updateGroup(trx, ctx.tenantId, id, data, ctx.clock.now());
    const out = await opts.then(trx, updated);
    await audited(trx, ctx, action, id, data, change, {
      renamed: data.displayName !== row.data.displayName,
    });
    return out;
  });
}

/** Delete a group and its memberships (the members stay). */
export async function removeGroup(
  ctx: DirectoryContext,
  id: string,
  precondition?: Precondition,
): Promise<void> {
  await withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const row = await findGroup(trx, ctx.tenantId, id, { forUpdate: true });
    if (!row) throw groupNotFound(id);
    precondition?.(Number(row.version));
    const change = await deleteGroup(trx, ctx.tenantId, id);
    await audited(trx, ctx, 'group.deleted', id, row.data, change);
  });
}
