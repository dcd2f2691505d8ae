// Seat reclamation end to end (issue 14): SCIM deprovisioning starts the licence's grace
// and reactivation restores; inactivity (no activity for the product for inactivityDays)
// is scanned, previewed, announced by a grace, undone by activity, and its reclaim is not
// undone by the next reconcile. Time is a clock the test moves: nothing sleeps.
import { withTenant } from '../../src/db/tenant-scope.js';
import { reconcileTenant } from '../../src/licensing/full-reconcile.js';
import { scanInactivity } from '../../src/licensing/reclamation.js';
import { fixedClock } from '../../src/shared/clock.js';
import { deliverDueEmails, smtpMailer } from '../../src/notifications/index.js';
import { startSmtpSink } from '../support/smtp-sink.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { ENTERPRISE, GROUP, scimClient, USER, type ScimClient } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;
let api: ApiClient;
const clock = fixedClock('2026-09-01T09:00:00.000Z');
const DAY = 86_400_000;
const job = { clock, actor: { type: 'job' as const, id: 'test' } };
const ctx = () => ({ knex: db.knex, tenantId: tenant.id, ...job });

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Reclamation');
  const app = testApp(db.knex, undefined, { clock });
  scim = scimClient(app, tenant.scimToken);
  api = apiClient(app, tenant.apiToken);
});
afterAll(() => db.close());

let n = 0;
const user = async () =>
  (
    await scim
      .post('/Users', { schemas: [USER], userName: `rec${++n}@example.com`, active: true })
      .expect(201)
  ).body.id as string;
const group = async (members: string[]) =>
  (
    await scim
      .post('/Groups', {
        schemas: [GROUP],
        displayName: `Team ${++n}`,
        members: members.map((value) => ({ value })),
      })
      .expect(201)
  ).body.id as string;
async function pool(quantity: number, members: string[], extra: Record<string, unknown> = {}) {
  const product = (await api.post('/products', { name: `Tool ${++n}` }).expect(201)).body.id;
  const licence = (
    await api
      .post('/licenses', {
        productId: product,
        name: `Pool ${n}`,
        type: 'subscription',
        quantity,
        cost: { unitCost: 120, currency: 'EUR' },
        ...extra,
      })
      .expect(201)
  ).body.item.id as string;
  const g = await group(members);
  await api.post('/rules', { licenseId: licence, groupId: g }).expect(201);
  return { product: product as string, licence, group: g };
}
const seatsOf = async (licence: string) =>
  (await api.get(`/licenses/${licence}/seats?limit=500`).expect(200)).body.items as Array<{
    userId: string;
    state: string;
    reclaimReason: string | null;
    reclaimAfter: string | null;
    releaseReason: string | null;
    lastActiveAt: string | null;
  }>;
const stateOf = async (licence: string, u: string) =>
  (await seatsOf(licence)).filter((s) => s.userId === u && s.state !== 'released');
/** Who holds the pool's seat, and who waits (users made in one millisecond queue in id order). */
async function holderAndNext(licence: string) {
  const seats = await seatsOf(licence);
  return {
    holder: seats.find((s) => s.state === 'active')!.userId,
    next: seats.find((s) => s.state === 'waitlisted')!.userId,
  };
}
const active = (u: string, on: boolean) =>
  scim.patchOps(`/Users/${u}`, [{ op: 'replace', path: 'active', value: on }]).expect(200);
const at = (offsetDays: number) => new Date(clock.now().getTime() + offsetDays * DAY).toISOString();

