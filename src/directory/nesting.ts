// Nested groups: the one walk of the membership graph. A group may hold users and groups;
// "the members of G" means users in G or in any group inside it, at any depth, and "the
// groups of a user" means the groups they are in directly and every group containing
// those. Both are the same recursive walk over group-in-group memberships, one direction
// or the other, written once here as a SQL fragment (a recursive CTE) that licensing's
// eligibility query, its reconciler's scoping and explain all embed (issue 13: the
// directory answers questions about its graph; licensing asks them).
import type { Knex } from 'knex';
import type { Sql } from './relations.js';

/**
 * The recursive CTE `name(root, group_id)` (to follow `WITH RECURSIVE`): from each row of
 * `seed`, a SELECT of (root, group_id), every group reached through group-in-group
 * memberships: `down` to the groups inside, `up` to the groups containing. `root` is
 * carried along unchanged (the group a walk down started from, the direct group a walk up
 * started from; NULL when the caller does not need it). UNION, not UNION ALL: each
 * (root, group) is kept once, so a cycle in the directory ends the walk.
 */
export function nestedGroups(
  name: string,
  direction: 'down' | 'up',
  tenantId: string,
  seed: Sql,
): Sql {
  const [from, to] = direction === 'down' ? ['group_id', 'member_id'] : ['member_id', 'group_id'];
  return {
    sql: `${name}(root, group_id) AS (
       ${seed.sql}
       UNION
       SELECT w.root, m.${to} FROM ${name} w JOIN directory_memberships m
         ON m.tenant_id = ? AND m.${from} = w.group_id AND m.member_type = 'Group'
     )`,
    bindings: [...seed.bindings, tenantId],
  };
}

/** Users under any of these groups, nested groups included (for directory changes to groups). */
export async function usersUnderGroups(
  db: Knex,
  tenantId: string,
  groupIds: string[],
): Promise<string[]> {
  if (groupIds.length === 0) return [];
  const g = nestedGroups('g', 'down', tenantId, {
    sql: 'SELECT NULL::uuid, x FROM unnest(?::uuid[]) AS x',
    bindings: [groupIds],
  });
  const { rows } = await db.raw(
    `WITH RECURSIVE ${g.sql}
     SELECT DISTINCT m.member_id AS user_id FROM g JOIN directory_memberships m
       ON m.tenant_id = ? AND m.group_id = g.group_id AND m.member_type = 'User'`,
    [...g.bindings, tenantId],
  );
  return rows.map((r: { user_id: string }) => r.user_id);
}

/**
 * The groups a user is in, directly or through nested groups, each with the direct group
 * it is reached through (the smallest id, when several lead to it).
 */
export async function groupsOfUser(
  db: Knex,
  tenantId: string,
  userId: string,
): Promise<Map<string, string>> {
  const up = nestedGroups('up', 'up', tenantId, {
    sql: 'SELECT group_id, group_id FROM directory_memberships WHERE tenant_id = ? AND member_id = ?',
    bindings: [tenantId, userId],
  });
  const { rows } = await db.raw(
    `WITH RECURSIVE ${up.sql}
     SELECT group_id, min(root::text) AS via FROM up GROUP BY group_id`,
    up.bindings,
  );
  return new Map(rows.map((r: { group_id: string; via: string }) => [r.group_id, r.via]));
}
