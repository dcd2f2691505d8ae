// Events waiting to be chained. An appender that finds its tenant's chain head locked by
// another transaction does not wait for it (that wait, held through the other's COMMIT,
// serialised every writer of a tenant): it writes its events here, inside its own
// transaction, and the next transaction that holds the head moves them into the chain
// (src/audit/append.ts, src/audit/settle.ts). A row here is committed, durable and
// rolled back with its change exactly like a chained event; what it lacks until it is
// chained, a second or so, is tamper evidence.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE audit_pending (
      tenant_id      uuid NOT NULL REFERENCES tenants (tenant_id),
      event_id       uuid NOT NULL,
      -- Arrival order: events are chained in it.
      queued         bigint GENERATED ALWAYS AS IDENTITY,
      occurred_at    timestamptz NOT NULL,
      actor_type     text NOT NULL,
      actor_id       text,
      action         text NOT NULL,
      target_type    text,
      target_id      text,
      payload_digest text,
      subject_id     text,
      salt           bytea,
      body           jsonb,
      PRIMARY KEY (tenant_id, event_id),
      CHECK ((payload_digest IS NULL) = (body IS NULL AND salt IS NULL))
    );
    CREATE INDEX audit_pending_order_idx ON audit_pending (tenant_id, queued);

    -- Rows leave only by being chained (DELETE); nothing edits them on the way.
    CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
      FOR EACH ROW EXECUTE FUNCTION seatkeeper_refuse_change();
    CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON audit_pending
      FOR EACH STATEMENT EXECUTE FUNCTION seatkeeper_refuse_change();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE audit_pending;`);
}
