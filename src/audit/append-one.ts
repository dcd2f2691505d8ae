// The common append, one event, in one statement: lock the head if it is free, hash the
// event in SQL after it, insert event and payload, move the head; or, if the head is
// taken, queue the event. Every write of the service ends with this, so it is one round
// trip instead of two, and the head is held for one round trip less.
//
// The hash is sha256 over chainMaterial(...) (src/audit/chain.ts), built here from the
// event's canonical JSON, the head's hash and the next sequence number; `audit verify`
// recomputes it in JavaScript, so the two can never silently disagree.
import type { Knex } from 'knex';
import { canonicalJson } from './chain.js';
import type { PreparedEvent } from './append.js';

export type OneResult =
  /** Chained, as event `seq`. */
  | { kind: 'chained'; seq: number; hash: string }
  /** Queued: another transaction holds the head. */
  | { kind: 'queued' }
  /** Nothing written: the head is ours, but queued events must be chained first. */
  | { kind: 'pending_first' };

// The event's values, typed once (a bare parameter in a SELECT list would be text).
const SQL = `
WITH v AS (
  SELECT CAST(:tenant AS uuid) AS tenant_id, CAST(:eventId AS uuid) AS event_id,
         CAST(:occurredAt AS timestamptz) AS occurred_at, CAST(:actorType AS text) AS actor_type,
         CAST(:actorId AS text) AS actor_id, CAST(:action AS text) AS action,
         CAST(:targetType AS text) AS target_type, CAST(:targetId AS text) AS target_id,
         CAST(:payloadDigest AS text) AS payload_digest, CAST(:subjectId AS text) AS subject_id,
         CAST(:salt AS bytea) AS salt, CAST(:body AS jsonb) AS body,
         CAST(:event AS text) AS event_json),
h AS (
  SELECT h.seq, h.hash,
         EXISTS (SELECT 1 FROM audit_pending p WHERE p.tenant_id = h.tenant_id) AS pending
    FROM audit_heads h WHERE h.tenant_id = CAST(:tenant AS uuid) FOR UPDATE OF h SKIP LOCKED),
c AS (
  SELECT h.seq + 1 AS seq, h.hash AS prev_hash,
         encode(sha256(convert_to('{"event":' || v.event_json || ',"prev":"' || h.hash
           || '","seq":' || (h.seq + 1)::text || ',"tenant":"' || v.tenant_id::text || '"}',
           'UTF8')), 'hex') AS hash
    FROM h, v WHERE NOT h.pending),
e AS (
  INSERT INTO audit_events (tenant_id, seq, event_id, occurred_at, actor_type, actor_id,
                            action, target_type, target_id, payload_digest, prev_hash, hash)
  SELECT v.tenant_id, c.seq, v.event_id, v.occurred_at, v.actor_type, v.actor_id,
         v.action, v.target_type, v.target_id, v.payload_digest, c.prev_hash, c.hash
    FROM c, v
  RETURNING seq, hash),
p AS (
  INSERT INTO audit_payloads (tenant_id, event_id, subject_id, salt, body)
  SELECT v.tenant_id, v.event_id, v.subject_id, v.salt, v.body FROM e, v WHERE v.salt IS NOT NULL),
q AS (
  INSERT INTO audit_pending (tenant_id, event_id, occurred_at, actor_type, actor_id, action,
                             target_type, target_id, payload_digest, subject_id, salt, body)
  SELECT v.tenant_id, v.event_id, v.occurred_at, v.actor_type, v.actor_id, v.action,
         v.target_type, v.target_id, v.payload_digest, v.subject_id, v.salt, v.body
    FROM v WHERE NOT EXISTS (SELECT 1 FROM h)),
u AS (
  UPDATE audit_heads SET seq = e.seq, hash = e.hash FROM e
   WHERE audit_heads.tenant_id = CAST(:tenant AS uuid))
SELECT (SELECT count(*) FROM h) AS held, (SELECT seq FROM e) AS seq, (SELECT hash FROM e) AS hash`;

export async function appendOne(
  trx: Knex.Transaction,
  tenantId: string,
  e: PreparedEvent,
): Promise<OneResult> {
  const { rows } = (await trx.raw(SQL, {
    tenant: tenantId,
    event: canonicalJson({
      eventId: e.eventId,
      occurredAt: e.occurredAt,
      actorType: e.actorType,
      actorId: e.actorId,
      action: e.action,
      targetType: e.targetType,
      targetId: e.targetId,
      payloadDigest: e.payloadDigest,
    }),
    eventId: e.eventId,
    occurredAt: e.occurredAt,
    actorType: e.actorType,
    actorId: e.actorId,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    payloadDigest: e.payloadDigest,
    subjectId: e.subjectId,
    salt: e.salt,
    body: e.salt ? JSON.stringify(e.body) : null,
  })) as { rows: Array<{ held: string; seq: string | null; hash: string | null }> };
  const row = rows[0]!;
  if (Number(row.held) === 0) return { kind: 'queued' };
  if (row.seq === null) return { kind: 'pending_first' };
  return { kind: 'chained', seq: Number(row.seq), hash: row.hash! };
}
