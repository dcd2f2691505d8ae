// The audit trail is written only through these SECURITY DEFINER functions (owned by the
// migration owner), never by the service's role directly (issue 12): seatkeeper_app may
// read the trail, queue events, chain them, checkpoint and erase, each in the one shape
// the trail allows, and nothing else. It cannot delete queued events, edit or insert
// chained ones outside the chain's order, move a head back, or erase a payload without
// the `audit.payload_erased` event that says who did it and why.
//
// Every event also carries a MAC (HMAC-SHA256, src/audit/mac.ts) keyed by a secret kept
// outside the database. The database cannot check it; the service does, before it chains
// a queued event (src/audit/append.ts), and `audit verify` checks every chained event's.
// So a row queued by anyone without the key is never chained, and an event appended by
// anyone without it fails verification.
//
// Each function's search_path is fixed at creation to the schema it was migrated in,
// then pg_temp (last, so a temporary table cannot stand in for one of the trail's).
import type { Knex } from 'knex';
import { APP_ROLE } from './app-role.js';

const EVENT_RECORD = `event_id uuid, occurred_at timestamptz, actor_type text, actor_id text,
  action text, target_type text, target_id text, payload_digest text, subject_id text,
  salt bytea, body text, mac text, seq bigint, prev_hash text, hash text`;
const EVENT_COLUMNS = `event_id, occurred_at, actor_type, actor_id, action, target_type,
  target_id, payload_digest, subject_id, salt, body, mac, seq, prev_hash, hash`;

// The end of a statement that inserted linked events (a CTE named `ins`, returning seq,
// prev_hash and hash): counts them, and those that do not follow one another after the
// head at (p_seq, p_hash), and finds the new head.
const CHECK_LINKS = `linked AS (
        SELECT seq, prev_hash, hash, lag(hash, 1, p_hash) OVER (ORDER BY seq) AS before,
               p_seq + row_number() OVER (ORDER BY seq) AS expected
          FROM ins)
      SELECT count(*), count(*) FILTER (WHERE seq <> expected OR prev_hash <> before),
             max(seq), (array_agg(hash ORDER BY seq DESC))[1]
        INTO n, broken, last_seq, last_hash FROM linked;`;

/** name(argument types): what the service may call. */
const APP_FUNCTIONS = [
  'audit_lock_head(uuid, boolean)',
  'audit_chain(uuid, bigint, text, json)',
  'audit_settle(uuid, bigint, text, json)',
  'audit_erase(uuid, text, bigint, text, json)',
  'audit_add_checkpoints(json)',
];
const INTERNAL_FUNCTIONS = [
  'audit_move_head(uuid, bigint, text, bigint, text, bigint)',
  'audit_open_chain()',
];

