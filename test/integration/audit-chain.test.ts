import { randomUUID, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { appendAuditEvent, appendAuditEvents } from '../../src/audit/append.js';
import { eventHash, GENESIS_HASH, type ChainedFields } from '../../src/audit/chain.js';
import { createCheckpoints, listCheckpoints, type Checkpoint } from '../../src/audit/checkpoint.js';
import { eraseSubject } from '../../src/audit/erase.js';
import { eventMac } from '../../src/audit/mac.js';
import { readAuditEvents, type RecordWithSalt } from '../../src/audit/read.js';
import { loadSigningKey, type SigningKey } from '../../src/audit/signing-key.js';
import type { Actor } from '../../src/audit/types.js';
import { verifyTenantChain } from '../../src/audit/verify.js';
import { fixedClock } from '../../src/shared/clock.js';
import { createTenant } from '../../src/tenancy/service.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { forgedEventRow } from '../support/forge.js';
import { openTestDb, TEST_MAC_KEY, type TestDb } from '../support/db.js';

const actor: Actor = { type: 'cli', id: 'ops' };
const clock = fixedClock('2026-12-01T09:00:00.000Z');

let db: TestDb;
let keyDir: string;
let key: SigningKey;
let otherKey: SigningKey;
let trusted: Map<string, KeyObject>;
let tenants = 0;

beforeAll(async () => {
  db = await openTestDb();
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'sk-audit-keys-'));
  key = loadSigningKey(path.join(keyDir, 'checkpoint.pem'), { create: true })!;
  otherKey = loadSigningKey(path.join(keyDir, 'other.pem'), { create: true })!;
  trusted = new Map([[key.keyId, key.publicKey]]);
});
afterAll(async () => {
  await db.close();
  await rm(keyDir, { recursive: true, force: true });
});

interface EventRow {
  tenant_id: string;
  seq: number;
  event_id: string;
  occurred_at: Date;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  payload_digest: string | null;
  prev_hash: string;
  hash: string;
  mac?: string | null;
}

/**
 * A tenant whose trail holds its 3 creation events and `extra` more: seq 4, 6, 8, ... carry
 * a payload about subject `user-<seq>`, seq 5, 7, 9, ... carry none.
 */
async function tenantWith(extra: number): Promise<string> {
  tenants += 1;
  const { id } = await createTenant(db.knex, `Tenant ${tenants}`, { actor, clock });
  if (extra > 0) {
    await withTenant(db.knex, id, (trx) =>
      appendAuditEvents(
        trx,
        id,
        Array.from({ length: extra }, (_, i) => {
          const seq = i + 4;
          return seq % 2 === 0
            ? {
                action: 'seat.assigned',
                actor,
                target: { type: 'seat', id: `seat-${seq}` },
                subject: `user-${seq}`,
                payload: { user: `user-${seq}`, product: 'design-suite' },
              }
            : { action: 'seat.granted', actor: { type: 'job' as const } };
        }),
        clock,
      ),
    );
  }
  return id;
}

async function eventAt(tenantId: string, seq: number): Promise<EventRow> {
  const row = (await db.owner('audit_events').where({ tenant_id: tenantId, seq }).first()) as
    EventRow | undefined;
  if (!row) throw new Error(`no event ${seq} for ${tenantId}`);
  return row;
}

async function headOf(tenantId: string): Promise<{ seq: number; hash: string }> {
  return db.owner('audit_heads').where({ tenant_id: tenantId }).first('seq', 'hash');
}

async function records(tenantId: string): Promise<RecordWithSalt[]> {
  const out: RecordWithSalt[] = [];
  for await (const e of readAuditEvents(db.knex, { tenantId })) out.push(e);
  return out;
}

/**
 * Change the trail behind the append-only triggers' back, in this file's database only,
 * as its owner (a superuser) could: the service's role can do none of this
 * (test/integration/audit-roles.test.ts).
 */
async function tamper(fn: (trx: Knex.Transaction) => Promise<unknown>): Promise<void> {
  await db.owner.transaction(async (trx) => {
    await trx.raw('SET LOCAL session_replication_role = replica');
    await fn(trx);
  });
}

/**
 * Tamper past the table's own check that a payload is present, erased or absent, as a
 * superuser could: the check is dropped for the edit and put back NOT VALID (enforced
 * from then on, the tampered row left as it is).
 */
