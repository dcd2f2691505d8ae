// The one way events enter the trail. It runs inside the caller's transaction, so a
// change and its audit events commit or roll back together.
//
// Concurrency: the tenant's head row (audit_heads) is the chain's lock. An appender that
// gets it (FOR UPDATE SKIP LOCKED) chains its events at once and keeps the head locked
// until its COMMIT. An appender that finds it taken does not queue behind it, because the
// holder keeps it through a whole request and its COMMIT, and that wait used to
// serialise every writer of a tenant: it writes its events to audit_pending instead,
// still in its own transaction. Whoever holds the head next (an appender, or the
// settler, src/audit/settle.ts) chains the pending events first, in arrival order.
// UNIQUE (tenant_id, seq) stays the backstop should anything ever bypass the lock.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Knex } from 'knex';
import { copyValue } from '../db/copy-text.js';
import { byteaHex, chunksOf, copyText, insertFromJson, insertMany } from '../db/insert-many.js';
import type { SqlFragment } from '../db/sql-fragment.js';
import { AppError } from '../shared/errors.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { chainedFieldsOf, type StoredFields } from './read.js';
import {
  canonicalFields,
  hashOfCanonical,
  newSalts,
  payloadDigest,
  type ChainedFields,
} from './chain.js';
import type { AuditEventInput } from './types.js';
import { auditMacKey, macOfCanonical, macValidOfCanonical } from './mac.js';
import { newId } from '../shared/ids.js';

// Up to this many events go to audit_chain as one JSON document (one round trip, the
// right shape for a request's few events); more, through COPY into the staging table
// and audit_chain_staged, BULK_CHUNK events at a time.
const INSERT_CHUNK = 1000;
const BULK_CHUNK = 5000;
/** Pending events an appender chains on its way (bounds the extra work of one request). */
const ABSORB_LIMIT = 1000;

export interface AppendedEvent {
  eventId: string;
  /** null while the event waits in audit_pending to be chained. */
  seq: number | null;
  hash: string | null;
}

/** An event ready to be chained: its fields and its salted payload. */
export interface PreparedEvent extends ChainedFields {
  subjectId: string | null;
  salt: Buffer | null;
  body: unknown;
}

export interface Head {
  seq: number;
  hash: string;
  /** Whether events were waiting to be chained when the head was locked. */
  pending: boolean;
}

function prepare(inputs: AuditEventInput[], occurredAt: string): PreparedEvent[] {
  // One draw from the random source for the whole batch: a call per event costs more
  // than hashing it.
  const salts = newSalts(inputs.length);
  return inputs.map((input, i) => {
    const salt = input.payload === undefined ? null : salts[i]!;
    return {
      eventId: newId(),
      occurredAt,
      actorType: input.actor.type,
      actorId: input.actor.id ?? null,
      action: input.action,
      targetType: input.target?.type ?? null,
      targetId: input.target?.id ?? null,
      payloadDigest: salt ? payloadDigest(salt, input.payload) : null,
      subjectId: input.subject ?? null,
      salt,
      body: input.payload ?? null,
    };
  });
}

/**
 * Lock the tenant's head for the rest of the transaction. With `wait: false` a head
 * locked by another transaction (or a tenant without one) gives null. The service's role
 * cannot lock (or write) audit_heads itself: audit_lock_head, a SECURITY DEFINER function
 * (migrations/20261201000900_audit_definer.ts), takes the row lock for this transaction.
 */
export async function lockHead(
  trx: Knex.Transaction,
  tenantId: string,
  opts: { wait: boolean },
): Promise<Head | null> {
  // Every append runs this: a named statement, parsed and planned once per connection.
  const { rows } = (await trx
    .raw(`SELECT seq, hash, pending FROM audit_lock_head(?, ?)`, [tenantId, opts.wait])
    .options({ name: 'audit_lock_head' })) as {
    rows: Array<{ seq: string; hash: string; pending: boolean }>;
  };
  const row = rows[0];
  return row ? { seq: Number(row.seq), hash: row.hash, pending: row.pending } : null;
}

/**
 * lockHead without waiting, in the same round trip as queueing `prepared` should the
 * head be busy: with one tenant busy, nine appends in ten are queued, and each saved
 * the round trip of a second statement. null when the events were queued.
 */
