// Desired seats = f(directory, rules, licences), computed in SQL for a set of users (or
// everyone): members of each rule's group, nested groups included (a recursive CTE that
// stops on cycles), active, matching the rule's SCIM filter and the licence's
// restrictions; one seat per user and licence, from the rule with the best priority.
import type { Knex } from 'knex';
import { ENTERPRISE_USER, filterToSql } from '../directory/index.js';

export interface DesiredSeat {
  licenseId: string;
  userId: string;
  ruleId: string;
  priority: number;
}

export interface RuleRow {
  rule_id: string;
  license_id: string;
  group_id: string;
  filter: string | null;
  priority: number;
  removal_grace_days: number;
}

/** The user's department and country, as restrictions read them. */
export const DEPARTMENT_SQL = `(u.data -> '${ENTERPRISE_USER}' ->> 'department')`;
export const COUNTRY_SQL = `coalesce(
  (SELECT a ->> 'country' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(u.data -> 'addresses') = 'array' THEN u.data -> 'addresses' ELSE '[]'::jsonb END) a
   ORDER BY (a ->> 'primary')::boolean IS TRUE DESC LIMIT 1), '')`;

/** Users under any of these groups, nested groups included (for directory changes to groups). */
export async function usersUnderGroups(
  db: Knex,
  tenantId: string,
  groupIds: string[],
): Promise<string[]> {
  if (groupIds.length === 0) return [];
  const { rows } = await db.raw(
    `WITH RECURSIVE g(group_id) AS (
       SELECT unnest(?::uuid[])
       UNION
       SELECT m.member_id FROM g JOIN directory_memberships m
         ON m.tenant_id = ? AND m.group_id = g.group_id AND m.member_type = 'Group'
     )
     SELECT DISTINCT m.member_id AS user_id FROM g JOIN directory_memberships m
       ON m.tenant_id = ? AND m.group_id = g.group_id AND m.member_type = 'User'`,
    [groupIds, tenantId, tenantId],
  );
  return rows.map((r: { user_id: string }) => r.user_id);
}

/**
 * Desired seats for the given licences and users (null: all users). `validLicenseIds`
 * are the licences currently in force; rules of other licences grant nothing.
 */
export async function desiredSeats(
  db: Knex,
  tenantId: string,
  rules: RuleRow[],
  validLicenseIds: string[],
  userIds: string[] | null,
): Promise<DesiredSeat[]> {
  const live = rules.filter((r) => validLicenseIds.includes(r.license_id));
  if (live.length === 0 || (userIds !== null && userIds.length === 0)) return [];
  // Each rule's filter becomes its own clause; the rule ids and filters come from our table.
  const clauses: string[] = [];
  const bindings: Knex.RawBinding[] = [];
  for (const r of live) {
    if (!r.filter) {
      clauses.push('c.rule_id = ?');
      bindings.push(r.rule_id);
      continue;
    }
    const f = filterToSql(r.filter, 'User', 'u');
    clauses.push(`(c.rule_id = ? AND (${f.sql}))`);
    bindings.push(r.rule_id, ...(f.bindings as Knex.RawBinding[]));
  }
  const { rows } = await db.raw(
    `WITH RECURSIVE rg(rule_id, license_id, priority, group_id) AS (
       SELECT r.rule_id, r.license_id, r.priority, r.group_id FROM license_rules r
        WHERE r.tenant_id = ? AND r.rule_id = ANY(?::uuid[])
       UNION
       SELECT rg.rule_id, rg.license_id, rg.priority, m.member_id FROM rg JOIN directory_memberships m
         ON m.tenant_id = ? AND m.group_id = rg.group_id AND m.member_type = 'Group'
     ),
     c AS (
       SELECT DISTINCT rg.rule_id, rg.license_id, rg.priority, m.member_id AS user_id
         FROM rg JOIN directory_memberships m
           ON m.tenant_id = ? AND m.group_id = rg.group_id AND m.member_type = 'User'
        WHERE (?::uuid[] IS NULL OR m.member_id = ANY(?::uuid[]))
     )
     SELECT DISTINCT ON (c.license_id, c.user_id) c.license_id, c.user_id, c.rule_id, c.priority
       FROM c
       JOIN directory_users u ON u.tenant_id = ? AND u.user_id = c.user_id AND u.active
       JOIN licenses l ON l.tenant_id = ? AND l.license_id = c.license_id
      WHERE (${clauses.join(' OR ')})
        AND (coalesce(jsonb_array_length(l.restrictions -> 'departments'), 0) = 0
             OR ${DEPARTMENT_SQL} IN (SELECT jsonb_array_elements_text(l.restrictions -> 'departments')))
        AND (coalesce(jsonb_array_length(l.restrictions -> 'countries'), 0) = 0
             OR upper(${COUNTRY_SQL}) IN (SELECT upper(jsonb_array_elements_text(l.restrictions -> 'countries'))))
      ORDER BY c.license_id, c.user_id, c.priority, c.rule_id`,
    [
      tenantId,
      live.map((r) => r.rule_id),
      tenantId,
      tenantId,
      userIds,
      userIds,
      tenantId,
      tenantId,
      ...bindings,
    ],
  );
  return rows.map(
    (r: { license_id: string; user_id: string; rule_id: string; priority: number }) => ({
      licenseId: r.license_id,
      userId: r.user_id,
      ruleId: r.rule_id,
      priority: r.priority,
    }),
  );
}