describe('deprovisioning over SCIM (active=false)', () => {
  test('starts the grace in the same request, keeps the place in the pool, and reactivation restores', async () => {
    const { licence } = await pool(1, [await user(), await user()]);
    const { holder: a, next: b } = await holderAndNext(licence);
    await active(a, false);
    const [held] = await stateOf(licence, a);
    expect(held).toMatchObject({
      state: 'pending_reclaim',
      reclaimReason: 'deprovisioned',
      reclaimAfter: at(7),
    });
    // In its grace the seat is still paid for: b still waits.
    expect((await stateOf(licence, b))[0]!.state).toBe('waitlisted');
    const explained = (await api.get(`/users/${a}/seats`).expect(200)).body.seats[0];
    expect(explained.explanation).toMatch(
      /deprovisioned; reclaim on \d{4}-\d\d-\d\d unless reactivated/,
    );
    await active(a, true);
    expect((await stateOf(licence, a))[0]).toMatchObject({ state: 'active', reclaimReason: null });
  });

  test('when the grace ends the seat is released and the first in line is seated', async () => {
    const { licence } = await pool(1, [await user(), await user()], { reclaimGraceDays: 3 });
    const { holder: a, next: b } = await holderAndNext(licence);
    await active(a, false);
    clock.advance(4 * DAY);
    await reconcileTenant(db.knex, tenant.id, job);
    expect(await stateOf(licence, a)).toEqual([]);
    const released = (await seatsOf(licence)).find((s) => s.userId === a)!;
    expect(released.releaseReason).toBe('deprovisioned');
    expect((await stateOf(licence, b))[0]!.state).toBe('active');
  });

  test('a grace of 0 releases in the same request; DELETE /Users releases at once', async () => {
    const { licence } = await pool(1, [await user(), await user(), await user()], {
      reclaimGraceDays: 0,
    });
    const { holder: a, next: b } = await holderAndNext(licence);
    await active(a, false);
    expect(await stateOf(licence, a)).toEqual([]);
    expect((await seatsOf(licence)).find((s) => s.userId === a)!.releaseReason).toBe(
      'deprovisioned',
    );
    expect((await stateOf(licence, b))[0]!.state).toBe('active');
    const { next: c } = await holderAndNext(licence);
    await scim.delete(`/Users/${b}`).expect(204);
    expect((await seatsOf(licence)).find((s) => s.userId === b)!.releaseReason).toBe(
      'user_deleted',
    );
    expect((await stateOf(licence, c))[0]!.state).toBe('active');
  });
});

describe('inactivity', () => {
  test('the scan does what the preview said: exempt and recently active holders keep their seats', async () => {
    const [idle, exempt, busy, young] = [await user(), await user(), await user(), await user()];
    const vip = await group([exempt]);
    const { licence, product } = await pool(10, [idle, exempt, busy], {
      inactivityDays: 30,
      reclaimExempt: { userIds: [], groupIds: [vip] },
    });
    clock.advance(31 * DAY);
    await api
      .post('/activity', {
        events: [{ userId: busy, productId: product, occurredAt: at(-1), source: 'okta' }],
      })
      .expect(200);
    // A seat younger than inactivityDays is not inactive.
    await api.post('/seats', { licenseId: licence, userId: young }).expect(201);
    const preview = (await api.get(`/reclamation/preview?licenseId=${licence}`).expect(200)).body;
    expect(preview.items.map((i: { userId: string }) => i.userId)).toEqual([idle]);
    expect(preview.items[0]).toMatchObject({
      action: 'reclaim_scheduled',
      reason: 'inactive',
      reclaimAfter: at(7),
      lastActiveAt: null,
      potentialSaving: { amount: 10, currency: 'EUR' },
    });
    const scanned = (await scanInactivity(ctx())).filter((i) => i.licenseId === licence);
    expect(scanned).toEqual(preview.items);
    expect((await stateOf(licence, idle))[0]).toMatchObject({
      state: 'pending_reclaim',
      reclaimReason: 'inactive',
    });
    // The scan is idempotent: the second run finds nothing new.
    expect((await scanInactivity(ctx())).filter((i) => i.licenseId === licence)).toEqual([]);
  });

  test('activity in the grace restores the seat; after the grace the seat goes to the next in line and stays gone until the holder is active again', async () => {
    const { licence, product } = await pool(1, [await user(), await user()], {
      inactivityDays: 30,
      reclaimGraceDays: 7,
    });
    const { holder: a, next: b } = await holderAndNext(licence);
    clock.advance(31 * DAY);
    await scanInactivity(ctx());
    expect((await stateOf(licence, a))[0]!.state).toBe('pending_reclaim');
    const explained = (await api.get(`/users/${a}/seats`).expect(200)).body.seats[0];
    expect(explained.explanation).toMatch(
      /inactive since the seat was granted \(\d{4}-\d\d-\d\d\); reclaim on \d{4}-\d\d-\d\d unless used/,
    );
    // Activity for this product inside the grace: restored when the event is received.
    await api
      .post('/activity', { events: [{ userId: a, productId: product, occurredAt: at(0) }] })
      .expect(200);
    expect((await stateOf(licence, a))[0]).toMatchObject({
      state: 'active',
      lastActiveAt: at(0),
    });
    // Idle again: scheduled, the grace runs out, the reconciler reclaims it for b.
    clock.advance(31 * DAY);
    await scanInactivity(ctx());
    clock.advance(8 * DAY);
    await reconcileTenant(db.knex, tenant.id, job);
    expect(
      (await seatsOf(licence)).find((s) => s.userId === a && s.state === 'released'),
    ).toMatchObject({ releaseReason: 'inactive' });
    expect((await stateOf(licence, b))[0]!.state).toBe('active');
    // Still in the rule's group, but not seated again by the next reconcile…
    await reconcileTenant(db.knex, tenant.id, job);
    expect(await stateOf(licence, a)).toEqual([]);
    const why = (await api.get(`/users/${a}/seats`).expect(200)).body.notSeated[0];
    expect(why.reason).toMatch(/reclaimed for inactivity/);
    // …until they are active again: then they queue like anyone else (the pool is full).
    await api.post('/activity', { events: [{ userId: a, occurredAt: at(0) }] }).expect(200);
    expect((await stateOf(licence, a))[0]!.state).toBe('waitlisted');
  });
});

