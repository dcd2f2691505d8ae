// Directory users: tenant-scoped storage. Columns mirror the attributes that are unique
// or indexed; `data` is the SCIM JSON. Every statement names the tenant.
import type { Knex } from 'knex';
import type { GroupRef, UserRow } from './types.js';
import type { StoredData } from './types.js';
import { resourceTable } from './resource-table.js';

const COLUMNS = [
  'user_id',
  'user_name',
  'external_id',
  'active',
  'data',
  'version',
  'created_at',
  'last_modified',
];

/** The columns stored beside a user's SCIM JSON. */
const columnsOf = (data: StoredData) => ({
  user_name: String(data.userName),
  external_id: typeof data.externalId === 'string' ? data.externalId : null,
  active: data.active === undefined ? true : data.active === true,
});

const users = resourceTable<UserRow>({
  table: 'directory_users',
  idColumn: 'user_id',
  columns: COLUMNS,
  columnsOf,
});

/** The row a new user is stored as (what an insert returns), built without reading it back. */
export const newUserRow = (id: string, data: StoredData, now: Date): UserRow => ({
  user_id: id,
  ...columnsOf(data),
  data,
  version: 1,
  created_at: now,
  last_modified: now,
});

export const insertUser = users.insert;
/** Several new users in one statement (src/db/coalesce.ts); see ResourceTable.insertBatch. */
export const insertUsers = users.insertBatch;
export const findUser = users.find;
export const updateUser = users.update;

/** Delete a user and their memberships; returns the groups they were in. */
/** Lock (FOR UPDATE, in group_id order) the groups a user is a direct member of. */
export async function lockGroupsOf(
  trx: Knex.Transaction,
  tenantId: string,
  userId: string,
): Promise<void> {
  await trx.raw(
    `SELECT g.group_id FROM directory_groups g
      WHERE g.tenant_id = ? AND g.group_id IN (
        SELECT m.group_id FROM directory_memberships m WHERE m.tenant_id = ? AND m.member_id = ?)
      ORDER BY g.group_id FOR UPDATE`,
    [tenantId, tenantId, userId],
  );
}

export async function deleteUser(
  trx: Knex.Transaction,
  tenantId: string,
  userId: string,
): Promise<string[]> {
  const groups = await trx('directory_memberships')
    .where({ tenant_id: tenantId, member_id: userId })
    .del()
    .returning('group_id');
  await trx('directory_users').where({ tenant_id: tenantId, user_id: userId }).del();
  return groups.map((g: { group_id: string }) => g.group_id);
}

/** Direct group memberships of a page of users, in one query. */
export async function groupsOfUsers(
  db: Knex,
  tenantId: string,
  userIds: string[],
): Promise<Map<string, GroupRef[]>> {
  const out = new Map<string, GroupRef[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return out;
  // One statement text for any number of users (an array parameter, not an IN list),
  // so it is parsed and planned once per connection: every page of users runs it.
  const { rows } = (await db
    .raw(
      `SELECT m.member_id, g.group_id, g.display_name
         FROM directory_memberships m
         JOIN directory_groups g ON g.tenant_id = m.tenant_id AND g.group_id = m.group_id
        WHERE m.tenant_id = ? AND m.member_id = ANY(?::uuid[])
        ORDER BY m.member_id, g.display_name, g.group_id`,
      [tenantId, userIds],
    )
    .options({ name: 'groups_of_users' })) as {
    rows: Array<{ member_id: string; group_id: string; display_name: string }>;
  };
  for (const r of rows) out.get(r.member_id)?.push({ id: r.group_id, displayName: r.display_name });
  return out;
}

export const USER_COLUMNS = COLUMNS;

const ALIAS = /^[a-z]$/;

/**
 * A select-list item naming `_groups`: the direct groups of the user row `alias` as a
 * JSON array of [id, displayName], in groupsOfUsers' order. A page of users selects it
 * beside its rows (src/scim/list.ts), so the page is one statement where it was two:
 * since every read is a scoped transaction, each statement saved is a round trip off a
 * page's latency (issue 13, bench/RESULTS.md §15). Read it back with groupRefsOf.
 */
export function groupsColumn(alias: string): string {
  if (!ALIAS.test(alias)) throw new Error(`not a table alias: ${alias}`);
  return `(SELECT coalesce(json_agg(json_build_array(g.group_id, g.display_name)
                                    ORDER BY g.display_name, g.group_id), '[]')
             FROM directory_memberships m
             JOIN directory_groups g ON g.tenant_id = m.tenant_id AND g.group_id = m.group_id
            WHERE m.tenant_id = ${alias}.tenant_id AND m.member_id = ${alias}.user_id) AS _groups`;
}

/** A row's `_groups` (see groupsColumn) as group references; the row loses the column. */
export function takeGroupRefs(row: Record<string, unknown>): GroupRef[] {
  const pairs = row._groups as Array<[string, string]>;
  delete row._groups;
  return pairs.map(([id, displayName]) => ({ id, displayName }));
}
