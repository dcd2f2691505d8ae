// A bulk append (a full reconcile's 100,000 seat events) reaches the chain through COPY
// again, without the service's role gaining any write on the trail.
//
// Since 20261201000900_audit_definer, bulk appends went to audit_chain as JSON documents
// of 5,000 events, and a 100,000-event append took 5.2 s against 2.9 s through COPY: the
// server parses a JSON document at about three times the cost of the same rows as COPY
// text (bench/RESULTS.md §12). COPY needs a table, and the service's role may write no
// table of the trail (and, under row-level security, PostgreSQL refuses COPY FROM into a
// table with policies). So:
//
// - audit_stage() creates, for this transaction only, a temporary table
//   pg_temp.audit_staging, owned by the migration owner, on which the service's role may
//   INSERT (and so COPY) and nothing else. A temporary table is private to its session,
//   written without WAL, and dropped at COMMIT or ROLLBACK.
// - audit_chain_staged(tenant, seq, hash) moves what was staged into the chain after the
//   head at (seq, hash), with exactly audit_chain's checks (the events must follow one
//   another after that head, which this transaction holds) and the same head move, then
//   empties the staging table.
//
// What the service's role can do through these is what it could do through audit_chain:
// append events, linked, at the end of a chain whose head it holds. It cannot read,
// change or delete staged rows (INSERT only), and it cannot put a table of its own in
// the staging table's place: audit_chain_staged refuses one it does not own (a table of
// the role's own could carry a trigger that would run with the owner's rights).
import type { Knex } from 'knex';
import { APP_ROLE } from './app-role.js';

export async function up(knex: Knex): Promise<void> {
  const { rows } = (await knex.raw('SELECT quote_ident(current_schema()) AS s')) as {
    rows: Array<{ s: string }>;
  };
  const definer = `SECURITY DEFINER SET search_path = ${rows[0]!.s}, pg_temp`;
  await knex.raw(`
    -- The staging table is the owner's own (relowner = the definer) and a plain table;
    -- anything else by that name (the service role's, a view) is refused.
    CREATE FUNCTION audit_staging_is_ours() RETURNS boolean LANGUAGE sql ${definer} AS $$
      SELECT EXISTS (
        SELECT 1 FROM pg_class c
         WHERE c.oid = to_regclass('pg_temp.audit_staging')
           AND c.relkind = 'r' AND c.relpersistence = 't'
           AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user))
    $$;

    CREATE FUNCTION audit_stage() RETURNS void LANGUAGE plpgsql ${definer} AS $$
    BEGIN
      IF to_regclass('pg_temp.audit_staging') IS NULL THEN
        CREATE TEMPORARY TABLE audit_staging (
          event_id uuid, occurred_at timestamptz, actor_type text, actor_id text,
          action text, target_type text, target_id text, payload_digest text,
          subject_id text, salt bytea, body jsonb, mac text,
          seq bigint, prev_hash text, hash text
        ) ON COMMIT DROP;
        REVOKE ALL ON pg_temp.audit_staging FROM PUBLIC;
        GRANT INSERT ON pg_temp.audit_staging TO ${APP_ROLE};
      ELSIF NOT audit_staging_is_ours() THEN
        RAISE EXCEPTION 'pg_temp.audit_staging is not the audit trail''s staging table'
          USING ERRCODE = 'insufficient_privilege';
      END IF;
    END $$;

    -- audit_chain, for the events staged in pg_temp.audit_staging: the same insert, the
    -- same linkage check (written out as in 20261201000900_audit_definer, whose text a
    -- later migration must not import: applied migrations do not change) and the same
    -- head move.
    CREATE FUNCTION audit_chain_staged(p_tenant uuid, p_seq bigint, p_hash text)
      RETURNS bigint LANGUAGE plpgsql ${definer} AS $$
    DECLARE n bigint; broken bigint; last_seq bigint; last_hash text;
    BEGIN
      IF NOT audit_staging_is_ours() THEN
        RAISE EXCEPTION 'pg_temp.audit_staging is not the audit trail''s staging table'
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      WITH ins AS (
        INSERT INTO audit_events (tenant_id, event_id, occurred_at, actor_type, actor_id,
          action, target_type, target_id, payload_digest, subject_id, salt, body, mac, seq,
          prev_hash, hash)
        SELECT p_tenant, event_id, occurred_at, actor_type, actor_id, action, target_type,
               target_id, payload_digest, subject_id, salt, body, mac, seq, prev_hash, hash
          FROM pg_temp.audit_staging
        RETURNING seq, prev_hash, hash),
      linked AS (
        SELECT seq, prev_hash, hash, lag(hash, 1, p_hash) OVER (ORDER BY seq) AS before,
               p_seq + row_number() OVER (ORDER BY seq) AS expected
          FROM ins)
      SELECT count(*), count(*) FILTER (WHERE seq <> expected OR prev_hash <> before),
             max(seq), (array_agg(hash ORDER BY seq DESC))[1]
        INTO n, broken, last_seq, last_hash FROM linked;
      IF broken > 0 THEN
        RAISE EXCEPTION 'audit chain of %: events do not link after event %', p_tenant, p_seq
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      PERFORM audit_move_head(p_tenant, p_seq, p_hash, last_seq, last_hash, n);
      TRUNCATE pg_temp.audit_staging;
      RETURN n;
    END $$;

    REVOKE ALL ON FUNCTION audit_staging_is_ours() FROM PUBLIC;
    REVOKE ALL ON FUNCTION audit_stage() FROM PUBLIC;
    REVOKE ALL ON FUNCTION audit_chain_staged(uuid, bigint, text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION audit_stage() TO ${APP_ROLE};
    GRANT EXECUTE ON FUNCTION audit_chain_staged(uuid, bigint, text) TO ${APP_ROLE};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION audit_chain_staged(uuid, bigint, text);
    DROP FUNCTION audit_stage();
    DROP FUNCTION audit_staging_is_ours();
  `);
}