test('PATCH /tenant sets the reclaim policy licences created afterwards start with', async () => {
  const before = (await pool(1, [])).licence;
  await api
    .patch('/tenant', { reclaimDefaults: { inactivityDays: 45, reclaimGraceDays: 2 } })
    .expect(200);
  const after = (await pool(1, [])).licence;
  const [b, a] = [
    (await api.get(`/licenses/${before}`).expect(200)).body,
    (await api.get(`/licenses/${after}`).expect(200)).body,
  ];
  expect([b.inactivityDays, b.reclaimGraceDays]).toEqual([null, 7]);
  expect([a.inactivityDays, a.reclaimGraceDays]).toEqual([45, 2]);
  await api
    .patch('/tenant', { reclaimDefaults: { inactivityDays: null, reclaimGraceDays: 7 } })
    .expect(200);
});

test('a manual seat that breaks the licence restriction stays, and makes the licence non-compliant with a named violation', async () => {
  const outsider = (
    await scim
      .post('/Users', {
        schemas: [USER, ENTERPRISE],
        userName: `rec${++n}@example.com`,
        [ENTERPRISE]: { department: 'Sales' },
      })
      .expect(201)
  ).body.id as string;
  const { licence } = await pool(5, [], { restrictions: { departments: ['Design'] } });
  expect((await api.get(`/licenses/${licence}/compliance`).expect(200)).body.statuses).toContain(
    'compliant',
  );
  const seat = (await api.post('/seats', { licenseId: licence, userId: outsider }).expect(201))
    .body;
  expect(seat.state).toBe('active');
  const c = (await api.get(`/licenses/${licence}/compliance`).expect(200)).body;
  expect(c.statuses).toContain('restriction_violated');
  expect(c.statuses).not.toContain('compliant');
  expect(c.violations).toEqual([{ seatId: seat.id, userId: outsider, restriction: 'department' }]);
  const summary = (await api.get('/compliance').expect(200)).body;
  expect(summary.restrictionViolated).toBeGreaterThanOrEqual(1);
});

describe('email to the person at risk (issue 14)', () => {
  test('one message per scheduled inactivity reclaim, at the SMTP sink, never twice; a refusing server is retried', async () => {
    const sink = await startSmtpSink();
    const mailer = smtpMailer(sink.url, 'Seatkeeper <seatkeeper@example.com>');
    try {
      const holder = (
        await scim
          .post('/Users', {
            schemas: [USER],
            userName: `rec${++n}@example.com`,
            emails: [
              { value: 'other@example.com', type: 'home' },
              { value: 'holder@example.com', type: 'work', primary: true },
            ],
          })
          .expect(201)
      ).body.id as string;
      const { licence, product } = await pool(1, [holder], {
        inactivityDays: 10,
        reclaimGraceDays: 5,
      });
      clock.advance(11 * DAY);
      sink.state.refuse = true;
      await scanInactivity(ctx());
      expect(await deliverDueEmails(db.knex, mailer, { clock })).toBe(0);
      expect(sink.received).toEqual([]);
      // Retried after its backoff, once the server takes mail again.
      sink.state.refuse = false;
      clock.advance(11_000);
      expect(await deliverDueEmails(db.knex, mailer, { clock })).toBeGreaterThanOrEqual(1);
      const mine = sink.received.filter((m) => m.to.includes('holder@example.com'));
      const on = (await stateOf(licence, holder))[0]!.reclaimAfter!.slice(0, 10);
      expect(mine).toHaveLength(1);
      const productName = (await api.get(`/products/${product}`).expect(200)).body.name;
      expect(mine[0]!.subject).toBe(`Your ${productName} seat will be reclaimed on ${on}`);
      expect(mine[0]!.text).toMatch(new RegExp(`will be reclaimed on ${on} unless you use it`));
      // Scanning and delivering again sends nothing more.
      await scanInactivity(ctx());
      await deliverDueEmails(db.knex, mailer, { clock });
      expect(sink.received.filter((m) => m.to.includes('holder@example.com'))).toHaveLength(1);
    } finally {
      mailer.close();
      await sink.close();
    }
  });
});

