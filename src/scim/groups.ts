// SCIM Groups: attributes through scimmy, members through set-based SQL. One
// transaction per request with its audit event and the directory-change hook, re-run on a
// deadlock or serialisation failure (src/db/retry.ts). Locks: the group row, then its
// memberships, then (in the reconcile) licences, as reconcile.ts's "Lock order" says.
import type { Knex } from 'knex';
import { appendAuditEvent, canonicalJson, type AuditAction } from '../audit/index.js';
import { retryingTransaction } from '../db/retry.js';
import {
  addMembers,
  deleteGroup,
  findGroup,
  GROUP_COLUMNS,
  type GroupRow,
  insertGroup,
  memberIdsOf,
  type MemberKey,
  type MembershipChange,
  membersOfGroups,
  removeMembers,
  resolveMembers,
  type StoredData,
  updateGroup,
} from '../directory/index.js';
import type { ScimContext } from './context.js';
import { scimError } from './errors.js';
import { checkIfMatch } from './etag.js';
import { idsToAdd, splitGroupPatch, type MemberStep } from './group-members.js';
import { listRows } from './list.js';
import type { ListQuery } from './list-query.js';
import { applyPatch, parsePatchBody } from './patch.js';
import { project, wants } from './projection.js';
import { groupResource } from './representation.js';
import { validateGroup } from './schemas.js';

const notFound = (id: string) => scimError(404, undefined, `Group ${id} not found`, 'not_found');

async function render(ctx: ScimContext, db: Knex, row: GroupRow) {
  const members = await membersOfGroups(db, ctx.tenantId, [row.group_id]);
  return groupResource(row, members.get(row.group_id), ctx.base);
}

/** Resolve the ids to add; unknown ids fail the whole request before anything is written. */
async function resolved(
  trx: Knex.Transaction,
  ctx: ScimContext,
  groupId: string,
  steps: MemberStep[],
): Promise<Map<string, MemberKey>> {
  const wanted = idsToAdd(steps);
  if (wanted.includes(groupId))
    throw scimError(400, 'invalidValue', 'a group cannot be a member of itself');
  const { found, missing } = await resolveMembers(trx, ctx.tenantId, wanted);
  if (missing.length) {
    throw scimError(
      400,
      'invalidValue',
      `no such member${missing.length > 1 ? 's' : ''}: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`,
    );
  }
  return new Map(found.map((m) => [m.id, m]));
}

async function applySteps(
  trx: Knex.Transaction,
  ctx: ScimContext,
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
      record(
        await removeMembers(
          trx,
          ctx.tenantId,
          groupId,
          current.filter((id) => !keep.has(id)),
        ),
        -1,
      );
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
  ctx: ScimContext,
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
  // Last: the audit append locks the tenant's chain head until commit (see users.ts).
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

export async function createGroup(ctx: ScimContext, body: unknown) {
  const { data, members } = validateGroup(body);
  return retryingTransaction(ctx.knex, async (trx) => {
    const row = await insertGroup(trx, ctx.tenantId, data, ctx.clock.now());
    const change = members?.length
      ? await applySteps(trx, ctx, row.group_id, [
          { kind: 'add', ids: members.map((m) => m.value) },
        ])
      : { added: [], removed: [] };
    const resource = await render(ctx, trx, row);
    await audited(trx, ctx, 'group.created', row.group_id, data, change);
    return resource;
  });
}

export async function getGroup(ctx: ScimContext, id: string, opts: { members: boolean }) {
  const row = await findGroup(ctx.knex, ctx.tenantId, id);
  if (!row) throw notFound(id);
  return {
    row,
    resource: opts.members
      ? await render(ctx, ctx.knex, row)
      : groupResource(row, undefined, ctx.base),
  };
}

async function write(
  ctx: ScimContext,
  id: string,
  ifMatch: string | undefined,
  action: AuditAction,
  plan: (row: GroupRow) => Promise<{ data: StoredData; steps: MemberStep[] }>,
) {
  return retryingTransaction(ctx.knex, async (trx) => {
    const row = await findGroup(trx, ctx.tenantId, id, { forUpdate: true });
    if (!row) throw notFound(id);
    checkIfMatch(ifMatch, Number(row.version));
    const { data, steps } = await plan(row);
    const change = await applySteps(trx, ctx, id, steps);
    const attributesChanged = canonicalJson(data) !== canonicalJson(row.data);
    if (!attributesChanged && change.added.length === 0 && change.removed.length === 0)
      return { row, change };
    const updated = await updateGroup(trx, ctx.tenantId, id, data, ctx.clock.now());
    await audited(trx, ctx, action, id, data, change, {
      renamed: data.displayName !== row.data.displayName,
    });
    return { row: updated, change };
  });
}

export async function replaceGroup(ctx: ScimContext, id: string, body: unknown, ifMatch?: string) {
  const { data, members } = validateGroup(body);
  const { row } = await write(ctx, id, ifMatch, 'group.replaced', async () => ({
    data,
    steps: [{ kind: 'set', ids: (members ?? []).map((m) => m.value) }],
  }));
  return render(ctx, ctx.knex, row);
}

/**
 * PATCH. RFC 7644 §3.5.2: the response is 200 with the resource or 204 without; we
 * answer 204 when the client did not ask for attributes, so a 10,000-member PATCH does
 * not echo 10,000 members back.
 */
export async function patchGroup(ctx: ScimContext, id: string, body: unknown, ifMatch?: string) {
  const { attributeOps, memberSteps } = splitGroupPatch(parsePatchBody(body, 'Group'));
  return write(ctx, id, ifMatch, 'group.patched', async (row) => {
    if (attributeOps.length === 0) return { data: row.data, steps: memberSteps };
    const patched = await applyPatch(
      'Group',
      groupResource(row, undefined, ctx.base),
      attributeOps,
    );
    return { data: validateGroup({ ...patched, members: undefined }).data, steps: memberSteps };
  });
}

export async function removeGroup(ctx: ScimContext, id: string, ifMatch?: string) {
  await retryingTransaction(ctx.knex, async (trx) => {
    const row = await findGroup(trx, ctx.tenantId, id, { forUpdate: true });
    if (!row) throw notFound(id);
    checkIfMatch(ifMatch, Number(row.version));
    const change = await deleteGroup(trx, ctx.tenantId, id);
    await audited(trx, ctx, 'group.deleted', id, row.data, change);
  });
}

export async function listGroups(ctx: ScimContext, query: ListQuery) {
  const page = await listRows<GroupRow>(ctx.knex, ctx.tenantId, 'Group', query, GROUP_COLUMNS);
  const withMembers = wants('members', 'Group', query.attributes, query.excludedAttributes);
  const members = withMembers
    ? await membersOfGroups(
        ctx.knex,
        ctx.tenantId,
        page.rows.map((r) => r.group_id),
      )
    : undefined;
  const resources = page.rows.map((r) =>
    project(
      groupResource(r, members?.get(r.group_id), ctx.base),
      'Group',
      query.attributes,
      query.excludedAttributes,
    ),
  );
  return { ...page, resources };
}
