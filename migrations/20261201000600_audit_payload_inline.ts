// An event's payload moves into the event's own row. It lived in audit_payloads so that
// erasure could delete personal data without touching the append-only events; the cost
// was a second row per event, a second primary key, and a foreign-key check against the
// event just inserted, which at 100,000 seat changes took longer than the events
// themselves (bench/RESULTS.md §8.3). The row may now change in exactly one way, the
// one audit_payloads allowed: erased (body and salt gone, erased_at set). The chain
// covers only the payload's salted digest, so an erased event still verifies.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE audit_events
      ADD COLUMN subject_id text,
      ADD COLUMN salt bytea,
      ADD COLUMN body jsonb,
      ADD COLUMN erased_at timestamptz;

    ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
    UPDATE audit_events e
       SET subject_id = p.subject_id, salt = p.salt, body = p.body, erased_at = p.erased_at
      FROM audit_payloads p
     WHERE p.tenant_id = e.tenant_id AND p.event_id = e.event_id;
    ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;

    DROP TABLE audit_payloads;
    DROP FUNCTION audit_payloads_erase_only();

    -- A payload is present (body and salt), erased (neither, erased_at set), or there was
    -- none (no digest either).
    ALTER TABLE audit_events ADD CONSTRAINT audit_events_payload_state CHECK (
      CASE
        WHEN payload_digest IS NULL THEN body IS NULL AND salt IS NULL AND erased_at IS NULL
        WHEN erased_at IS NULL THEN body IS NOT NULL AND salt IS NOT NULL
        ELSE body IS NULL AND salt IS NULL
      END);
    CREATE INDEX audit_events_subject_idx ON audit_events (tenant_id, subject_id)
      WHERE subject_id IS NOT NULL;

    -- An event may change in one way only: its payload erased. Everything chained, and
    -- whose data it was, stays as written.
    CREATE FUNCTION audit_events_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' OR OLD.erased_at IS NOT NULL OR OLD.body IS NULL
         OR NEW.body IS NOT NULL OR NEW.salt IS NOT NULL OR NEW.erased_at IS NULL
         OR (NEW.tenant_id, NEW.seq, NEW.event_id, NEW.occurred_at, NEW.actor_type, NEW.action,
             NEW.prev_hash, NEW.hash)
            IS DISTINCT FROM (OLD.tenant_id, OLD.seq, OLD.event_id, OLD.occurred_at,
             OLD.actor_type, OLD.action, OLD.prev_hash, OLD.hash)
         OR (NEW.actor_id, NEW.target_type, NEW.target_id, NEW.payload_digest, NEW.subject_id)
            IS DISTINCT FROM (OLD.actor_id, OLD.target_type, OLD.target_id, OLD.payload_digest,
             OLD.subject_id) THEN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'the one change allowed is erasing a payload (src/audit/erase.ts)';
      END IF;
      RETURN NEW;
    END $$;
    DROP TRIGGER audit_events_append_only ON audit_events;
    CREATE TRIGGER audit_events_erase_only BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION audit_events_erase_only();
  `);
}

export async function down(knex: Knex): Promise<void> {
  // Back to the foundation's two tables, exactly as it created them.
  await knex.raw(`
    DROP TRIGGER audit_events_erase_only ON audit_events;
    DROP FUNCTION audit_events_erase_only();

    CREATE TABLE audit_payloads (
      tenant_id  uuid NOT NULL,
      event_id   uuid NOT NULL,
      subject_id text,
      salt       bytea,
      body       jsonb,
      erased_at  timestamptz,
      PRIMARY KEY (tenant_id, event_id),
      FOREIGN KEY (tenant_id, event_id) REFERENCES audit_events (tenant_id, event_id),
      CHECK ((erased_at IS NULL) = (body IS NOT NULL AND salt IS NOT NULL))
    );
    CREATE INDEX audit_payloads_subject_idx ON audit_payloads (tenant_id, subject_id);
    INSERT INTO audit_payloads (tenant_id, event_id, subject_id, salt, body, erased_at)
      SELECT tenant_id, event_id, subject_id, salt, body, erased_at FROM audit_events
       WHERE payload_digest IS NOT NULL;

    DROP INDEX audit_events_subject_idx;
    ALTER TABLE audit_events DROP CONSTRAINT audit_events_payload_state;
    ALTER TABLE audit_events
      DROP COLUMN subject_id, DROP COLUMN salt, DROP COLUMN body, DROP COLUMN erased_at;
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION seatkeeper_refuse_change();

    CREATE FUNCTION audit_payloads_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' OR OLD.erased_at IS NOT NULL OR NEW.body IS NOT NULL
         OR NEW.salt IS NOT NULL OR NEW.erased_at IS NULL
         OR NEW.tenant_id <> OLD.tenant_id OR NEW.event_id <> OLD.event_id
         OR NEW.subject_id IS DISTINCT FROM OLD.subject_id THEN
        RAISE EXCEPTION 'audit_payloads can only be erased: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER audit_payloads_erase_only BEFORE UPDATE OR DELETE ON audit_payloads
      FOR EACH ROW EXECUTE FUNCTION audit_payloads_erase_only();
    CREATE TRIGGER audit_payloads_no_truncate BEFORE TRUNCATE ON audit_payloads
      FOR EACH STATEMENT EXECUTE FUNCTION seatkeeper_refuse_change();
  `);
}