export async function up(knex: Knex): Promise<void> {
  const { rows } = (await knex.raw('SELECT quote_ident(current_schema()) AS s')) as {
    rows: Array<{ s: string }>;
  };
  const definer = `SECURITY DEFINER SET search_path = ${rows[0]!.s}, pg_temp`;
  await knex.raw(`
    -- The MAC of each event; events written before this migration have none (see verify).
    ALTER TABLE audit_events ADD COLUMN mac text;
    ALTER TABLE audit_pending ADD COLUMN mac text;
    ALTER TABLE audit_events ADD CONSTRAINT audit_events_mac CHECK (mac IS NOT NULL) NOT VALID;
    ALTER TABLE audit_pending ADD CONSTRAINT audit_pending_mac CHECK (mac IS NOT NULL) NOT VALID;

    -- Queueing: an insert-only window on audit_pending. INSERT through this view is
    -- checked against the view's owner, so the service queues events (also as a CTE of
    -- a change's own statement) without any privilege on the table itself.
    CREATE VIEW audit_queue AS
      SELECT tenant_id, event_id, occurred_at, actor_type, actor_id, action, target_type,
             target_id, payload_digest, subject_id, salt, body, mac
        FROM audit_pending;

    -- Every tenant gets its chain head with the tenant.
    CREATE FUNCTION audit_open_chain() RETURNS trigger LANGUAGE plpgsql ${definer} AS $$
    BEGIN
      INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (NEW.tenant_id, 0, repeat('0', 64))
        ON CONFLICT DO NOTHING;
      RETURN NULL;
    END $$;
    CREATE TRIGGER tenants_open_audit_chain AFTER INSERT ON tenants
      FOR EACH ROW EXECUTE FUNCTION audit_open_chain();

    -- Lock the tenant's head for the rest of the transaction (src/audit/append.ts lockHead).
    CREATE FUNCTION audit_lock_head(p_tenant uuid, p_wait boolean)
      RETURNS TABLE (seq bigint, hash text, pending boolean)
      LANGUAGE plpgsql ${definer} AS $$
    #variable_conflict use_column
    BEGIN
      IF p_wait THEN
        RETURN QUERY SELECT h.seq, h.hash,
               EXISTS (SELECT 1 FROM audit_pending p WHERE p.tenant_id = h.tenant_id)
          FROM audit_heads h WHERE h.tenant_id = p_tenant FOR UPDATE OF h;
      ELSE
        RETURN QUERY SELECT h.seq, h.hash,
               EXISTS (SELECT 1 FROM audit_pending p WHERE p.tenant_id = h.tenant_id)
          FROM audit_heads h WHERE h.tenant_id = p_tenant FOR UPDATE OF h SKIP LOCKED;
      END IF;
    END $$;

    -- Move the head from (p_seq, p_hash) over n new events ending at (p_last_seq,
    -- p_last_hash). The head must be where the caller says: it holds it locked.
    CREATE FUNCTION audit_move_head(p_tenant uuid, p_seq bigint, p_hash text,
                                    p_last_seq bigint, p_last_hash text, p_n bigint)
      RETURNS void LANGUAGE plpgsql ${definer} AS $$
    BEGIN
      IF p_n = 0 THEN RETURN; END IF;
      IF p_last_seq <> p_seq + p_n THEN
        RAISE EXCEPTION 'audit chain of %: % events do not follow % to %', p_tenant, p_n, p_seq, p_last_seq
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      UPDATE audit_heads SET seq = p_last_seq, hash = p_last_hash
       WHERE tenant_id = p_tenant AND seq = p_seq AND hash = p_hash;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'audit chain head of % is not at event %', p_tenant, p_seq
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
    END $$;

    -- Append events, already linked (seq, prev_hash, hash) after the head at (p_seq, p_hash).
    CREATE FUNCTION audit_chain(p_tenant uuid, p_seq bigint, p_hash text, p_events json)
      RETURNS bigint LANGUAGE plpgsql ${definer} AS $$
    DECLARE n bigint; broken bigint; last_seq bigint; last_hash text;
    BEGIN
      WITH ins AS (
        -- The payload arrives as its JSON text, cast once here.
        INSERT INTO audit_events (tenant_id, ${EVENT_COLUMNS})
        SELECT p_tenant, ${EVENT_COLUMNS.replace('body', 'body::jsonb')}
          FROM json_to_recordset(p_events) AS e(${EVENT_RECORD})
        RETURNING seq, prev_hash, hash),
      ${CHECK_LINKS}
      IF broken > 0 THEN
        RAISE EXCEPTION 'audit chain of %: events do not link after event %', p_tenant, p_seq
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      PERFORM audit_move_head(p_tenant, p_seq, p_hash, last_seq, last_hash, n);
      RETURN n;
    END $$;

    -- Move queued events into the chain after the head at (p_seq, p_hash); p_links gives
    -- each its place: [{event_id, seq, prev_hash, hash}]. The service chains only events
    -- whose MAC it checked; each keeps the MAC it was queued with.
    CREATE FUNCTION audit_settle(p_tenant uuid, p_seq bigint, p_hash text, p_links json)
      RETURNS bigint LANGUAGE plpgsql ${definer} AS $$
    DECLARE n bigint; broken bigint; last_seq bigint; last_hash text;
    BEGIN
      WITH link AS (
        SELECT * FROM json_to_recordset(p_links) AS link(event_id uuid, seq bigint, prev_hash text, hash text)),
      moved AS (
        DELETE FROM audit_pending p USING link
         WHERE p.tenant_id = p_tenant AND p.event_id = link.event_id
        RETURNING p.event_id, p.occurred_at, p.actor_type, p.actor_id, p.action, p.target_type,
                  p.target_id, p.payload_digest, p.subject_id, p.salt, p.body, p.mac,
                  link.seq, link.prev_hash, link.hash),
      ins AS (
        INSERT INTO audit_events (tenant_id, ${EVENT_COLUMNS})
        SELECT p_tenant, ${EVENT_COLUMNS} FROM moved
        RETURNING seq, prev_hash, hash),
      ${CHECK_LINKS}
      -- A link for an event no longer queued would leave a gap: refuse rather than commit it.
      IF broken > 0 OR n <> json_array_length(p_links) THEN
        RAISE EXCEPTION 'audit chain of %: queued events moved under the settler', p_tenant
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      PERFORM audit_move_head(p_tenant, p_seq, p_hash, last_seq, last_hash, n);
      RETURN n;
    END $$;

    -- Erase a subject's payloads, and append the audit.payload_erased event that records
    -- who and why, in one call: there is no erasure without its event.
    CREATE FUNCTION audit_erase(p_tenant uuid, p_subject text, p_seq bigint, p_hash text, p_event json)
      RETURNS bigint LANGUAGE plpgsql ${definer} AS $$
    DECLARE n bigint;
    BEGIN
      IF p_event->>'action' IS DISTINCT FROM 'audit.payload_erased'
         OR p_event->>'target_type' IS DISTINCT FROM 'subject'
         OR p_event->>'target_id' IS DISTINCT FROM p_subject
         OR p_event->>'actor_type' IS NULL OR p_event->>'actor_id' IS NULL
         OR coalesce(length(trim((p_event->>'body')::jsonb->>'reason')), 0) = 0 THEN
        RAISE EXCEPTION 'an erasure needs its audit.payload_erased event naming the subject, the actor and a reason'
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      UPDATE audit_events SET body = NULL, salt = NULL, erased_at = (p_event->>'occurred_at')::timestamptz
       WHERE tenant_id = p_tenant AND subject_id = p_subject AND erased_at IS NULL AND body IS NOT NULL;
      GET DIAGNOSTICS n = ROW_COUNT;
      IF ((p_event->>'body')::jsonb->>'payloadsErased')::bigint IS DISTINCT FROM n THEN
        RAISE EXCEPTION 'the erasure event says % payloads, % were erased', (p_event->>'body')::jsonb->>'payloadsErased', n
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      PERFORM audit_chain(p_tenant, p_seq, p_hash, json_build_array(p_event));
      RETURN n;
    END $$;

    CREATE FUNCTION audit_add_checkpoints(p_checkpoints json) RETURNS void
      LANGUAGE sql ${definer} AS $$
      INSERT INTO audit_checkpoints (tenant_id, seq, head_hash, signed_at, key_id, signature)
      SELECT tenant_id, seq, head_hash, signed_at, key_id, signature
        FROM json_to_recordset(p_checkpoints) AS c(tenant_id uuid, seq bigint, head_hash text,
             signed_at timestamptz, key_id text, signature text)
      ON CONFLICT (tenant_id, seq) DO NOTHING
    $$;
  `);
  for (const fn of [...APP_FUNCTIONS, ...INTERNAL_FUNCTIONS])
    await knex.raw(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
  for (const fn of APP_FUNCTIONS) await knex.raw(`GRANT EXECUTE ON FUNCTION ${fn} TO ${APP_ROLE}`);
  await knex.raw(
    `REVOKE ALL ON audit_queue FROM ${APP_ROLE}; GRANT INSERT ON audit_queue TO ${APP_ROLE};`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION audit_add_checkpoints(json);
    DROP FUNCTION audit_erase(uuid, text, bigint, text, json);
    DROP FUNCTION audit_settle(uuid, bigint, text, json);
    DROP FUNCTION audit_chain(uuid, bigint, text, json);
    DROP FUNCTION audit_move_head(uuid, bigint, text, bigint, text, bigint);
    DROP FUNCTION audit_lock_head(uuid, boolean);
    DROP TRIGGER tenants_open_audit_chain ON tenants;
    DROP FUNCTION audit_open_chain();
    DROP VIEW audit_queue;
    ALTER TABLE audit_pending DROP COLUMN mac;
    ALTER TABLE audit_events DROP COLUMN mac;
  `);
}
