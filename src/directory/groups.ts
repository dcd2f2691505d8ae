// Directory groups and memberships: tenant-scoped storage. Membership changes are
// set-based (one statement for thousands of members) and report what really changed.
import type { Knex } from 'knex';
import type { GroupRow, MemberOut } from './types.js';
import { isUuid } from '../shared/ids.js';
import { resourceTable } from './resource-table.js';

export const GROUP_COLUMNS = [
  'group_id',
  'display_name',
  'external_id',
  'data',
  'version',
  'created_at',
  'last_modified',
];

const groups = resourceTable<GroupRow>({
  table: 'directory_groups',
  idColumn: 'group_id',
  columns: GROUP_COLUMNS,
  columnsOf: (data) => ({
    display_name: String(data.displayName),
    external_id: typeof data.externalId === 'string' ? data.externalId : null,
  }),
});

export const insertGroup = groups.insert;
export const findGroup = groups.find;
/** Write the group's attributes; bumps the version (a membership change counts as a change). */
export const updateGroup = groups.update;

export async function deleteGroup(
  trx: Knex.Transaction,
  tenantId: string,
  groupId: string,
): Promise<MembershipChange> {
  const removed = await trx('directory_memberships')
    .where({ tenant_id: tenantId, group_id: groupId })
    .del()
    .returning(['member_id', 'member_type']);
  // The group may itself be a member of other groups.
  await trx('directory_memberships').where({ tenant_id: tenantId, member_id: groupId }).del();
  await trx('directory_groups').where({ tenant_id: tenantId, group_id: groupId }).del();
  return { added: [], removed: removed.map(toMember) };
}

export interface MemberKey {
  id: string;
  type: 'User' | 'Group';
}

export interface MembershipChange {
  added: MemberKey[];
  removed: MemberKey[];
}

const toMember = (r: { member_id: string; member_type: 'User' | 'Group' }): MemberKey => ({
  id: r.member_id,
  type: r.member_type,
});

/** Resolve member ids to their kind; ids that name nothing in this tenant come back in `missing`. */
export async function resolveMembers(
  db: Knex,
  tenantId: string,
  ids: string[],
): Promise<{ found: MemberKey[]; missing: string[] }> {
  const unique = [...new Set(ids)];
  const valid = unique.filter((id) => isUuid(id)).map((id) => id.toLowerCase());
  const rows = valid.length
    ? ((
        await db.raw(
          `SELECT user_id AS id, 'User' AS type FROM directory_users WHERE tenant_id = ? AND user_id = ANY(?::uuid[])
           UNION ALL
           SELECT group_id AS id, 'Group' AS type FROM directory_groups WHERE tenant_id = ? AND group_id = ANY(?::uuid[])`,
          [tenantId, valid, tenantId, valid],
        )
      ).rows as MemberKey[])
    : [];
  const found = new Set(rows.map((r) => r.id));
  return { found: rows, missing: unique.filter((id) => !found.has(id.toLowerCase())) };
}

export async function addMembers(
  trx: Knex.Transaction,
  tenantId: string,
  groupId: string,
  members: MemberKey[],
  now: Date,
): Promise<MemberKey[]> {
  const added: MemberKey[] = [];
  for (let i = 0; i < members.length; i += 5000) {
    const chunk = members.slice(i, i + 5000);
    const rows = await trx('directory_memberships')
      .insert(
        chunk.map((m) => ({
          tenant_id: tenantId,
          group_id: groupId,
          member_id: m.id,
          member_type: m.type,
          added_at: now,
        })),
      )
      .onConflict(['tenant_id', 'group_id', 'member_id'])
      .ignore()
      .returning(['member_id', 'member_type']);
    added.push(...rows.map(toMember));
  }
  return added;
}

export async function removeMembers(
  trx: Knex.Transaction,
  tenantId: string,
  groupId: string,
  ids: string[] | 'all',
): Promise<MemberKey[]> {
  const q = trx('directory_memberships').where({ tenant_id: tenantId, group_id: groupId });
  if (ids !== 'all') {
    const valid = ids.filter((id) => isUuid(id));
    if (valid.length === 0) return [];
    q.whereRaw('member_id = ANY(?::uuid[])', [valid]);
  }
  const rows = await q.del().returning(['member_id', 'member_type']);
  return rows.map(toMember);
}

/** Members of a page of groups with their display names, in one query. */
export async function membersOfGroups(
  db: Knex,
  tenantId: string,
  groupIds: string[],
): Promise<Map<string, MemberOut[]>> {
  const out = new Map<string, MemberOut[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return out;
  const rows = await db('directory_memberships as m')
    .leftJoin('directory_users as u', function () {
      this.on('u.tenant_id', 'm.tenant_id').andOn('u.user_id', 'm.member_id');
    })
    .leftJoin('directory_groups as g', function () {
      this.on('g.tenant_id', 'm.tenant_id').andOn('g.group_id', 'm.member_id');
    })
    .where('m.tenant_id', tenantId)
    .whereIn('m.group_id', groupIds)
    .orderBy(['m.group_id', 'm.added_at', 'm.member_id'])
    .select(
      'm.group_id',
      'm.member_id',
      'm.member_type',
      db.raw("coalesce(u.data->>'displayName', u.user_name, g.display_name) as display"),
    );
  for (const r of rows)
    out.get(r.group_id)?.push({ id: r.member_id, type: r.member_type, display: r.display });
  return out;
}
