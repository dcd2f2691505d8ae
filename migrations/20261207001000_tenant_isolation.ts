// Tenant isolation enforced by PostgreSQL (issue 13): row-level security on every table
// that holds a tenant's data, keyed by the transaction's tenant setting.
//
// The service serves as seatkeeper_app (migrations/app-role.ts), which owns nothing and
// cannot bypass row-level security. Every transaction it runs for a tenant first sets
// `seatkeeper.tenant_id` for that transaction only (set_config(…, true), i.e. SET LOCAL:
// src/db/tenant-scope.ts), so a pooled connection never carries one tenant's setting
// into another's transaction. Each policy lets a row be seen, changed or written only
// when its tenant_id is the transaction's tenant.
//
// A query that forgets its tenant is refused, not answered with nothing: the policies
// compare against seatkeeper_current_tenant(), which raises when the setting is unset
// (SQLSTATE 42501). A silent empty answer would hide the bug; an error names it. The
// call sits in a scalar subquery, so PostgreSQL evaluates it once per statement (an
// InitPlan), not once per row, and `tenant_id = $value` still drives the indexes.
//
// Who is not subject to it: the tables' owner (migrations, `withOwner`), and the
// SECURITY DEFINER functions the owner wrote for the audit trail, which take the tenant
// as an argument. The few reads that must span tenants (which tenants exist, which have
// queued audit events) are definer functions below that return ids and nothing else.
import type { Knex } from 'knex';
import { APP_ROLE } from './app-role.js';

/** Every table with a tenant_id column (agenda_jobs and auth_failures have none). */
export const TENANT_TABLES = [
  'tenants',
  'api_tokens',
  'audit_heads',
  'audit_events',
  'audit_checkpoints',
  'audit_pending',
  'directory_users',
  'directory_groups',
  'directory_memberships',
  'directory_counts',
  'products',
  'licenses',
  'license_rules',
  'seats',
];

/** The policy a table that holds a tenant's data gets; later migrations call it for theirs. */
export function tenantIsolationSql(table: string): string {
  return `
    ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
    CREATE POLICY tenant_isolation ON ${table}
      USING (tenant_id = (SELECT seatkeeper_current_tenant()))
      WITH CHECK (tenant_id = (SELECT seatkeeper_current_tenant()));`;
}

export async function up(knex: Knex): Promise<void> {
  const { rows } = (await knex.raw('SELECT quote_ident(current_schema()) AS s')) as {
    rows: Array<{ s: string }>;
  };
  const definer = `SECURITY DEFINER SET search_path = ${rows[0]!.s}, pg_temp`;
  await knex.raw(`
    CREATE FUNCTION seatkeeper_current_tenant() RETURNS uuid LANGUAGE plpgsql STABLE AS $$
    DECLARE
      v text := current_setting('seatkeeper.tenant_id', true);
    BEGIN
      IF v IS NULL OR v = '' THEN
        RAISE EXCEPTION 'no tenant is set for this transaction'
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'run tenant queries through withTenant (src/db/tenant-scope.ts)';
      END IF;
      RETURN v::uuid;
    END $$;

    ${TENANT_TABLES.map(tenantIsolationSql).join('\n')}

    -- The audit queue is a view owned by the owner, so RLS on audit_pending would be
    -- checked as the owner (who bypasses it): the view checks the tenant itself.
    CREATE OR REPLACE VIEW audit_queue AS
      SELECT tenant_id, event_id, occurred_at, actor_type, actor_id, action, target_type,
             target_id, payload_digest, subject_id, salt, body, mac
        FROM audit_pending
       WHERE tenant_id = (SELECT seatkeeper_current_tenant())
      WITH CHECK OPTION;

    -- Which tenants exist: the scheduled jobs and the CLI walk them one by one, each in
    -- a transaction scoped to it. Ids only; a tenant's data is read under its own scope.
    CREATE FUNCTION seatkeeper_tenant_ids() RETURNS SETOF uuid LANGUAGE sql STABLE ${definer} AS $$
      SELECT tenant_id FROM tenants ORDER BY tenant_id
    $$;

    -- Which tenants have audit events waiting to be chained (the settler's round).
    CREATE FUNCTION audit_pending_tenants() RETURNS SETOF uuid LANGUAGE sql STABLE ${definer} AS $$
      SELECT DISTINCT tenant_id FROM audit_pending
    $$;

    -- Which chains grew by at least p_min events since their last checkpoint, with their
    -- heads (src/audit/checkpoint.ts): chain metadata, for the settler's every round.
    CREATE FUNCTION audit_heads_due(p_min bigint)
      RETURNS TABLE (tenant_id uuid, seq bigint, hash text) LANGUAGE sql STABLE ${definer} AS $$
      SELECT h.tenant_id, h.seq, h.hash FROM audit_heads h
       WHERE h.seq >= coalesce((SELECT max(c.seq) FROM audit_checkpoints c
                                 WHERE c.tenant_id = h.tenant_id), 0) + p_min
    $$;

    REVOKE ALL ON FUNCTION seatkeeper_tenant_ids() FROM PUBLIC;
    REVOKE ALL ON FUNCTION audit_heads_due(bigint) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION audit_heads_due(bigint) TO ${APP_ROLE};
    REVOKE ALL ON FUNCTION audit_pending_tenants() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION seatkeeper_tenant_ids() TO ${APP_ROLE};
    GRANT EXECUTE ON FUNCTION audit_pending_tenants() TO ${APP_ROLE};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION audit_heads_due(bigint);
    DROP FUNCTION audit_pending_tenants();
    DROP FUNCTION seatkeeper_tenant_ids();
    CREATE OR REPLACE VIEW audit_queue AS
      SELECT tenant_id, event_id, occurred_at, actor_type, actor_id, action, target_type,
             target_id, payload_digest, subject_id, salt, body, mac
        FROM audit_pending;
    ${TENANT_TABLES.map((t) => `DROP POLICY tenant_isolation ON ${t}; ALTER TABLE ${t} DISABLE ROW LEVEL SECURITY;`).join('\n')}
    DROP FUNCTION seatkeeper_current_tenant();
  `);
}
