// Appends that find their tenant's chain head held by another transaction: queued in
// audit_pending without waiting, and chained by whoever holds the head next. Contention
// needs two open transactions, which the embedded database (one transaction at a time)
// cannot have, so those cases run on the real PostgreSQL only.
import type { Knex } from 'knex';
import { appendAuditEvent, appendAuditEvents } from '../../src/audit/append.js';
import { SALT_BYTES } from '../../src/audit/chain.js';
import { eraseSubject } from '../../src/audit/erase.js';
import { settleAudit, startSettler } from '../../src/audit/settle.js';
import { verifyTenantChain } from '../../src/audit/verify.js';
import { createLogger } from '../../src/log/logger.js';
import { fixedClock } from '../../src/shared/clock.js';
import { createTenant } from '../../src/tenancy/service.js';
import { scopeToTenant, withTenant } from '../../src/db/tenant-scope.js';
import { onRealPostgres, openTestDb, type TestDb } from '../support/db.js';

const clock = fixedClock('2026-12-01T09:00:00.000Z');
const actor = { type: 'job' as const, id: 'pending-test' };
const onPostgres = onRealPostgres() ? describe : describe.skip;

let db: TestDb;
let other: Knex;

beforeAll(async () => {
  db = await openTestDb();
  other = db.another(2);
});
afterAll(async () => {
  await other.destroy();
  await db.close();
});

const newTenant = async (name: string) =>
  (await createTenant(db.knex, name, { actor: { type: 'cli' }, clock })).id;

const append = (trx: Knex.Transaction, t: string, id: string, payload?: object) =>
  appendAuditEvent(
    trx,
    t,
    {
      action: 'seat.assigned',
      actor,
      target: { type: 'seat', id },
      ...(payload ? { subject: 'user-1', payload: { ...payload } } : {}),
    },
    clock,
  );

/** A transaction holding tenant t's head (it has appended `seat-held`). */
async function holdHead(t: string): Promise<Knex.Transaction> {
  const trx = await other.transaction();
  await scopeToTenant(trx, t);
  await append(trx, t, 'seat-held');
  return trx;
}

const chainedTargets = async (t: string) =>
  (await db
    .owner('audit_events')
    .where({ tenant_id: t, target_type: 'seat' })
    .orderBy('seq')
    .pluck('target_id')) as string[];

const pendingCount = async (t: string) =>
  Number(
    (
      (await db.owner('audit_pending').where({ tenant_id: t }).count({ n: '*' })) as [{ n: number }]
    )[0].n,
  );

// As the owner (the service's role can do none of this: test/integration/audit-roles.test.ts).
test('the queue of pending events refuses edits and truncation, even by its owner', async () => {
  const t = await newTenant('Guarded');
  const row = {
    tenant_id: t,
    event_id: '00000000-0000-4000-8000-000000000001',
    occurred_at: clock.now(),
    actor_type: 'job',
    action: 'seat.assigned',
    mac: 'f'.repeat(64), // made up: its writer has no key
  };
  await db.owner('audit_pending').insert(row);
  await expect(db.owner('audit_pending').update({ action: 'forged' })).rejects.toThrow(
    /append-only: UPDATE refused/,
  );
  await expect(db.owner.raw('TRUNCATE audit_pending')).rejects.toThrow(
    /append-only: TRUNCATE refused/,
  );
  // The row has no MAC (issue 12): it is never chained, and verify reports it.
  await settleAudit(db.knex, { tenantId: t });
  expect(await verifyTenantChain(db.knex, t)).toMatchObject({
    ok: false,
    events: 3,
    pending: 1,
    rejectedPending: 1,
    firstBroken: { reason: 'queued_mac_invalid', eventId: row.event_id },
  });
});

test('settling with nothing queued changes nothing', async () => {
  const t = await newTenant('Quiet');
  expect(await settleAudit(db.knex, { tenantId: t })).toBe(0);
  expect(await verifyTenantChain(db.knex, t)).toMatchObject({ ok: true, events: 3, pending: 0 });
});

const many = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({
    action: 'seat.granted' as const,
    actor,
    target: { type: 'seat', id: `${tag}-${i}` },
    subject: `user-${i % 7}`,
    payload: { n: i, note: 'quote " backslash \\ and ünïcode' },
  }));

test('a bulk append of thousands of events, staged through COPY a batch at a time, chains and verifies with its payloads intact', async () => {
  const t = await newTenant('Bulk');
  // More than one staging batch (5,000), so batches follow one another.
  const appended = await withTenant(db.knex, t, (trx) =>
    appendAuditEvents(trx, t, many(5500, 'bulk'), clock),
  );
  expect(appended.map((a) => a.seq)).toEqual(Array.from({ length: 5500 }, (_, i) => i + 4));
  expect(await verifyTenantChain(db.knex, t)).toMatchObject({ ok: true, events: 5503 });
  const body = await db
    .owner('audit_events')
    .where({ tenant_id: t, event_id: appended[1234]!.eventId })
    .first('body', 'subject_id');
  expect(body).toEqual({
    body: { n: 1234, note: 'quote " backslash \\ and ünïcode' },
    subject_id: 'user-2',
  });
});

