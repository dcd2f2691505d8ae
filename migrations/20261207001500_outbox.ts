// The notification outbox (issue 14): a message is written in the same transaction as the
// change that caused it, and delivered at least once by a worker afterwards, so a failing
// mail server never blocks a job or a SCIM write, and a change that rolled back never
// notifies. One row per message; `dedupe_key` makes "never twice for the same scheduled
// reclaim" a constraint. A worker claims due rows (claimed_until) so that two replicas
// never send the same message at once.
import type { Knex } from 'knex';
import { APP_ROLE } from './app-role.js';
import { tenantIsolationSql } from './20261207001000_tenant_isolation.js';

export const OUTBOX_TENANT_TABLES = ['outbox'];

export async function up(knex: Knex): Promise<void> {
  const { rows } = (await knex.raw('SELECT quote_ident(current_schema()) AS s')) as {
    rows: Array<{ s: string }>;
  };
  const definer = `SECURITY DEFINER SET search_path = ${rows[0]!.s}, pg_temp`;
  await knex.raw(`
    CREATE TABLE outbox (
      tenant_id       uuid NOT NULL REFERENCES tenants (tenant_id),
      message_id      uuid NOT NULL,
      channel         text NOT NULL CHECK (channel IN ('email')),
      type            text NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
      dedupe_key      text NOT NULL CHECK (length(dedupe_key) BETWEEN 1 AND 300),
      payload         jsonb NOT NULL,
      created_at      timestamptz NOT NULL,
      attempts        integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL,
      claimed_until   timestamptz,
      delivered_at    timestamptz,
      last_error      text,
      PRIMARY KEY (tenant_id, message_id),
      UNIQUE (tenant_id, channel, dedupe_key)
    );
    CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
    ${tenantIsolationSql('outbox')}

    -- Which tenants have messages due (the worker's round): ids only.
    CREATE FUNCTION outbox_due_tenants(p_channel text, p_now timestamptz)
      RETURNS SETOF uuid LANGUAGE sql STABLE ${definer} AS $$
      SELECT DISTINCT tenant_id FROM outbox
       WHERE channel = p_channel AND delivered_at IS NULL AND next_attempt_at <= p_now
    $$;
    REVOKE ALL ON FUNCTION outbox_due_tenants(text, timestamptz) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION outbox_due_tenants(text, timestamptz) TO ${APP_ROLE};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION outbox_due_tenants(text, timestamptz); DROP TABLE outbox;');
}
