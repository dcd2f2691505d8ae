// Licence terms over time, through the admin API and the full reconcile: auto-renewing
// subscriptions keep their seats past their end date and report the next renewal; fixed
// terms expire after their grace period; maintenance ending revokes nothing; a licence
// not in force seats nobody from its line.
import { reconcileTenant } from '../../src/licensing/full-reconcile.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, userBody, type ScimClient } from '../support/scim.js';

let db: TestDb;
let app: ReturnType<typeof testApp>;
let tenant: CreatedTenant;
let scim: ScimClient;
let api: ApiClient;
let productId: string;
const clock = fixedClock('2026-06-01T09:00:00.000Z');

beforeAll(async () => {
  db = await openTestDb();
  app = testApp(db.knex, undefined, { clock });
});
afterAll(() => db.close());
// A tenant per test: the clock moves back and forth between tests, and a full reconcile
// must only see the licences of the test that runs it.
beforeEach(async () => {
  clock.set('2026-06-01T09:00:00.000Z');
  tenant = await newTenant(db.knex, `Terms ${expect.getState().currentTestName}`);
  scim = scimClient(app, tenant.scimToken);
  api = apiClient(app, tenant.apiToken);
  productId = (await api.post('/products', { name: 'Termed' }).expect(201)).body.id;
});

let n = 0;
/** A licence whose rule gives a seat to each of `users` fresh users; returns both. */
async function seated(terms: Record<string, unknown>, users = 2) {
  const ids: string[] = [];
  for (let i = 0; i < users; i++)
    ids.push((await scim.post('/Users', userBody(`term${++n}@example.com`)).expect(201)).body.id);
  const group = (
    await scim
      .post('/Groups', {
        schemas: [GROUP],
        displayName: `Term group ${n}`,
        members: ids.map((value) => ({ value })),
      })
      .expect(201)
  ).body.id;
  const created = await api.post('/licenses', {
    productId,
    name: `Term licence ${++n}`,
    type: 'subscription',
    quantity: 10,
    ...terms,
  });
  expect(created.status).toBe(201);
  const licenseId = created.body.item.id as string;
  await api.post('/rules', { licenseId, groupId: group }).expect(201);
  return { licenseId, users: ids };
}
const active = async (licenseId: string) =>
  (await api.get(`/licenses/${licenseId}/seats?state=active`).expect(200)).body.items.length;
const compliance = async (licenseId: string) =>
  (await api.get(`/licenses/${licenseId}/compliance`).expect(200)).body;
const fullReconcile = () => reconcileTenant(db.knex, tenant.id, { clock, actor: { type: 'job' } });

describe('an auto-renewing subscription', () => {
  test('keeps its seats past its end date, and reports the next renewal', async () => {
    const { licenseId } = await seated({
      startsAt: '2025-06-10T00:00:00Z',
      endsAt: '2026-06-10T00:00:00Z',
      autoRenew: true,
    });
    expect(await active(licenseId)).toBe(2);
    clock.set('2026-07-01T00:00:00Z');
    expect(await fullReconcile()).toEqual([]);
    expect(await active(licenseId)).toBe(2);
    const c = await compliance(licenseId);
    expect(c.statuses).toEqual(['compliant', 'under_utilised']);
    expect(c.term).toEqual({
      phase: 'active',
      autoRenew: true,
      currentTermStartsAt: '2026-06-10T00:00:00.000Z',
      currentTermEndsAt: '2027-06-10T00:00:00.000Z',
      nextRenewalAt: '2027-06-10T00:00:00.000Z',
      graceEndsAt: null,
      maintenanceEndsAt: null,
    });
  });

  test('is renewal due, not expiring or expired, inside the lead time', async () => {
    const { licenseId } = await seated({ endsAt: '2026-06-20T00:00:00Z', autoRenew: true });
    const c = await compliance(licenseId);
    expect(c.statuses).toContain('renewal_due');
    expect(c.statuses).not.toContain('expiring_soon');
    expect(c.term.nextRenewalAt).toBe('2026-06-20T00:00:00.000Z');
    clock.set('2027-06-01T00:00:00Z');
    expect((await compliance(licenseId)).term).toMatchObject({
      phase: 'renewal_due',
      nextRenewalAt: '2027-06-20T00:00:00.000Z',
    });
    const summary = (await api.get('/compliance').expect(200)).body;
    expect(summary).toMatchObject({ renewalDue: 1, expiringSoon: 0, expired: 0 });
  });

  test('switched off, runs to the end of the term running now rather than expiring at once', async () => {
    const { licenseId } = await seated({
      startsAt: '2024-01-01T00:00:00Z',
      endsAt: '2025-01-01T00:00:00Z',
      autoRenew: true,
    });
    const res = await api.patch(`/licenses/${licenseId}`, { autoRenew: false }).expect(200);
    expect(res.body.item).toMatchObject({
      autoRenew: false,
      startsAt: '2026-01-01T00:00:00.000Z',
      endsAt: '2027-01-01T00:00:00.000Z',
    });
    expect(res.body.seatChanges.changes).toEqual([]);
    clock.set('2026-12-15T00:00:00Z');
    expect((await compliance(licenseId)).statuses).toContain('expiring_soon');
    clock.set('2027-01-02T00:00:00Z');
    await fullReconcile();
    expect(await active(licenseId)).toBe(0);
  });
});