async function lockHeadOrQueue(
  trx: Knex.Transaction,
  tenantId: string,
  prepared: PreparedEvent[],
): Promise<Head | null> {
  const queue = insertFromJson(
    'audit_queue',
    PENDING_COLUMNS,
    prepared.map((e) => eventRow(tenantId, e)),
  );
  const { rows } = (await trx
    .raw(
      `WITH head AS (SELECT seq, hash, pending FROM audit_lock_head(?, false)),
            queued AS (${queue.sql} WHERE NOT EXISTS (SELECT 1 FROM head))
       SELECT seq, hash, pending FROM head`,
      [tenantId, queue.doc],
    )
    .options({ name: 'audit_lock_head_or_queue' })
    .catch(noTenantMeans404(tenantId))) as {
    rows: Array<{ seq: string; hash: string; pending: boolean }>;
  };
  const row = rows[0];
  return row ? { seq: Number(row.seq), hash: row.hash, pending: row.pending } : null;
}

/** Queued events whose MAC failed, seen by this process's settling (logged by the settler). */
export const rejectedQueued = { count: 0, lastEventIds: [] as string[] };

/**
 * Chain up to `limit` queued events after `head` (which `trx` holds), oldest first; the
 * new head. Only the chained fields and the MAC come to us: each queued event's MAC is
 * checked here, since the database has no key to check it with, and a row that fails
 * (queued by someone without the key) is left where it is, for an operator, and counted
 * in `rejected`. The rows that pass move from the queue into the chain inside the
 * server, each at the place computed here, in one call with the head's move.
 */
export async function chainPending(
  trx: Knex.Transaction,
  tenantId: string,
  head: Head,
  limit: number,
): Promise<{ chained: number; rejected: number; head: Head }> {
  const key = auditMacKey();
  let { seq, hash } = head;
  const links: Array<{ event_id: string; seq: number; prev_hash: string; hash: string }> = [];
  let rejected = 0;
  let after = 0;
  // Rows that fail their MAC stay queued: read past them, so they never starve the rest.
  for (;;) {
    const { rows } = (await trx.raw(
      `SELECT event_id, occurred_at, actor_type, actor_id, action, target_type, target_id,
              payload_digest, mac, queued
         FROM audit_pending WHERE tenant_id = ? AND queued > ? ORDER BY queued LIMIT ?`,
      [tenantId, after, limit],
    )) as { rows: Array<StoredFields & { mac: string | null; queued: number }> };
    for (const r of rows) {
      // The fields' canonical JSON, written once for the MAC check and the hash.
      const canonical = canonicalFields(chainedFieldsOf(r));
      if (!macValidOfCanonical(key, tenantId, canonical, r.mac)) {
        rejected += 1;
        rejectedQueued.count += 1;
        rejectedQueued.lastEventIds = [...rejectedQueued.lastEventIds.slice(-9), r.event_id];
        continue;
      }
      const prevHash = hash;
      seq += 1;
      hash = hashOfCanonical(prevHash, seq, tenantId, canonical);
      links.push({ event_id: r.event_id, seq, prev_hash: prevHash, hash });
    }
    if (links.length > 0 || rows.length < limit) break;
    after = Number(rows[rows.length - 1]!.queued);
  }
  if (links.length === 0) return { chained: 0, rejected, head };
  // The head is held, so nobody else takes queued events; were one gone all the same,
  // the links computed for it would leave a gap: audit_settle refuses rather than commit that.
  await trx.raw(`SELECT audit_settle(?, ?, ?, ?::json) AS n`, [
    tenantId,
    head.seq,
    head.hash,
    JSON.stringify(links),
  ]);
  return { chained: links.length, rejected, head: { seq, hash, pending: true } };
}

// Column types for insertMany. An event's own fields are stored alike whether it is
// chained (with seq and hashes) or queued (with its payload beside it).
const EVENT_FIELDS = {
  tenant_id: 'uuid',
  event_id: 'uuid',
  occurred_at: 'timestamptz',
  actor_type: 'text',
  actor_id: 'text',
  action: 'text',
  target_type: 'text',
  target_id: 'text',
  payload_digest: 'text',
};
// The payload travels in the same row, chained or queued.
const PAYLOAD_FIELDS = { subject_id: 'text', salt: 'bytea', body: 'jsonb' };
const PENDING_COLUMNS = { ...EVENT_FIELDS, ...PAYLOAD_FIELDS, mac: 'text' };