async function tamperPastPayloadCheck(fn: (trx: Knex.Transaction) => Promise<unknown>) {
  await tamper(async (trx) => {
    const { rows } = (await trx.raw(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE conname = 'audit_events_payload_state' AND conrelid = 'audit_events'::regclass`,
    )) as { rows: Array<{ def: string }> };
    await trx.raw('ALTER TABLE audit_events DROP CONSTRAINT audit_events_payload_state');
    await fn(trx);
    await trx.raw(
      `ALTER TABLE audit_events ADD CONSTRAINT audit_events_payload_state ${rows[0]!.def} NOT VALID`,
    );
  });
}

/**
 * A well-formed event, as someone who knows the hash format, and holds the MAC key,
 * would forge it: these tests are about what the hash chain alone catches. Without the
 * key, every such forgery is caught by its MAC as well (audit-roles.test.ts).
 */
const forgedRow = (tenantId: string, seq: number, prevHash: string): EventRow =>
  forgedEventRow(tenantId, seq, prevHash, { at: clock.now(), mac: 'with-key' });

/** Renumber events seq >= from by `by`, out of the way first so the primary key holds. */
async function renumber(trx: Knex.Transaction, tenantId: string, from: number, by: number) {
  await trx('audit_events')
    .where({ tenant_id: tenantId })
    .where('seq', '>=', from)
    .update({ seq: trx.raw('seq + 1000000') });
  await trx('audit_events')
    .where({ tenant_id: tenantId })
    .where('seq', '>=', 1000000)
    .update({ seq: trx.raw('seq - ?', [1000000 - by]) });
}

/** Remove every event after `keep` (their payloads with them), and rewrite the head to match. */
async function cutTail(tenantId: string, keep: number, opts: { rewriteHead: boolean }) {
  const last = await eventAt(tenantId, keep);
  await tamper(async (trx) => {
    await trx('audit_events').where({ tenant_id: tenantId }).where('seq', '>', keep).del();
    if (opts.rewriteHead) {
      await trx('audit_heads')
        .where({ tenant_id: tenantId })
        .update({ seq: keep, hash: last.hash });
    }
  });
}

describe('appending', () => {
  test("a fresh tenant's chain of three creation events verifies", async () => {
    const t = await tenantWith(0);
    const report = await verifyTenantChain(db.knex, t);
    expect(report).toEqual({
      tenantId: t,
      ok: true,
      events: 3,
      headSeq: 3,
      pending: 0,
      checkpointsChecked: 0,
      macsChecked: true,
      rejectedPending: 0,
      firstBroken: null,
    });
  });

  test('events appended together get consecutive sequence numbers, each linked to the one before', async () => {
    const t = await tenantWith(5);
    const events = await records(t);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < events.length; i += 1) {
      expect(events[i]!.prevHash).toBe(events[i - 1]!.hash);
    }
    expect(await headOf(t)).toEqual({ seq: 8, hash: events[7]!.hash });
    expect(events.every((e) => e.occurredAt === '2026-12-01T09:00:00.000Z')).toBe(true);
    expect((await verifyTenantChain(db.knex, t)).ok).toBe(true);
  });

  test('appends inside a rolled-back transaction leave no event and the head unchanged', async () => {
    const t = await tenantWith(1);
    const before = await headOf(t);
    const failure = new Error('the change failed');
    await expect(
      withTenant(db.knex, t, async (trx) => {
        await appendAuditEvents(
          trx,
          t,
          [
            { action: 'seat.assigned', actor, payload: { user: 'u1' }, subject: 'u1' },
            { action: 'seat.assigned', actor, payload: { user: 'u2' }, subject: 'u2' },
          ],
          clock,
        );
        throw failure;
      }),
    ).rejects.toBe(failure);

    expect(await headOf(t)).toEqual(before);
    expect(await db.owner('audit_events').where({ tenant_id: t }).count({ n: '*' })).toEqual([
      { n: 4 },
    ]);
    expect(await db.owner('audit_events').where({ tenant_id: t, subject_id: 'u1' })).toEqual([]);
    expect((await verifyTenantChain(db.knex, t)).ok).toBe(true);

    const next = await withTenant(db.knex, t, (trx) =>
      appendAuditEvent(trx, t, { action: 'seat.assigned', actor }, clock),
    );
    expect(next.seq).toBe(5);
    expect((await verifyTenantChain(db.knex, t)).ok).toBe(true);
  });

  test('appending outside a transaction is refused', async () => {
    const t = await tenantWith(0);
    await expect(
      appendAuditEvents(db.knex as unknown as Knex.Transaction, t, [
        { action: 'seat.assigned', actor },
      ]),
    ).rejects.toMatchObject({ code: 'audit_outside_transaction' });
    expect((await headOf(t)).seq).toBe(3);
  });

  test('appending to a tenant that does not exist is refused', async () => {
    const nobody = randomUUID();
    await expect(
      withTenant(db.knex, nobody, (trx) =>
        appendAuditEvent(trx, nobody, { action: 'seat.assigned', actor }),
      ),
    ).rejects.toMatchObject({ code: 'tenant_not_found', status: 404 });
  });
});

describe('the append-only triggers', () => {
  let t: string;
  beforeAll(async () => {
    t = await tenantWith(2);
    await createCheckpoints(db.knex, key, { clock, tenantId: t });
  });

  const refused = (table: string, op: string) =>
    expect.objectContaining({
      code: '42501',
      message: expect.stringContaining(`${table} is append-only: ${op} refused`),
    });

  test('refuse an UPDATE of an audit event', async () => {
    await expect(
      db.owner('audit_events').where({ tenant_id: t, seq: 2 }).update({ action: 'edited' }),
    ).rejects.toEqual(refused('audit_events', 'UPDATE'));
  });

  test('refuse a DELETE of an audit event', async () => {
    await expect(db.owner('audit_events').where({ tenant_id: t, seq: 5 }).del()).rejects.toEqual(
      refused('audit_events', 'DELETE'),
    );
  });

  test('refuse a TRUNCATE of the audit events', async () => {
    // CASCADE or not: the trigger refuses it.
    await expect(db.owner.raw('TRUNCATE audit_events CASCADE')).rejects.toEqual(
      refused('audit_events', 'TRUNCATE'),
    );
  });

  test('refuse an UPDATE of a checkpoint', async () => {
    await expect(
      db.owner('audit_checkpoints').where({ tenant_id: t }).update({ seq: 1 }),
    ).rejects.toEqual(refused('audit_checkpoints', 'UPDATE'));
  });

  test('refuse a DELETE of a checkpoint', async () => {
    await expect(db.owner('audit_checkpoints').where({ tenant_id: t }).del()).rejects.toEqual(
      refused('audit_checkpoints', 'DELETE'),
    );
  });

  test('refuse a TRUNCATE of the checkpoints', async () => {
    await expect(db.owner.raw('TRUNCATE audit_checkpoints')).rejects.toEqual(
      refused('audit_checkpoints', 'TRUNCATE'),
    );
  });

  test('refuse to change a payload other than by erasing it', async () => {
    const p = db.owner('audit_events').where({ tenant_id: t, subject_id: 'user-4' });
    await expect(p.clone().update({ body: JSON.stringify({ user: 'x' }) })).rejects.toEqual(
      refused('audit_events', 'UPDATE'),
    );
    // An erasure that also edits what the chain covers, or whose data it was, is no erasure.
    for (const edit of [{ action: 'edited' }, { subject_id: 'someone-else' }, { actor_id: 'x' }]) {
      await expect(
        p.clone().update({ body: null, salt: null, erased_at: new Date(), ...edit }),
      ).rejects.toEqual(refused('audit_events', 'UPDATE'));
    }
    await expect(p.clone().update({ body: null, salt: null })).rejects.toEqual(
      refused('audit_events', 'UPDATE'),
    );
    // Even with the triggers off, removing a payload without marking it erased, or adding
    // one to an event that had none, breaks the table's own check.
    await expect(
      tamper((trx) =>
        trx('audit_events')
          .where({ tenant_id: t, subject_id: 'user-4' })
          .update({ body: null, salt: null }),
      ),
    ).rejects.toMatchObject({ code: '23514' });
    await expect(
      tamper((trx) =>
        trx('audit_events')
          .where({ tenant_id: t })
          .whereNull('payload_digest')
          .update({ body: JSON.stringify({ note: 'added' }), salt: Buffer.alloc(16) }),
      ),
    ).rejects.toMatchObject({ code: '23514' });
  });

  test('leave the trail as it was after all those attempts', async () => {
    expect(await verifyTenantChain(db.knex, t, { publicKeys: trusted })).toMatchObject({
      ok: true,
      events: 5,
      checkpointsChecked: 1,
    });
  });
});

describe('tampering is detected', () => {
  test.each([
    ['action', 'token.revoked'],
    ['actor_type', 'system'],
    ['actor_id', 'mallory'],
    ['occurred_at', '2020-01-01T00:00:00.000Z'],
    ['target_type', 'token'],
    ['target_id', 'seat-99'],
    ['payload_digest', 'c'.repeat(64)],
    ['event_id', '99999999-9999-4999-8999-999999999999'],
    ['hash', 'd'.repeat(64)],
  ])(
    'an event whose %s was edited is detected and named by its sequence number',
    async (column, value) => {
      const t = await tenantWith(6);
      const target = await eventAt(t, 6);
      await tamper((trx) =>
        trx('audit_events')
          .where({ tenant_id: t, seq: 6 })
          .update({ [column]: value }),
      );
      const report = await verifyTenantChain(db.knex, t);
      expect(report.ok).toBe(false);
      expect(report.firstBroken).toMatchObject({
        seq: 6,
        eventId: column === 'event_id' ? value : target.event_id,
        reason: 'hash_mismatch',
      });
    },
  );

  test('an event whose previous hash was edited is detected as not following its predecessor', async () => {
    const t = await tenantWith(6);
    const target = await eventAt(t, 6);
    await tamper((trx) =>
      trx('audit_events')
        .where({ tenant_id: t, seq: 6 })
        .update({ prev_hash: 'd'.repeat(64) }),
    );
    expect((await verifyTenantChain(db.knex, t)).firstBroken).toMatchObject({
      seq: 6,
      eventId: target.event_id,
      reason: 'prev_hash_mismatch',
    });
  });

  test.each([1, 4, 7])(
    'a deleted event %d is detected as missing at its sequence number',
    async (k) => {
      const t = await tenantWith(6);
      await tamper((trx) => trx('audit_events').where({ tenant_id: t, seq: k }).del());
      const report = await verifyTenantChain(db.knex, t);
      expect(report).toMatchObject({ ok: false, events: 8 });
      expect(report.firstBroken).toMatchObject({ seq: k, eventId: null, reason: 'missing_event' });
    },
  );

  test('a deleted event with the later events renumbered to close the gap is detected', async () => {
    const t = await tenantWith(6);
    const next = await eventAt(t, 6);
    await tamper(async (trx) => {
      await trx('audit_events').where({ tenant_id: t, seq: 5 }).del();
      await renumber(trx, t, 6, -1);
      await trx('audit_heads').where({ tenant_id: t }).update({ seq: 8 });
    });
    expect((await verifyTenantChain(db.knex, t)).firstBroken).toMatchObject({
      seq: 5,
      eventId: next.event_id,
      reason: 'prev_hash_mismatch',
    });
  });

  test('an event inserted in the middle with a made-up previous hash is detected at its own sequence number', async () => {
    const t = await tenantWith(6);
    const forged = forgedRow(t, 5, 'e'.repeat(64));
    await tamper(async (trx) => {
      await renumber(trx, t, 5, 1);
      await trx('audit_events').insert(forged);
      await trx('audit_heads').where({ tenant_id: t }).update({ seq: 10 });
    });
    const report = await verifyTenantChain(db.knex, t);
    expect(report).toMatchObject({ ok: false, events: 10 });
    expect(report.firstBroken).toMatchObject({
      seq: 5,
      eventId: forged.event_id,
      reason: 'prev_hash_mismatch',
    });
  });

  test('an event inserted in the middle and linked to its predecessor is detected at the event it displaced', async () => {
    const t = await tenantWith(6);
    const before = await eventAt(t, 4);
    const displaced = await eventAt(t, 5);
    const forged = forgedRow(t, 5, before.hash);
    await tamper(async (trx) => {
      await renumber(trx, t, 5, 1);
      await trx('audit_events').insert(forged);
      await trx('audit_heads').where({ tenant_id: t }).update({ seq: 10 });
    });
    expect((await verifyTenantChain(db.knex, t)).firstBroken).toMatchObject({
      seq: 6,
      eventId: displaced.event_id,
      reason: 'prev_hash_mismatch',
    });
  });

  test('an event forged onto the end with a wrong previous hash is detected', async () => {
    const t = await tenantWith(6);
    const forged = forgedRow(t, 10, 'e'.repeat(64));
    await tamper(async (trx) => {
      await trx('audit_events').insert(forged);
      await trx('audit_heads').where({ tenant_id: t }).update({ seq: 10, hash: forged.hash });
    });
    const report = await verifyTenantChain(db.knex, t);
    expect(report).toMatchObject({ ok: false, events: 10, headSeq: 10 });
    expect(report.firstBroken).toMatchObject({
      seq: 10,
      eventId: forged.event_id,
      reason: 'prev_hash_mismatch',
    });
  });

  test.each([
    [4, 7],
    [5, 6],
    [1, 9],
  ])('events %d and %d swapped are detected at the earlier position', async (a, b) => {
    const t = await tenantWith(6);
    const later = await eventAt(t, b);
    await tamper(async (trx) => {
      const swap = (from: number, to: number) =>
        trx('audit_events').where({ tenant_id: t, seq: from }).update({ seq: to });
      await swap(a, 1000000);
      await swap(b, a);
      await swap(1000000, b);
    });
    const report = await verifyTenantChain(db.knex, t);
    expect(report).toMatchObject({ ok: false, events: 9 });
    expect(report.firstBroken).toMatchObject({
      seq: a,
      eventId: later.event_id,
      reason: 'prev_hash_mismatch',
    });
  });

  test('a payload altered in the table is detected as a payload mismatch', async () => {
    const t = await tenantWith(6);
    const target = await eventAt(t, 6);
    await tamper((trx) =>
      trx('audit_events')
        .where({ tenant_id: t, event_id: target.event_id })
        .update({ body: JSON.stringify({ user: 'user-6', product: 'everything' }) }),
    );
    const report = await verifyTenantChain(db.knex, t);
    expect(report.firstBroken).toMatchObject({
      seq: 6,
      eventId: target.event_id,
      reason: 'payload_mismatch',
    });
  });

  test('a payload moved onto another event is detected as a payload mismatch', async () => {
    const t = await tenantWith(6);
    const [e4, e6] = [await eventAt(t, 4), await eventAt(t, 6)];
    await tamper((trx) =>
      trx.raw(
        `UPDATE audit_events e SET body = six.body, salt = six.salt
           FROM audit_events six
          WHERE e.tenant_id = ? AND e.event_id = ? AND six.tenant_id = e.tenant_id AND six.event_id = ?`,
        [t, e4.event_id, e6.event_id],
      ),
    );
    expect((await verifyTenantChain(db.knex, t)).firstBroken).toMatchObject({
      seq: 4,
      eventId: e4.event_id,
      reason: 'payload_mismatch',
    });
  });

  test('a payload deleted rather than erased is detected as a payload mismatch', async () => {
    const t = await tenantWith(6);
    const target = await eventAt(t, 8);
    await tamperPastPayloadCheck((trx) =>
      trx('audit_events')
        .where({ tenant_id: t, event_id: target.event_id })
        .update({ body: null, salt: null }),
    );
    expect((await verifyTenantChain(db.knex, t)).firstBroken).toMatchObject({
      seq: 8,
      eventId: target.event_id,
      reason: 'payload_mismatch',
    });
  });

  test('a payload added to an event that had none is detected as a payload mismatch', async () => {
    const t = await tenantWith(6);
    const target = await eventAt(t, 5);
    await tamperPastPayloadCheck((trx) =>
      trx('audit_events')
        .where({ tenant_id: t, event_id: target.event_id })
        .update({ salt: Buffer.alloc(16), body: JSON.stringify({ note: 'added later' }) }),
    );
    expect((await verifyTenantChain(db.knex, t)).firstBroken).toMatchObject({
      seq: 5,
      eventId: target.event_id,
      reason: 'payload_mismatch',
    });
  });

  test("two tenants' chains are independent: tampering with one leaves the other verifying", async () => {
    const a = await tenantWith(4);
    const b = await tenantWith(4);
    await tamper((trx) =>
      trx('audit_events').where({ tenant_id: a, seq: 2 }).update({ action: 'token.revoked' }),
    );
    expect((await verifyTenantChain(db.knex, a)).firstBroken).toMatchObject({
      seq: 2,
      reason: 'hash_mismatch',
    });
    expect(await verifyTenantChain(db.knex, b)).toMatchObject({
      ok: true,
      events: 7,
      firstBroken: null,
    });
  });

  test("an event moved to another tenant's trail is detected in that trail", async () => {
    const a = await tenantWith(4);
    const b = await tenantWith(4);
    const moved = await eventAt(a, 5);
    await tamper(async (trx) => {
      await trx('audit_events').where({ tenant_id: b, seq: 5 }).del();
      await trx('audit_events').where({ tenant_id: a, seq: 5 }).update({ tenant_id: b });
    });
    expect((await verifyTenantChain(db.knex, b)).firstBroken).toMatchObject({
      seq: 5,
      eventId: moved.event_id,
      reason: 'prev_hash_mismatch',
    });
    expect((await verifyTenantChain(db.knex, a)).firstBroken).toMatchObject({
      seq: 5,
      reason: 'missing_event',
    });
  });
});

describe('the end of the chain', () => {
  test('a tail cut off without rewriting the head is detected by the head', async () => {
    const t = await tenantWith(7);
    await cutTail(t, 8, { rewriteHead: false });
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({
      ok: false,
      events: 8,
      headSeq: 10,
      firstBroken: { seq: 9, eventId: null, reason: 'head_mismatch' },
    });
  });

  test('an event forged onto the end and linked to the last one, without moving the head, is named by the head', async () => {
    const t = await tenantWith(6);
    const forged = forgedRow(t, 10, (await eventAt(t, 9)).hash);
    await tamper((trx) => trx('audit_events').insert(forged));
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({
      ok: false,
      events: 10,
      headSeq: 9,
      firstBroken: { seq: 10, eventId: forged.event_id, reason: 'head_mismatch' },
    });
  });

  test('the last event replaced by a forgery linked to its predecessor is named by the head', async () => {
    const t = await tenantWith(6);
    const forged = forgedRow(t, 9, (await eventAt(t, 8)).hash);
    await tamper(async (trx) => {
      await trx('audit_events').where({ tenant_id: t, seq: 9 }).del();
      await trx('audit_events').insert(forged);
    });
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({
      ok: false,
      events: 9,
      headSeq: 9,
      firstBroken: { seq: 9, eventId: forged.event_id, reason: 'head_mismatch' },
    });
  });

  test('a tenant whose chain head is gone is reported', async () => {
    const t = await tenantWith(0);
    await tamper((trx) => trx('audit_heads').where({ tenant_id: t }).del());
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({
      ok: false,
      headSeq: null,
      firstBroken: { reason: 'head_mismatch' },
    });
  });

  test('a tail cut off with the head rewritten to match is detected by the checkpoint signed before', async () => {
    const t = await tenantWith(7);
    const [cp] = await createCheckpoints(db.knex, key, { clock, tenantId: t });
    expect(cp).toMatchObject({ tenantId: t, seq: 10, keyId: key.keyId });
    expect(await verifyTenantChain(db.knex, t, { publicKeys: trusted })).toMatchObject({
      ok: true,
      checkpointsChecked: 1,
    });

    await cutTail(t, 8, { rewriteHead: true });
    expect(await verifyTenantChain(db.knex, t, { publicKeys: trusted })).toMatchObject({
      ok: false,
      events: 8,
      headSeq: 8,
      firstBroken: { seq: 9, eventId: null, reason: 'truncated' },
    });
  });

  test('a tail cut off with the head and the checkpoints removed too is detected by an exported checkpoint', async () => {
    const t = await tenantWith(7);
    await createCheckpoints(db.knex, key, { clock, tenantId: t });
    // What `audit checkpoint` hands to somewhere outside the database.
    const exported = JSON.parse(JSON.stringify(await listCheckpoints(db.knex, t))) as Checkpoint[];
    expect(exported).toHaveLength(1);

    await cutTail(t, 8, { rewriteHead: true });
    await tamper((trx) => trx('audit_checkpoints').where({ tenant_id: t }).del());
    // The database alone can no longer tell...
    expect((await verifyTenantChain(db.knex, t, { publicKeys: trusted })).ok).toBe(true);
    // ...the exported checkpoint can.
    expect(
      await verifyTenantChain(db.knex, t, { publicKeys: trusted, externalCheckpoints: exported }),
    ).toMatchObject({
      ok: false,
      checkpointsChecked: 1,
      firstBroken: { seq: 9, eventId: null, reason: 'truncated' },
    });
  });

  test('a history rewritten with recomputed hashes is caught by the checkpoint signed before', async () => {
    const t = await tenantWith(7);
    await createCheckpoints(db.knex, key, { clock, tenantId: t });
    const rows = await Promise.all([5, 6, 7, 8, 9, 10].map((seq) => eventAt(t, seq)));
    await tamper(async (trx) => {
      let prev = rows[0]!.hash;
      for (const e of rows.slice(1)) {
        const seq = e.seq;
        const fields: ChainedFields = {
          eventId: e.event_id,
          occurredAt: e.occurred_at.toISOString(),
          actorType: e.actor_type,
          actorId: seq === 6 ? 'someone-else' : e.actor_id,
          action: e.action,
          targetType: e.target_type,
          targetId: e.target_id,
          payloadDigest: e.payload_digest,
        };
        const hash = eventHash(prev, seq, t, fields);
        await trx('audit_events')
          .where({ tenant_id: t, seq })
          // With the MAC key too: only the checkpoint can catch this.
          .update({
            actor_id: fields.actorId,
            prev_hash: prev,
            hash,
            mac: eventMac(TEST_MAC_KEY, t, fields),
          });
        prev = hash;
      }
      await trx('audit_heads').where({ tenant_id: t }).update({ hash: prev });
    });
    expect(await verifyTenantChain(db.knex, t, { publicKeys: trusted })).toMatchObject({
      ok: false,
      firstBroken: { seq: 10, eventId: rows[5]!.event_id, reason: 'checkpoint_mismatch' },
    });
  });
});

describe('checkpoints', () => {
  test('a checkpoint is signed only when the chain has grown since the last one', async () => {
    const t = await tenantWith(1);
    expect(await createCheckpoints(db.knex, key, { clock, tenantId: t })).toHaveLength(1);
    expect(await createCheckpoints(db.knex, key, { clock, tenantId: t })).toEqual([]);
    await withTenant(db.knex, t, (trx) =>
      appendAuditEvent(trx, t, { action: 'seat.granted', actor }, clock),
    );
    expect(await createCheckpoints(db.knex, key, { clock, tenantId: t })).toMatchObject([
      { tenantId: t, seq: 5 },
    ]);
    expect(await verifyTenantChain(db.knex, t, { publicKeys: trusted })).toMatchObject({
      ok: true,
      checkpointsChecked: 2,
    });
  });

  test('a checkpoint signed by an unknown key is reported', async () => {
    const t = await tenantWith(2);
    await createCheckpoints(db.knex, otherKey, { clock, tenantId: t });
    expect(await verifyTenantChain(db.knex, t, { publicKeys: trusted })).toMatchObject({
      ok: false,
      checkpointsChecked: 0,
      firstBroken: { seq: 5, eventId: null, reason: 'checkpoint_key_unknown' },
    });
    const both = new Map([...trusted, [otherKey.keyId, otherKey.publicKey]]);
    expect((await verifyTenantChain(db.knex, t, { publicKeys: both })).ok).toBe(true);
  });

  test('a checkpoint whose signature was tampered with in the table is reported', async () => {
    const t = await tenantWith(2);
    const [cp] = await createCheckpoints(db.knex, key, { clock, tenantId: t });
    const sig = cp!.signature;
    await tamper((trx) =>
      trx('audit_checkpoints')
        .where({ tenant_id: t, seq: 5 })
        .update({ signature: (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1) }),
    );
    expect(await verifyTenantChain(db.knex, t, { publicKeys: trusted })).toMatchObject({
      ok: false,
      firstBroken: { seq: 5, eventId: null, reason: 'checkpoint_signature_invalid' },
    });
  });

  test('an exported checkpoint whose signed fields were changed is reported', async () => {
    const t = await tenantWith(2);
    const [cp] = await createCheckpoints(db.knex, key, { clock, tenantId: t });
    await tamper((trx) => trx('audit_checkpoints').where({ tenant_id: t }).del());
    const altered: Checkpoint = { ...cp!, seq: 9 };
    expect(
      await verifyTenantChain(db.knex, t, { publicKeys: trusted, externalCheckpoints: [altered] }),
    ).toMatchObject({
      ok: false,
      checkpointsChecked: 0,
      firstBroken: { seq: 9, eventId: null, reason: 'checkpoint_signature_invalid' },
    });
  });

  test("another tenant's exported checkpoint is not applied to this tenant", async () => {
    const a = await tenantWith(5);
    const b = await tenantWith(2);
    const fromA = await createCheckpoints(db.knex, key, { clock, tenantId: a });
    expect(
      await verifyTenantChain(db.knex, b, { publicKeys: trusted, externalCheckpoints: fromA }),
    ).toMatchObject({ ok: true, checkpointsChecked: 0 });
  });
});

describe('erasure', () => {
  test("erasing a subject removes its payloads, keeps others', and the chain still verifies", async () => {
    const t = await tenantWith(0);
    await withTenant(db.knex, t, (trx) =>
      appendAuditEvents(
        trx,
        t,
        [
          { action: 'user.created', actor, subject: 'alice', payload: { email: 'a@example.com' } },
          { action: 'user.created', actor, subject: 'bob', payload: { email: 'b@example.com' } },
          { action: 'user.patched', actor, subject: 'alice', payload: { name: 'Alice A.' } },
          { action: 'seat.granted', actor },
        ],
        clock,
      ),
    );
    const digestsBefore = (await records(t)).map((e) => e.payloadDigest);
    clock.advance(60_000);

    const erased = await eraseSubject(
      db.knex,
      t,
      'alice',
      { actor: { type: 'user', id: 'dpo' }, reason: 'GDPR request' },
      clock,
    );
    expect(erased).toBe(2);

    const events = await records(t);
    expect(events.map((e) => e.payloadDigest).slice(0, 7)).toEqual(digestsBefore);
    const bySeq = (seq: number) => events.find((e) => e.seq === seq)!;
    for (const seq of [4, 6]) {
      expect(bySeq(seq)).toMatchObject({
        payload: null,
        salt: null,
        erasedAt: clock.now().toISOString(),
      });
    }
    expect(bySeq(5)).toMatchObject({ payload: { email: 'b@example.com' }, erasedAt: null });
    expect(bySeq(5).salt).toHaveLength(16);
    const stored = await db.owner('audit_events').where({ tenant_id: t, subject_id: 'alice' });
    expect(stored.map((p) => [p.body, p.salt])).toEqual([
      [null, null],
      [null, null],
    ]);
    expect(JSON.stringify(await db.owner('audit_events').where({ tenant_id: t }))).not.toContain(
      'a@example.com',
    );

    expect(bySeq(8)).toMatchObject({
      action: 'audit.payload_erased',
      actorType: 'user',
      actorId: 'dpo',
      targetType: 'subject',
      targetId: 'alice',
      payload: { payloadsErased: 2, reason: 'GDPR request' },
    });
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({
      ok: true,
      events: 8,
      headSeq: 8,
    });
  });

  test('erasing a subject again erases nothing more and the chain still verifies', async () => {
    const t = await tenantWith(2);
    expect(await eraseSubject(db.knex, t, 'user-4', { actor, reason: 'GDPR request' }, clock)).toBe(
      1,
    );
    expect(await eraseSubject(db.knex, t, 'user-4', { actor, reason: 'GDPR request' }, clock)).toBe(
      0,
    );
    const events = await records(t);
    expect(events.slice(-2).map((e) => [e.action, e.payload])).toEqual([
      ['audit.payload_erased', { payloadsErased: 1, reason: 'GDPR request' }],
      ['audit.payload_erased', { payloadsErased: 0, reason: 'GDPR request' }],
    ]);
    expect((await verifyTenantChain(db.knex, t)).ok).toBe(true);
  });

  test("erasing a subject in one tenant leaves another tenant's payloads for the same subject id", async () => {
    const a = await tenantWith(2);
    const b = await tenantWith(2);
    await eraseSubject(db.knex, a, 'user-4', { actor, reason: 'GDPR request' }, clock);
    const [kept] = (await records(b)).filter((e) => e.seq === 4);
    expect(kept!.payload).toEqual({ user: 'user-4', product: 'design-suite' });
    expect((await verifyTenantChain(db.knex, b)).ok).toBe(true);
  });
});