describe('a fixed term', () => {
  test('expires at its end date: the full reconcile releases its rule seats', async () => {
    const { licenseId } = await seated({ endsAt: '2026-06-10T00:00:00Z' });
    expect((await compliance(licenseId)).statuses).toContain('expiring_soon');
    clock.set('2026-07-01T00:00:00Z');
    const changes = await fullReconcile();
    expect(changes.map((c) => [c.licenseId, c.to, c.reason])).toEqual([
      [licenseId, 'released', 'license_expired'],
      [licenseId, 'released', 'license_expired'],
    ]);
    expect((await compliance(licenseId)).statuses).toEqual(['expired', 'under_utilised']);
  });

  test('keeps its seats usable through the grace period, saying so, then expires', async () => {
    const { licenseId, users } = await seated({ endsAt: '2026-06-10T00:00:00Z', graceDays: 10 });
    clock.set('2026-06-15T00:00:00Z');
    expect(await fullReconcile()).toEqual([]);
    expect(await active(licenseId)).toBe(2);
    const c = await compliance(licenseId);
    expect(c.statuses).toEqual(['compliant', 'in_grace', 'under_utilised']);
    expect(c.term.graceEndsAt).toBe('2026-06-20T00:00:00.000Z');
    const why = (await api.get(`/users/${users[0]}/seats`).expect(200)).body.seats[0].explanation;
    expect(why).toMatch(/ended on 2026-06-10 and is in its grace period until 2026-06-20/);
    clock.set('2026-06-20T00:00:01Z');
    expect((await fullReconcile()).map((c) => c.reason)).toEqual([
      'license_expired',
      'license_expired',
    ]);
  });

  test('renewed late by a new end date grants its seats again', async () => {
    const { licenseId } = await seated({ endsAt: '2026-05-01T00:00:00Z' });
    expect(await active(licenseId)).toBe(0);
    const res = await api.patch(`/licenses/${licenseId}`, { endsAt: '2027-05-01' }).expect(200);
    expect(res.body.seatChanges.summary.granted).toBe(2);
  });
});

describe('maintenance', () => {
  test('ending is reported and revokes nothing', async () => {
    const { licenseId } = await seated({ maintenanceEndsAt: '2026-03-01T00:00:00Z' });
    clock.set('2026-06-02T00:00:00Z');
    expect(await fullReconcile()).toEqual([]);
    expect(await active(licenseId)).toBe(2);
    expect((await compliance(licenseId)).statuses).toEqual([
      'compliant',
      'maintenance_expired',
      'under_utilised',
    ]);
  });
});

describe('a licence not in force', () => {
  test('queues a manual seat until it starts, explains why, and seats it when it does', async () => {
    const { licenseId } = await seated({ startsAt: '2026-07-01T00:00:00Z' }, 0);
    const u = (await scim.post('/Users', userBody(`term${++n}@example.com`)).expect(201)).body.id;
    const seat = await api.post('/seats', { licenseId, userId: u }).expect(201);
    expect(seat.body.state).toBe('waitlisted');
    const why = (await api.get(`/users/${u}/seats`).expect(200)).body.seats[0];
    expect(why.position).toBeNull();
    expect(why.explanation).toMatch(
      /waiting because the licence has not started yet \(it starts on 2026-07-01\)/,
    );
    expect((await compliance(licenseId)).statuses).toContain('not_started');
    clock.set('2026-07-01T00:00:00Z');
    expect((await fullReconcile()).map((c) => [c.userId, c.to, c.reason])).toEqual([
      [u, 'active', 'seat_freed'],
    ]);
  });

  test('after it expired, seats nobody from its line though the pool has room', async () => {
    const { licenseId } = await seated({ endsAt: '2026-05-01T00:00:00Z' }, 0);
    const u = (await scim.post('/Users', userBody(`term${++n}@example.com`)).expect(201)).body.id;
    expect((await api.post('/seats', { licenseId, userId: u }).expect(201)).body.state).toBe(
      'waitlisted',
    );
    const why = (await api.get(`/users/${u}/seats`).expect(200)).body.seats[0].explanation;
    expect(why).toMatch(/waiting because the licence has expired \(it ended on 2026-05-01\)/);
  });
});

describe('term dates', () => {
  test('an empty or negative term is refused, naming endsAt', async () => {
    for (const endsAt of ['2026-01-01T00:00:00Z', '2025-12-31T00:00:00Z']) {
      const res = await api.post('/licenses', {
        productId,
        name: 'Empty',
        type: 'subscription',
        quantity: 1,
        startsAt: '2026-01-01T00:00:00Z',
        endsAt,
        autoRenew: true,
      });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        {
          path: 'endsAt',
          message: 'endsAt must be after startsAt (a term cannot be empty or negative)',
        },
      ]);
    }
    const { licenseId } = await seated({ startsAt: '2026-01-01T00:00:00Z' }, 0);
    expect((await api.patch(`/licenses/${licenseId}`, { endsAt: '2026-01-01' })).status).toBe(400);
  });
});
