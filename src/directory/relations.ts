// The directory as other capabilities read it in SQL (issue 13): the tenant's users and
// memberships as relations to embed in a larger statement, and the user attributes that
// licence rules and restrictions read, as expressions over a user relation. Licensing's
// set-based queries (eligibility over 100,000 users, the reconciler's scoping) join these
// instead of naming the directory's tables, so the storage stays the directory's own.
//
// Each relation is a plain tenant-scoped subquery: PostgreSQL pulls it up into the outer
// query, so a join on it is planned exactly as a join on the table (same indexes, no
// materialisation).
import type { SqlFragment } from '../db/sql-fragment.js';
import { ENTERPRISE_USER } from './types.js';

/** A piece of SQL with its positional bindings, in order (the one SqlFragment of src/db). */
export type Sql = SqlFragment;

/**
 * The tenant's users, as a FROM item (give it an alias): every stored column, among
 * them user_id, user_name, external_id, active and data (the SCIM JSON), and tenant_id,
 * which the SCIM filter's SQL (filterToSql) ties its subqueries to.
 */
export const usersRelation = (tenantId: string): Sql => ({
  sql: '(SELECT * FROM directory_users WHERE tenant_id = ?)',
  bindings: [tenantId],
});

/**
 * The tenant's memberships, as a FROM item: (group_id, member_id, member_type), the
 * direct edges of the membership graph; `kind` keeps only users or only groups as members.
 */
export const membershipsRelation = (tenantId: string, kind?: 'User' | 'Group'): Sql =>
  kind
    ? {
        sql: `(SELECT group_id, member_id, member_type FROM directory_memberships
                WHERE tenant_id = ? AND member_type = '${kind}')`,
        bindings: [tenantId],
      }
    : {
        sql: '(SELECT group_id, member_id, member_type FROM directory_memberships WHERE tenant_id = ?)',
        bindings: [tenantId],
      };

/** SQL expressions of a user's attributes over a user relation aliased `alias`. */
export interface UserAttributeSql {
  userId: string;
  userName: string;
  /** data.displayName, NULL when absent. */
  displayName: string;
  /** Whether the IdP has the user active (a boolean column; SCIM `active`). */
  active: string;
  /** The enterprise extension's department (RFC 7643 §4.3), NULL when absent. */
  department: string;
  /** The country of the primary address (else the first), '' when none. */
  country: string;
}

/** The user attributes rules and licence restrictions read, as SQL over `alias`. */
export const userAttributeSql = (alias: string): UserAttributeSql => ({
  userId: `${alias}.user_id`,
  userName: `${alias}.user_name`,
  displayName: `(${alias}.data ->> 'displayName')`,
  active: `${alias}.active`,
  department: `(${alias}.data -> '${ENTERPRISE_USER}' ->> 'department')`,
  country: `coalesce(
  (SELECT a ->> 'country' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${alias}.data -> 'addresses') = 'array' THEN ${alias}.data -> 'addresses' ELSE '[]'::jsonb END) a
   ORDER BY (a ->> 'primary')::boolean IS TRUE DESC LIMIT 1), '')`,
});
