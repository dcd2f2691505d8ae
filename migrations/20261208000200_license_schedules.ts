// The remaining scheduled jobs of issue 14 and what they store.
//
// - licenses.expiry_alert_days: the lead times (days before a fixed term's end) at which
//   `license.expiring` is published; threshold_crossings counts upward utilisation
//   crossings, so each crossing has its own webhook dedupe key (falling below re-arms).
// - license_terms: each stored renewal of an auto-renewing subscription (term start and
//   end, when it was renewed). Unique per (licence, term start): a renewal run twice, or
//   on two replicas at once, stores one term. licenses.renewed_term_* is the latest one,
//   the term the rest of the code reads as current (src/licensing/term.ts). term_id
//   (time-ordered) pages GET /licenses/{id}/terms.
// - tenants.audit_retention_days: payloads of audit events older than that are erased
//   (NULL: kept forever) by audit_erase_expired, which, like audit_erase, appends the
//   event recording the erasure in the same call, and erases at most p_limit a call.
import type { Knex } from 'knex';
import { APP_ROLE } from './app-role.js';
import { tenantIsolationSql } from './20261207001000_tenant_isolation.js';

export const LICENSE_SCHEDULE_TENANT_TABLES = ['license_terms'];

export async function up(knex: Knex): Promise<void> {
  const { rows } = (await knex.raw('SELECT quote_ident(current_schema()) AS s')) as {
    rows: Array<{ s: string }>;
  };
  const definer = `SECURITY DEFINER SET search_path = ${rows[0]!.s}, pg_temp`;
  await knex.raw(`
    ALTER TABLE licenses
      ADD COLUMN expiry_alert_days jsonb NOT NULL DEFAULT '[30, 7, 1]',
      ADD COLUMN threshold_crossings integer NOT NULL DEFAULT 0,
      ADD COLUMN renewed_term_starts_at timestamptz,
      ADD COLUMN renewed_term_ends_at timestamptz,
      ADD CONSTRAINT licenses_renewed_term CHECK (
        (renewed_term_starts_at IS NULL) = (renewed_term_ends_at IS NULL)
        AND (renewed_term_ends_at IS NULL OR renewed_term_ends_at > renewed_term_starts_at));
    ALTER TABLE tenants
      ADD COLUMN audit_retention_days integer CHECK (audit_retention_days >= 1);

    CREATE TABLE license_terms (
      tenant_id  uuid NOT NULL,
      term_id    uuid NOT NULL,
      license_id uuid NOT NULL,
      starts_at  timestamptz NOT NULL,
      ends_at    timestamptz NOT NULL CHECK (ends_at > starts_at),
      renewed_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, term_id),
      UNIQUE (tenant_id, license_id, starts_at),
      FOREIGN KEY (tenant_id, license_id) REFERENCES licenses (tenant_id, license_id)
    );
    ${tenantIsolationSql('license_terms')}

    -- Retention walks the oldest payloads still present.
    CREATE INDEX audit_events_retention_idx ON audit_events (tenant_id, occurred_at)
      WHERE body IS NOT NULL;

    CREATE FUNCTION audit_erase_expired(p_tenant uuid, p_before timestamptz, p_limit integer,
                                        p_seq bigint, p_hash text, p_event json)
      RETURNS bigint LANGUAGE plpgsql ${definer} AS $$
    DECLARE n bigint;
    BEGIN
      IF p_event->>'action' IS DISTINCT FROM 'audit.payloads_expired'
         OR p_event->>'target_type' IS DISTINCT FROM 'tenant'
         OR p_event->>'target_id' IS DISTINCT FROM p_tenant::text
         OR p_event->>'actor_type' IS NULL OR p_event->>'actor_id' IS NULL
         OR ((p_event->>'body')::jsonb->>'before')::timestamptz IS DISTINCT FROM p_before
         OR p_limit IS NULL OR p_limit < 1 THEN
        RAISE EXCEPTION 'a retention erasure needs its audit.payloads_expired event naming the tenant, the actor and the cut-off'
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      UPDATE audit_events SET body = NULL, salt = NULL, erased_at = (p_event->>'occurred_at')::timestamptz
       WHERE tenant_id = p_tenant AND seq IN (
         SELECT seq FROM audit_events
          WHERE tenant_id = p_tenant AND body IS NOT NULL AND occurred_at < p_before
          ORDER BY occurred_at, seq LIMIT p_limit);
      GET DIAGNOSTICS n = ROW_COUNT;
      IF ((p_event->>'body')::jsonb->>'payloadsErased')::bigint IS DISTINCT FROM n THEN
        RAISE EXCEPTION 'the retention event says % payloads, % were erased', (p_event->>'body')::jsonb->>'payloadsErased', n
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      PERFORM audit_chain(p_tenant, p_seq, p_hash, json_build_array(p_event));
      RETURN n;
    END $$;
    REVOKE ALL ON FUNCTION audit_erase_expired(uuid, timestamptz, integer, bigint, text, json) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION audit_erase_expired(uuid, timestamptz, integer, bigint, text, json) TO ${APP_ROLE};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION audit_erase_expired(uuid, timestamptz, integer, bigint, text, json);
    DROP INDEX audit_events_retention_idx;
    DROP TABLE license_terms;
    ALTER TABLE tenants DROP COLUMN audit_retention_days;
    ALTER TABLE licenses
      DROP CONSTRAINT licenses_renewed_term,
      DROP COLUMN renewed_term_ends_at,
      DROP COLUMN renewed_term_starts_at,
      DROP COLUMN threshold_crossings,
      DROP COLUMN expiry_alert_days;
  `);
}
