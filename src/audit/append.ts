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
import { byteaHex, chunksOf, copyRows, insertMany } from '../db/insert-many.js';
import type { SqlFragment } from '../db/sql-fragment.js';
import { AppError } from '../shared/errors.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { chainedFieldsOf, type StoredFields } from './read.js';
import { eventHash, newSalts, payloadDigest, type ChainedFields } from './chain.js';
import type { AuditEventInput } from './types.js';
import { newId } from '../shared/ids.js';

// Up to this many events go in as one multi-row INSERT (well under PostgreSQL's 65,535
// bound parameters); more, through COPY, BULK_CHUNK events at a time.
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
 * locked by another transaction (or a tenant without one) gives null.
 */
export async function lockHead(
  trx: Knex.Transaction,
  tenantId: string,
  opts: { wait: boolean },
): Promise<Head | null> {
  // Every append runs this: a named statement, parsed and planned once per connection.
  const { rows } = (await trx
    .raw(
      `SELECT h.seq, h.hash,
              EXISTS (SELECT 1 FROM audit_pending p WHERE p.tenant_id = h.tenant_id) AS pending
         FROM audit_heads h WHERE h.tenant_id = ?
          FOR UPDATE OF h${opts.wait ? '' : ' SKIP LOCKED'}`,
      [tenantId],
    )
    .options({ name: opts.wait ? 'audit_lock_head_wait' : 'audit_lock_head' })) as {
    rows: Array<{ seq: string; hash: string; pending: boolean }>;
  };
  const row = rows[0];
  return row ? { seq: Number(row.seq), hash: row.hash, pending: row.pending } : null;
}

/**
 * Chain up to `limit` queued events after `head` (which `trx` holds), oldest first; the
 * new head. Only the chained fields come to us, to be hashed: the rows themselves, with
 * their payloads and salts, move from the queue into the chain inside the server, in one
 * statement with the head's move.
 */