/** An event's own fields and payload as stored, chained or queued. */
const eventRow = (tenantId: string, e: PreparedEvent, canonical = canonicalFields(e)) => ({
  tenant_id: tenantId,
  event_id: e.eventId,
  occurred_at: e.occurredAt,
  actor_type: e.actorType,
  actor_id: e.actorId,
  action: e.action,
  target_type: e.targetType,
  target_id: e.targetId,
  payload_digest: e.payloadDigest,
  subject_id: e.subjectId,
  // A Buffer: the driver binds it as bytea, insertMany writes it in bytea's hex form.
  salt: e.salt,
  body: e.salt ? JSON.stringify(e.body) : null,
  mac: macOfCanonical(auditMacKey(), tenantId, canonical),
});

/**
 * Chain events after `head` (which this transaction holds) and move the head: one call of
 * audit_chain, which inserts the linked events and moves the head only from where this
 * transaction found it.
 */
export async function writeChained(
  trx: Knex.Transaction,
  tenantId: string,
  head: Head,
  prepared: PreparedEvent[],
): Promise<AppendedEvent[]> {
  if (prepared.length > INSERT_CHUNK)
    return writeChainedInBatches(trx, tenantId, head, chunksOf(prepared, BULK_CHUNK));
  const chain = chainer(tenantId, head);
  await callChain(trx, tenantId, head, prepared.map(chain.row));
  return chain.appended;
}

/** audit_chain over `rows` (chainer rows), after the head at `from`. */
async function callChain(
  trx: Knex.Transaction,
  tenantId: string,
  from: { seq: number; hash: string },
  rows: Array<Record<string, unknown>>,
): Promise<void> {
  const doc = JSON.stringify(rows);
  await trx
    .raw(`SELECT audit_chain(?, ?, ?, ?::json) AS n`, [tenantId, from.seq, from.hash, doc])
    .options({ name: 'audit_chain' });
}

// The columns of pg_temp.audit_staging (migrations/20261207001600_audit_staged_append.ts),
// in the order chainer().line writes them.
const STAGED_COLUMNS = [
  'event_id',
  'occurred_at',
  'actor_type',
  'actor_id',
  'action',
  'target_type',
  'target_id',
  'payload_digest',
  'subject_id',
  'salt',
  'body',
  'mac',
  'seq',
  'prev_hash',
  'hash',
];

/**
 * A bulk append: BULK_CHUNK events at a time are COPYed into this transaction's staging
 * table and moved into the chain by audit_chain_staged, which checks their links and
 * moves the head as audit_chain does. COPY text costs the server about a third of what
 * the same events cost as a JSON document (bench/RESULTS.md §12). Each batch is taken
 * from `batches` (and so, for a lazy iterable, prepared) and hashed only when it is its
 * turn: while the server chains one batch, the next is hashed and written out, so the
 * server's work and ours overlap instead of taking turns.
 */
async function writeChainedInBatches(
  trx: Knex.Transaction,
  tenantId: string,
  head: Head,
  batches: Iterable<PreparedEvent[]>,
): Promise<AppendedEvent[]> {
  await trx.raw('SELECT audit_stage()');
  const chain = chainer(tenantId, head);
  let inFlight: Promise<unknown> | null = null;
  for (const batch of batches) {
    const from = chain.head();
    let text = '';
    for (const e of batch) text += chain.line(e);
    await inFlight;
    await copyText(trx, 'pg_temp.audit_staging', STAGED_COLUMNS, [text]);
    inFlight = trx
      .raw('SELECT audit_chain_staged(?, ?, ?) AS n', [tenantId, from.seq, from.hash])
      .options({ name: 'audit_chain_staged' })
      .then(() => undefined);
    // Awaited on the next turn or below; until then a failure must not count as unhandled.
    inFlight.catch(() => {});
    // knex sends the query from its promise chain: let that run before the next batch
    // holds the event loop, or the server would wait for it.
    await nextTurn();
  }
  await inFlight;
  return chain.appended;
}

/**
 * Links events into the chain after `head`, one after another: as rows for audit_chain's
 * JSON document (`row`), or as COPY text lines for the staging table (`line`).
 */
