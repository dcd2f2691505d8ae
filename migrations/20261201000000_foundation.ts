// Tenants, tokens and the hash-chained audit trail.
//
// Citus-ready by construction: every table carries tenant_id, and every primary key,
// unique constraint and foreign key includes it, so every table can be distributed by
// tenant_id and co-located with no schema change (test/integration/schema-rules.test.ts
// checks this over the live schema).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE tenants (
      tenant_id  uuid PRIMARY KEY,
      name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      created_at timestamptz NOT NULL
    );

    CREATE TABLE api_tokens (
      tenant_id   uuid NOT NULL REFERENCES tenants (tenant_id),
      token_id    uuid NOT NULL,
      scope       text NOT NULL CHECK (scope IN ('scim', 'api')),
      name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      -- SHA-256 of the token's secret part; the token itself is shown once and never stored.
      secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
      created_at  timestamptz NOT NULL,
      revoked_at  timestamptz,
      PRIMARY KEY (tenant_id, token_id)
    );

    -- The head of each tenant's chain. Appenders lock this row, so appends to one
    -- tenant are serialised while different tenants append in parallel.
    CREATE TABLE audit_heads (
      tenant_id uuid PRIMARY KEY REFERENCES tenants (tenant_id),
      seq       bigint NOT NULL CHECK (seq >= 0),
      hash      text NOT NULL
    );

    CREATE TABLE audit_events (
      tenant_id      uuid NOT NULL REFERENCES tenants (tenant_id),
      seq            bigint NOT NULL CHECK (seq > 0),
      event_id       uuid NOT NULL,
      occurred_at    timestamptz NOT NULL,
      actor_type     text NOT NULL,
      actor_id       text,
      action         text NOT NULL,
      target_type    text,
      target_id      text,
      -- Salted SHA-256 of the payload kept in audit_payloads: the chain covers the
      -- digest, so erasing the payload (GDPR) leaves the chain verifiable.
      payload_digest text,
      prev_hash      text NOT NULL,
      hash           text NOT NULL,
      PRIMARY KEY (tenant_id, seq),
      UNIQUE (tenant_id, event_id)
    );
    CREATE INDEX audit_events_target_idx ON audit_events (tenant_id, target_type, target_id);

    CREATE TABLE audit_payloads (
      tenant_id  uuid NOT NULL,
      event_id   uuid NOT NULL,
      -- Whose personal data this is (a user id), so erasure can find it.
      subject_id text,
      salt       bytea,
      body       jsonb,
      erased_at  timestamptz,
      PRIMARY KEY (tenant_id, event_id),
      FOREIGN KEY (tenant_id, event_id) REFERENCES audit_events (tenant_id, event_id),
      CHECK ((erased_at IS NULL) = (body IS NOT NULL AND salt IS NOT NULL))
    );
    CREATE INDEX audit_payloads_subject_idx ON audit_payloads (tenant_id, subject_id);

    CREATE TABLE audit_checkpoints (
      tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
      seq       bigint NOT NULL,
      head_hash text NOT NULL,
      signed_at timestamptz NOT NULL,
      key_id    text NOT NULL,
      signature text NOT NULL,
      PRIMARY KEY (tenant_id, seq)
    );

    CREATE FUNCTION seatkeeper_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END $$;

    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION seatkeeper_refuse_change();
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
      FOR EACH STATEMENT EXECUTE FUNCTION seatkeeper_refuse_change();
    CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
      FOR EACH ROW EXECUTE FUNCTION seatkeeper_refuse_change();
    CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
      FOR EACH STATEMENT EXECUTE FUNCTION seatkeeper_refuse_change();

    -- A payload may change in one way only: erased (body and salt gone, erased_at set).
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

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE audit_checkpoints;
    DROP TABLE audit_payloads;
    DROP TABLE audit_events;
    DROP TABLE audit_heads;
    DROP TABLE api_tokens;
    DROP TABLE tenants;
    DROP FUNCTION audit_payloads_erase_only();
    DROP FUNCTION seatkeeper_refuse_change();
  `);
}