describe('jobs (issue 14)', () => {
  test("a job runs for the token's tenant within the request, and GET /jobs shows its last run", async () => {
    const before = (await api.get('/jobs').expect(200)).body.items;
    expect(before.map((j: { name: string }) => j.name)).toEqual([
      'inactivity-scan',
      'reclaim-expired',
      'license-expiry-alerts',
      'subscription-renewal',
      'trial-expiry',
      'compliance-scan',
      'audit-retention',
      'seat-reconcile',
      'audit-checkpoint',
      'lease-cull',
    ]);
    const ran = (await api.post('/jobs/inactivity-scan/run', {}).expect(200)).body;
    expect(ran).toMatchObject({
      name: 'inactivity-scan',
      startedAt: clock.now().toISOString(),
      result: { scheduled: expect.any(Number), released: expect.any(Number) },
    });
    const after = (await api.get('/jobs').expect(200)).body.items;
    expect(after.find((j: { name: string }) => j.name === 'inactivity-scan')).toMatchObject({
      runs: 1,
      failures: 0,
      lastRun: { result: ran.result },
      lastFailure: null,
    });
    await api.post('/jobs/no-such-job/run', {}).expect(404);
  });
});

describe('POST /activity', () => {
  test('idempotent on id, names unknown users, rejects events from the future', async () => {
    const u = await user();
    const events = [
      { userId: u, occurredAt: at(0), id: 'evt-a' },
      { userId: u, occurredAt: at(0), id: 'evt-a' },
      { userId: '00000000-0000-4000-8000-000000000009', occurredAt: at(0) },
      { userName: 'ghost@example.com', occurredAt: at(0) },
      { userId: u, occurredAt: at(1) },
      { occurredAt: at(0) },
    ];
    const first = (await api.post('/activity', { events }).expect(200)).body;
    expect(first).toEqual({
      accepted: 1,
      duplicates: 1,
      unknownUsers: ['00000000-0000-4000-8000-000000000009', 'ghost@example.com'],
      rejected: [
        { index: 4, id: null, reason: 'occurredAt is more than five minutes in the future' },
        { index: 5, id: null, reason: expect.stringMatching(/exactly one of userId and userName/) },
      ],
    });
    const again = (await api.post('/activity', { events: events.slice(0, 1) }).expect(200)).body;
    expect(again).toMatchObject({ accepted: 0, duplicates: 1 });
    // An event refused for an unknown user does not use up its id.
    const early = { userName: `later${n}@example.com`, occurredAt: at(0), id: `evt-later-${n}` };
    expect((await api.post('/activity', { events: [early] }).expect(200)).body.accepted).toBe(0);
    await scim
      .post('/Users', { schemas: [USER], userName: early.userName, active: true })
      .expect(201);
    expect((await api.post('/activity', { events: [early] }).expect(200)).body).toMatchObject({
      accepted: 1,
      duplicates: 0,
    });
    const stored = await withTenant(db.knex, tenant.id, (trx) =>
      trx('directory_users').where({ user_id: u }).first('last_active_at'),
    );
    expect(stored.last_active_at.toISOString()).toBe(at(0));
  });

  test('more than 1,000 events is 413 and records nothing', async () => {
    const u = await user();
    const events = Array.from({ length: 1001 }, (_, i) => ({
      userId: u,
      occurredAt: at(0),
      id: `big-${i}`,
    }));
    const res = await api.post('/activity', { events }).expect(413);
    expect(res.body.detail).toMatch(/at most 1000 events/);
    expect(
      (await api.post('/activity', { events: events.slice(0, 1) }).expect(200)).body.accepted,
    ).toBe(1);
  });
});