function chainer(tenantId: string, head: Head) {
  let { seq, hash } = head;
  const appended: AppendedEvent[] = [];
  const key = auditMacKey();
  /** Link `e` after the last event; its previous hash. */
  const link = (e: PreparedEvent, canonical: string): string => {
    seq += 1;
    const prevHash = hash;
    hash = hashOfCanonical(prevHash, seq, tenantId, canonical);
    appended.push({ eventId: e.eventId, seq, hash });
    return prevHash;
  };
  return {
    appended,
    head: () => ({ seq, hash }),
    /** The event as a line of STAGED_COLUMNS in COPY text. */
    line(e: PreparedEvent): string {
      // The fields' canonical JSON, written once for the hash and the MAC.
      const canonical = canonicalFields(e);
      const prevHash = link(e, canonical);
      const body = e.salt ? JSON.stringify(e.body) : null;
      return (
        `${copyValue(e.eventId)}\t${copyValue(e.occurredAt)}\t${copyValue(e.actorType)}\t${copyValue(e.actorId)}\t` +
        `${copyValue(e.action)}\t${copyValue(e.targetType)}\t${copyValue(e.targetId)}\t` +
        `${copyValue(e.payloadDigest)}\t${copyValue(e.subjectId)}\t${copyValue(e.salt)}\t` +
        `${copyValue(body)}\t${macOfCanonical(key, tenantId, canonical)}\t${seq}\t${prevHash}\t${hash}\n`
      );
    },
    row(e: PreparedEvent): Record<string, unknown> {
      const canonical = canonicalFields(e);
      const prevHash = link(e, canonical);
      const row: Record<string, unknown> = eventRow(tenantId, e, canonical);
      // The rows travel as one JSON document: the salt in bytea's hex form.
      row.salt = byteaHex(e.salt);
      row.seq = seq;
      row.prev_hash = prevHash;
      row.hash = hash;
      return row;
    },
  };
}

// Queued events go in through the audit_queue view: the service's role may insert there
// and nowhere else in the queue (no UPDATE, no DELETE). Never through COPY, which a view
// does not take: a chunk at a time.
async function queue(trx: Knex.Transaction, tenantId: string, prepared: PreparedEvent[]) {
  const rows = prepared.map((e) => eventRow(tenantId, e));
  for (const chunk of chunksOf(rows, BULK_CHUNK))
    await insertMany(trx, 'audit_queue', PENDING_COLUMNS, chunk).catch(noTenantMeans404(tenantId));
}

const PENDING_NAMES = Object.keys(PENDING_COLUMNS);
const PENDING_INSERT = `INSERT INTO audit_queue (${PENDING_NAMES.join(', ')}) VALUES (${PENDING_NAMES.map(() => '?').join(', ')})`;

/**
 * One event as an INSERT into the queue, for a change that is a single statement: the
 * caller runs it as a data-modifying CTE of that statement, so the change and its event
 * commit together without a transaction of their own, and the chain head is never
 * touched on the request's path. The settler, or the next appender that holds the head,
 * chains it. Anything that reads the chain as a whole settles first.
 */
export function queuedEventInsert(
  tenantId: string,
  input: AuditEventInput,
  clock: Clock = systemClock,
): SqlFragment {
  const event = prepare([input], clock.now().toISOString())[0]!;
  const row = eventRow(tenantId, event) as Record<string, Knex.RawBinding>;
  return { sql: PENDING_INSERT, bindings: PENDING_NAMES.map((c) => row[c]!) };
}

/**
 * Queued events for a batch of changes written as one statement (src/db/coalesce.ts).
 * Each event travels as a JSON object in the batch's document, its salt in bytea's hex
 * form and without its payload: the INSERT takes the payload from what the change
 * itself stored, so it crosses the wire once. The digest is of the payload given here,
 * which must be exactly what the change stores.
 */
