// Lookups other capabilities make in the directory (issue 13): users by id or userName,
// whether they are active, groups by id and their names, and the listings the admin API
// serves. Each is one query for any number of ids (an array parameter), never a loop.
import type { Knex } from 'knex';
import { isUuid } from '../shared/ids.js';

/** Whether the user exists in the tenant. */
export async function userExists(db: Knex, tenantId: string, userId: string): Promise<boolean> {
  if (!isUuid(userId)) return false;
  return !!(await db('directory_users')
    .where({ tenant_id: tenantId, user_id: userId })
    .first('user_id'));
}

/** For each of these users that exists, whether they are active. */
export async function activeStates(
  db: Knex,
  tenantId: string,
  userIds: string[],
): Promise<Map<string, boolean>> {
  if (userIds.length === 0) return new Map();
  const rows = (await db('directory_users')
    .where({ tenant_id: tenantId })
    .whereRaw('user_id = ANY(?::uuid[])', [userIds])
    .select('user_id', 'active')) as Array<{ user_id: string; active: boolean }>;
  return new Map(rows.map((u) => [u.user_id, u.active]));
}

/** userNames are matched case-insensitively (RFC 7643 §4.1.1); looked up this many at a time. */
const USER_NAME_CHUNK = 5000;

/** The ids of the users with these userNames, keyed by the lower-cased userName. */
export async function userIdsByUserName(
  db: Knex,
  tenantId: string,
  userNames: string[],
): Promise<Map<string, string>> {
  const names = [...new Set(userNames.map((n) => n.toLowerCase()))];
  const ids = new Map<string, string>();
  for (let i = 0; i < names.length; i += USER_NAME_CHUNK) {
    const rows = await db('directory_users')
      .where({ tenant_id: tenantId })
      .whereRaw('user_name_lower = ANY(?)', [names.slice(i, i + USER_NAME_CHUNK)])
      .select('user_id', 'user_name');
    for (const r of rows) ids.set(String(r.user_name).toLowerCase(), r.user_id);
  }
  return ids;
}

/** Whether the group exists in the tenant. */
export async function groupExists(db: Knex, tenantId: string, groupId: string): Promise<boolean> {
  if (!isUuid(groupId)) return false;
  return !!(await db('directory_groups')
    .where({ tenant_id: tenantId, group_id: groupId })
    .first('group_id'));
}

/** The displayName of each of these groups that exists. */
export async function groupNames(
  db: Knex,
  tenantId: string,
  groupIds: string[],
): Promise<Map<string, string>> {
  const ids = [...new Set(groupIds)];
  if (ids.length === 0) return new Map();
  const rows = await db('directory_groups')
    .where({ tenant_id: tenantId })
    .whereIn('group_id', ids)
    .select('group_id', 'display_name');
  return new Map(
    rows.map((g: { group_id: string; display_name: string }) => [g.group_id, g.display_name]),
  );
}

/** A listing to page through: its query (whole rows) and the column it is keyed on. */
export interface Listing {
  query: Knex.QueryBuilder;
  idColumn: string;
}

/** The tenant's users, whole rows (last_active_at included), keyed on user_id. */
export const userListing = (db: Knex, tenantId: string): Listing => ({
  query: db('directory_users').where({ tenant_id: tenantId }),
  idColumn: 'user_id',
});

/** The tenant's groups, whole rows and each one's direct member_count, keyed on group_id. */
export const groupListing = (db: Knex, tenantId: string): Listing => ({
  query: db('directory_groups as g')
    .where('g.tenant_id', tenantId)
    .select(
      'g.*',
      db.raw(
        '(SELECT count(*) FROM directory_memberships m WHERE m.tenant_id = g.tenant_id AND m.group_id = g.group_id) AS member_count',
      ),
    ),
  idColumn: 'g.group_id',
});

/** The member ids of a group, direct members only (users and groups). */
export const memberIdsOf = (db: Knex, tenantId: string, groupId: string): Promise<string[]> =>
  db('directory_memberships').where({ tenant_id: tenantId, group_id: groupId }).pluck('member_id');

/** Each user's primary email (RFC 7643 §4.1.2: the one marked primary, else the first). */
export async function primaryEmails(
  db: Knex,
  tenantId: string,
  userIds: string[],
): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const { rows } = (await db.raw(
    `SELECT u.user_id, (
       SELECT e ->> 'value' FROM jsonb_array_elements(
         CASE WHEN jsonb_typeof(u.data -> 'emails') = 'array' THEN u.data -> 'emails' ELSE '[]'::jsonb END
       ) WITH ORDINALITY AS x(e, n)
        WHERE jsonb_typeof(e -> 'value') = 'string'
        ORDER BY coalesce((e ->> 'primary') = 'true', false) DESC, n LIMIT 1) AS email
       FROM directory_users u
      WHERE u.tenant_id = ? AND u.user_id = ANY(?::uuid[])`,
    [tenantId, userIds],
  )) as { rows: Array<{ user_id: string; email: string | null }> };
  return new Map(rows.filter((r) => r.email).map((r) => [r.user_id, r.email!]));
}