export async function chainPending(
  trx: Knex.Transaction,
  tenantId: string,
  head: Head,
  limit: number,
): Promise<{ chained: number; head: Head }> {
  const { rows } = (await trx.raw(
    `SELECT event_id, occurred_at, actor_type, actor_id, action, target_type, target_id,
            payload_digest
       FROM audit_pending WHERE tenant_id = ? ORDER BY queued LIMIT ?`,
    [tenantId, limit],
  )) as { rows: StoredFields[] };
  if (rows.length === 0) return { chained: 0, head };
  let { seq, hash } = head;
  const links = rows.map((r) => {
    const prevHash = hash;
    seq += 1;
    hash = eventHash(prevHash, seq, tenantId, chainedFieldsOf(r));
    return { event_id: r.event_id, seq, prev_hash: prevHash, hash };
  });
  const moved = (await trx.raw(
    `WITH link AS (
       SELECT * FROM json_to_recordset(?::json)
         AS link(event_id uuid, seq bigint, prev_hash text, hash text)),
     moved AS (
       DELETE FROM audit_pending p USING link
        WHERE p.tenant_id = ? AND p.event_id = link.event_id
       RETURNING ${PENDING_NAMES.map((n) => `p.${n}`).join(', ')},
                 link.seq, link.prev_hash, link.hash),
     chained AS (
       INSERT INTO audit_events (${EVENT_NAMES.join(', ')}) SELECT ${EVENT_NAMES.join(', ')} FROM moved
       RETURNING 1)
     UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?
     RETURNING (SELECT count(*) FROM chained) AS n`,
    [JSON.stringify(links), tenantId, seq, hash, tenantId],
  )) as { rows: Array<{ n: number }> };
  // The head is held, so nobody else takes queued events; were one gone all the same,
  // the links computed for it would leave a gap: refuse rather than commit that.
  if (moved.rows[0]?.n !== rows.length)
    throw new Error(`chained ${moved.rows[0]?.n ?? 0} queued events of ${rows.length} read`);
  return { chained: rows.length, head: { seq, hash, pending: true } };
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
const EVENT_COLUMNS = {
  ...EVENT_FIELDS,
  ...PAYLOAD_FIELDS,
  seq: 'bigint',
  prev_hash: 'text',
  hash: 'text',
};
const PENDING_COLUMNS = { ...EVENT_FIELDS, ...PAYLOAD_FIELDS };
const EVENT_NAMES = Object.keys(EVENT_COLUMNS);

/** An event's own fields and payload as stored, chained or queued. */
const eventRow = (tenantId: string, e: PreparedEvent) => ({
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
});

/** Chain events after `head` (which this transaction holds) and move the head. */
export async function writeChained(
  trx: Knex.Transaction,
  tenantId: string,
  head: Head,
  prepared: PreparedEvent[],
): Promise<AppendedEvent[]> {
  if (prepared.length > INSERT_CHUNK)
    return writeChainedInBatches(trx, tenantId, head, chunksOf(prepared, BULK_CHUNK));
  // The head stays locked until commit: the usual small append is one statement (the
  // events and the new head, the events as a data-modifying CTE), one round trip.
  const chain = chainer(tenantId, head);
  const events = prepared.map(chain.row);
  await trx
    .with('e', trx('audit_events').insert(events))
    .from('audit_heads')
    .where({ tenant_id: tenantId })
    .update(chain.head());
  return chain.appended;
}

/**
 * A bulk append, through COPY. Each batch is taken from `batches` (and so, for a lazy
 * iterable, prepared), hashed and written while the server inserts the one before it:
 * on two cores the server, not JavaScript, sets the pace.
 */
async function writeChainedInBatches(
  trx: Knex.Transaction,
  tenantId: string,
  head: Head,
  batches: Iterable<PreparedEvent[]>,
): Promise<AppendedEvent[]> {
  const chain = chainer(tenantId, head);
  function* rows() {
    for (const batch of batches) yield batch.map(chain.row);
  }
  await copyRows(trx, 'audit_events', EVENT_NAMES, rows());
  await trx('audit_heads').where({ tenant_id: tenantId }).update(chain.head());
  return chain.appended;
}

/** Links events into the chain after `head`, one after another, as rows to insert. */
function chainer(tenantId: string, head: Head) {
  let { seq, hash } = head;
  const appended: AppendedEvent[] = [];
  return {
    appended,
    head: () => ({ seq, hash }),
    row(e: PreparedEvent): Record<string, unknown> {
      seq += 1;
      const prevHash = hash;
      hash = eventHash(prevHash, seq, tenantId, e);
      appended.push({ eventId: e.eventId, seq, hash });
      const row: Record<string, unknown> = eventRow(tenantId, e);
      row.seq = seq;
      row.prev_hash = prevHash;
      row.hash = hash;
      return row;
    },
  };
}

async function queue(trx: Knex.Transaction, tenantId: string, prepared: PreparedEvent[]) {
  const rows = prepared.map((e) => eventRow(tenantId, e));
  await insertMany(trx, 'audit_pending', PENDING_COLUMNS, rows).catch(noTenantMeans404(tenantId));
}

const PENDING_NAMES = Object.keys(PENDING_COLUMNS);
const PENDING_INSERT = `INSERT INTO audit_pending (${PENDING_NAMES.join(', ')}) VALUES (${PENDING_NAMES.map(() => '?').join(', ')})`;

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
  const row = eventRow(tenantId, event) as Record<string, unknown>;
  return { sql: PENDING_INSERT, bindings: PENDING_NAMES.map((c) => row[c]) };
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
      `INSERT INTO audit_pending (${fields.join(', ')}, body) ` +
      `SELECT ${fields.map((n) => `e.${n}`).join(', ')}, ${rows.body} ` +
      `FROM ${rows.from}, jsonb_populate_record(NULL::audit_pending, ${rows.event}) AS e ` +
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
  const head = await lockHead(trx, tenantId, { wait: false });
  if (!head) {
    const prepared = all();
    await queue(trx, tenantId, prepared);
    return prepared.map((e) => ({ eventId: e.eventId, seq: null, hash: null }));
  }
  // Events queued before ours go first, so the chain keeps the order of arrival.
  const after = head.pending ? (await chainPending(trx, tenantId, head, ABSORB_LIMIT)).head : head;
  if (count <= INSERT_CHUNK) return writeChained(trx, tenantId, after, all());
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