export const queuedEvents = {
  /** One change's event, as an object of the batch document. */
  document(tenantId: string, input: AuditEventInput, clock: Clock = systemClock) {
    const event = prepare([input], clock.now().toISOString())[0]!;
    const { body: _stored, ...row } = eventRow(tenantId, event);
    return { ...row, salt: byteaHex(event.salt) };
  },
  /**
   * The INSERT of the events, to run as a CTE: `rows.from` are the rows written, with
   * `rows.event` the event's JSON object, `rows.body` the payload, `rows.order` their order.
   */
  insert(rows: { from: string; event: string; body: string; order: string }): string {
    const fields = PENDING_NAMES.filter((n) => n !== 'body');
    return (
      `INSERT INTO audit_queue (${fields.join(', ')}, body) ` +
      `SELECT ${fields.map((n) => `e.${n}`).join(', ')}, ${rows.body} ` +
      `FROM ${rows.from}, jsonb_populate_record(NULL::audit_queue, ${rows.event}) AS e ` +
      `ORDER BY ${rows.order}`
    );
  },
};

/** A queued event's foreign key failing means there was no head to lock and no tenant. */
const noTenantMeans404 = (tenantId: string) => (err: unknown) => {
  if ((err as { code?: string }).code === '23503')
    throw new AppError('tenant_not_found', `tenant ${tenantId} not found`, { status: 404 });
  throw err;
};

/** Events given their ids, salts and digests ahead of their append. */
export interface PreparedAudit {
  readonly events: PreparedEvent[];
}

/**
 * Prepare events now, a batch at a time, letting other work run between batches: the
 * reconciler does this while the server inserts its seats, then hands the result to
 * appendAuditEvents. The events' time is when they were prepared.
 */
export async function prepareAuditEvents(
  inputs: AuditEventInput[],
  clock: Clock = systemClock,
): Promise<PreparedAudit> {
  const occurredAt = clock.now().toISOString();
  const events: PreparedEvent[] = [];
  for (const batch of chunksOf(inputs, BULK_CHUNK)) {
    for (const e of prepare(batch, occurredAt)) events.push(e);
    await nextTurn();
  }
  return { events };
}

export async function appendAuditEvents(
  trx: Knex.Transaction,
  tenantId: string,
  inputs: AuditEventInput[] | PreparedAudit,
  clock: Clock = systemClock,
): Promise<AppendedEvent[]> {
  if (!trx.isTransaction) {
    throw new AppError(
      'audit_outside_transaction',
      'audit events must be appended inside the transaction of the change',
    );
  }
  // Events prepared ahead (prepareAuditEvents) are taken as they are; inputs are prepared here.
  const ready = Array.isArray(inputs) ? null : inputs.events;
  const raw = Array.isArray(inputs) ? inputs : [];
  const count = ready?.length ?? raw.length;
  if (count === 0) return [];
  // One time for every event of one append: they are one change.
  const occurredAt = clock.now().toISOString();
  const all = () => ready ?? prepare(raw, occurredAt);
  // A request's few events are locked for or queued in one statement; a bulk append
  // locks first, and prepares its events a batch at a time.
  const prepared = count <= INSERT_CHUNK ? all() : null;
  const head = prepared
    ? await lockHeadOrQueue(trx, tenantId, prepared)
    : await lockHead(trx, tenantId, { wait: false });
  if (!head) {
    const queued = prepared ?? all();
    if (!prepared) await queue(trx, tenantId, queued);
    return queued.map((e) => ({ eventId: e.eventId, seq: null, hash: null }));
  }
  // Events queued before ours go first, so the chain keeps the order of arrival.
  const after = head.pending ? (await chainPending(trx, tenantId, head, ABSORB_LIMIT)).head : head;
  if (prepared) return writeChained(trx, tenantId, after, prepared);
  // A bulk append (a full reconcile's 100,000 seat changes) not prepared ahead prepares
  // each batch only when it is its turn: salting and digesting all of them first left
  // the server idle for most of a second.
  function* batches() {
    if (ready) yield* chunksOf(ready, BULK_CHUNK);
    else for (const batch of chunksOf(raw, BULK_CHUNK)) yield prepare(batch, occurredAt);
  }
  return writeChainedInBatches(trx, tenantId, after, batches());
}

export const appendAuditEvent = async (
  trx: Knex.Transaction,
  tenantId: string,
  input: AuditEventInput,
  clock?: Clock,
): Promise<AppendedEvent> => (await appendAuditEvents(trx, tenantId, [input], clock))[0]!;

/** The row of the erasure event audit_erase appends after `head` (src/audit/erase.ts). */
export function eraseEventRow(
  tenantId: string,
  head: { seq: number; hash: string },
  event: PreparedEvent,
): Record<string, unknown> {
  return chainer(tenantId, { ...head, pending: false }).row(event);
}