onPostgres('on a head held by another transaction', () => {
  test('an append does not wait for the holder: it is queued, and stays out of the chain until someone holds the head', async () => {
    const t = await newTenant('Queued');
    const holder = await holdHead(t);
    const queued = await withTenant(db.knex, t, (trx) => append(trx, t, 'seat-queued'));
    expect(queued).toMatchObject({ seq: null, hash: null });
    expect(await pendingCount(t)).toBe(1);
    await holder.commit();
    expect(await chainedTargets(t)).toEqual(['seat-held']);
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({ ok: true, events: 4, pending: 1 });
  });

  test('the next append chains the queued events first, in the order they arrived', async () => {
    const t = await newTenant('Absorbed');
    const holder = await holdHead(t);
    for (const id of ['seat-q1', 'seat-q2', 'seat-q3'])
      await withTenant(db.knex, t, (trx) => append(trx, t, id, { id }));
    await holder.commit();
    const next = await withTenant(db.knex, t, (trx) => append(trx, t, 'seat-next'));
    expect(next.seq).toBe(8);
    expect(await chainedTargets(t)).toEqual([
      'seat-held',
      'seat-q1',
      'seat-q2',
      'seat-q3',
      'seat-next',
    ]);
    expect(await pendingCount(t)).toBe(0);
    // Their payloads moved with them and still match their digests.
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({ ok: true, events: 8, pending: 0 });
  });

  test('a queued append that rolls back leaves nothing behind, in the queue or the chain', async () => {
    const t = await newTenant('Rolled back');
    const holder = await holdHead(t);
    await expect(
      withTenant(db.knex, t, async (trx) => {
        await append(trx, t, 'seat-doomed', { doomed: true });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    await holder.commit();
    expect(await pendingCount(t)).toBe(0);
    await settleAudit(db.knex, { tenantId: t });
    expect(await chainedTargets(t)).toEqual(['seat-held']);
  });

  test('an appender that chains queued events and then rolls back returns them to the queue', async () => {
    const t = await newTenant('Returned');
    const holder = await holdHead(t);
    await withTenant(db.knex, t, (trx) => append(trx, t, 'seat-q'));
    await holder.commit();
    await expect(
      withTenant(db.knex, t, async (trx) => {
        await append(trx, t, 'seat-failing');
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await pendingCount(t)).toBe(1);
    await settleAudit(db.knex, { tenantId: t });
    expect(await chainedTargets(t)).toEqual(['seat-held', 'seat-q']);
  });

  test('settling without waiting skips a held head; settling with waiting chains everything queued', async () => {
    const t = await newTenant('Settled');
    const firstHolder = await holdHead(t);
    await withTenant(db.knex, t, (trx) => append(trx, t, 'seat-q'));
    await firstHolder.commit();
    const holder = await holdHead(t);
    expect(await settleAudit(db.knex, { tenantId: t, wait: false })).toBe(0);
    const settling = settleAudit(db.knex, { tenantId: t, wait: true });
    await holder.commit();
    // The second holder chained the queued event itself on its way in.
    expect(await settling).toBe(0);
    expect(await chainedTargets(t)).toEqual(['seat-held', 'seat-q', 'seat-held']);
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({ ok: true, pending: 0 });
  });

  test('the background settler chains the queue once writes stop, and once more when stopped', async () => {
    const t = await newTenant('Background');
    const holder = await holdHead(t);
    await withTenant(db.knex, t, (trx) => append(trx, t, 'seat-q1'));
    const settler = startSettler(db.knex, {
      everyMs: 10,
      logger: createLogger({ level: 'error', format: 'json', silent: true }),
    });
    await holder.commit();
    for (let i = 0; i < 500 && (await pendingCount(t)) > 0; i += 1)
      await new Promise((r) => setTimeout(r, 10));
    expect(await chainedTargets(t)).toEqual(['seat-held', 'seat-q1']);

    const second = await holdHead(t);
    await withTenant(db.knex, t, (trx) => append(trx, t, 'seat-q2'));
    await second.commit();
    await settler.stop();
    expect(await pendingCount(t)).toBe(0);
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({ ok: true, pending: 0 });
  });

  test('a bulk append queued behind a held head is chained whole, in order, payloads intact', async () => {
    const t = await newTenant('Bulk queued');
    const holder = await holdHead(t);
    const events = many(1500, 'queued');
    const queued = await withTenant(db.knex, t, (trx) => appendAuditEvents(trx, t, events, clock));
    expect(queued.every((a) => a.seq === null)).toBe(true);
    await holder.commit();
    // More than one settling batch: the later batches continue the chain where it ended.
    expect(await settleAudit(db.knex, { tenantId: t })).toBe(1500);
    expect(await chainedTargets(t)).toEqual(['seat-held', ...events.map((e) => e.target.id)]);
    const moved = await db
      .owner('audit_events')
      .where({ tenant_id: t, target_id: 'queued-1499' })
      .first();
    expect(moved).toMatchObject({ subject_id: 'user-1', body: events[1499]!.payload });
    expect(moved.salt).toHaveLength(SALT_BYTES);
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({
      ok: true,
      events: 1504,
      pending: 0,
    });
  });

  test("erasure reaches a subject's payloads that are still waiting to be chained", async () => {
    const t = await newTenant('Erased');
    const holder = await holdHead(t);
    await withTenant(db.knex, t, (trx) => append(trx, t, 'seat-q', { email: 'ada@example.com' }));
    await holder.commit();
    expect(await eraseSubject(db.knex, t, 'user-1', { actor, reason: 'GDPR request' }, clock)).toBe(
      1,
    );
    const bodies = await db
      .owner('audit_events')
      .where({ tenant_id: t, subject_id: 'user-1' })
      .pluck('body');
    expect(bodies).toEqual([null]);
    expect(await verifyTenantChain(db.knex, t)).toMatchObject({ ok: true, pending: 0 });
  });
});
