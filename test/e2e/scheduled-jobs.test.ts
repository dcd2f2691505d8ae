// The scheduled jobs of issue 14 that act on licences, end to end
// through POST /api/v1/jobs/{name}/run (the same runner the schedule uses): each job's
// effect, and that running it again (or twice at once) changes nothing more and
// notifies nobody twice. Time is a clock the test moves: nothing sleeps.
import { settleAudit } from '../../src/audit/index.js';
import { jobRunner } from '../../src/jobs/index.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, USER, type ScimClient } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let other: CreatedTenant;
let api: ApiClient;
let otherApi: ApiClient;
let scim: ScimClient;
const clock = fixedClock('2027-03-01T00:00:00.000Z');
const at = (iso: string) => clock.set(iso);

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Scheduled jobs');
  other = await newTenant(db.knex, 'Scheduled jobs, another tenant');
  const app = testApp(db.knex, undefined, { clock });
  api = apiClient(app, tenant.apiToken);
  otherApi = apiClient(app, other.apiToken);
  scim = scimClient(app, tenant.scimToken);
});
afterAll(() => db.close());

let n = 0;
async function licence(body: Record<string, unknown>, client = api): Promise<string> {
  const product = (await client.post('/products', { name: `Tool ${++n}` }).expect(201)).body.id;
  return (
    await client
      .post('/licenses', { productId: product, name: `Licence ${n}`, quantity: 10, ...body })
      .expect(201)
  ).body.item.id as string;
}
const run = async (name: string, client = api) =>
  (await client.post(`/jobs/${name}/run`, {}).expect(200)).body as {
    name: string;
    startedAt: string;
    finishedAt: string;
    result: Record<string, unknown>;
  };
/** Webhook events published for a licence, oldest first. */
async function events(licenseId: string, type: string, t: CreatedTenant = tenant) {
  return (await db
    .owner('outbox')
    .where({ tenant_id: t.id, channel: 'webhook', type })
    .whereRaw("payload->'data'->>'licenseId' = ?", [licenseId])
    .orderBy('created_at')
    .select('dedupe_key', 'payload')) as Array<{
    dedupe_key: string;
    payload: { type: string; data: Record<string, unknown> };
  }>;
}
/** Audit events of an action on a target, once everything queued is chained. */
async function audited(action: string, targetId: string, t: CreatedTenant = tenant) {
  await settleAudit(db.knex, { tenantId: t.id, wait: true });
  return (await db
    .owner('audit_events')
    .where({ tenant_id: t.id, action, target_id: targetId })
    .orderBy('seq')
    .select('body', 'actor_type', 'actor_id')) as Array<{
    body: Record<string, unknown>;
    actor_type: string;
    actor_id: string;
  }>;
}

describe('license-expiry-alerts', () => {
  test('publishes license.expiring once per lead time and term end, then license.expired once after the grace', async () => {
    at('2027-03-01T00:00:00.000Z');
    const id = await licence({
      type: 'subscription',
      startsAt: '2026-03-01',
      endsAt: '2027-04-10',
      graceDays: 2,
    });
    expect((await run('license-expiry-alerts')).result).toEqual({ expiring: 0, expired: 0 });
    at('2027-03-12T00:00:00.000Z'); // 29 days left: the 30-day alert
    expect((await run('license-expiry-alerts')).result).toEqual({ expiring: 1, expired: 0 });
    expect((await run('license-expiry-alerts')).result).toEqual({ expiring: 0, expired: 0 });
    at('2027-04-05T00:00:00.000Z'); // 5 days left: the 7-day alert
    await run('license-expiry-alerts');
    at('2027-04-09T12:00:00.000Z'); // half a day left: the 1-day alert
    await run('license-expiry-alerts');
    await run('license-expiry-alerts');
    const expiring = await events(id, 'license.expiring');
    expect(expiring.map((e) => e.payload.data.leadDays)).toEqual([30, 7, 1]);
    expect(expiring.map((e) => e.dedupe_key)).toEqual(
      [30, 7, 1].map((d) => `license.expiring:${id}:${d}:2027-04-10T00:00:00.000Z`),
    );
    expect(expiring[2]!.payload.data).toMatchObject({ endsAt: '2027-04-10T00:00:00.000Z' });
    expect(await audited('license.expiring', id)).toHaveLength(3);

    at('2027-04-11T00:00:00.000Z'); // ended, in its grace: not expired yet
    expect((await run('license-expiry-alerts')).result).toEqual({ expiring: 0, expired: 0 });
    at('2027-04-12T00:00:00.001Z'); // grace over
    expect((await run('license-expiry-alerts')).result).toEqual({ expiring: 0, expired: 1 });
    expect((await run('license-expiry-alerts')).result).toEqual({ expiring: 0, expired: 0 });
    expect(await events(id, 'license.expired')).toHaveLength(1);
    const [expired] = await audited('license.expired', id);
    expect(expired).toMatchObject({ actor_type: 'job', actor_id: 'license-expiry-alerts' });
  });

  test('honours the licence own lead times and ignores auto-renewing licences', async () => {
    at('2027-06-01T00:00:00.000Z');
    const custom = await licence({
      type: 'perpetual',
      endsAt: '2027-06-05',
      expiryAlertDays: [10],
    });
    const renewing = await licence({
      type: 'subscription',
      startsAt: '2026-06-05',
      endsAt: '2027-06-05',
      autoRenew: true,
    });
    expect((await api.get(`/licenses/${custom}`).expect(200)).body.expiryAlertDays).toEqual([10]);
    expect((await api.get(`/licenses/${renewing}`).expect(200)).body.expiryAlertDays).toEqual([
      30, 7, 1,
    ]);
    await run('license-expiry-alerts');
    expect((await events(custom, 'license.expiring')).map((e) => e.payload.data.leadDays)).toEqual([
      10,
    ]);
    expect(await events(renewing, 'license.expiring')).toEqual([]);
  });

  test('refuses lead times that are not distinct whole days of at least 1', async () => {
    const product = (await api.post('/products', { name: `Tool ${++n}` }).expect(201)).body.id;
    const base = { productId: product, name: 'Bad', type: 'perpetual', quantity: 1 };
    for (const expiryAlertDays of [
      [0],
      [7, 7],
      [1.5],
      'soon',
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    ]) {
      const res = await api.post('/licenses', { ...base, expiryAlertDays }).expect(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
  });
});

describe('subscription-renewal', () => {
  const yearly = {
    type: 'subscription',
    startsAt: '2026-05-01',
    endsAt: '2027-05-01',
    autoRenew: true,
  };

  test('stores the next term with an audit event and license.renewed, once however often it runs', async () => {
    at('2027-04-30T00:00:00.000Z');
    // A tenant of its own: the result counts every renewal of the tenant.
    const t = await newTenant(db.knex, 'Renewals');
    const tApi = apiClient(testApp(db.knex, undefined, { clock }), t.apiToken);
    const id = await licence(yearly, tApi);
    expect((await run('subscription-renewal', tApi)).result).toEqual({ renewed: 0 });
    at('2027-05-01T00:00:01.000Z');
    expect((await run('subscription-renewal', tApi)).result).toEqual({ renewed: 1 });
    expect((await run('subscription-renewal', tApi)).result).toEqual({ renewed: 0 });
    const terms = await db.owner('license_terms').where({ tenant_id: t.id, license_id: id });
    expect(terms).toEqual([
      expect.objectContaining({
        starts_at: new Date('2027-05-01T00:00:00.000Z'),
        ends_at: new Date('2028-05-01T00:00:00.000Z'),
        renewed_at: new Date('2027-05-01T00:00:01.000Z'),
      }),
    ]);
    const [renewed] = await audited('license.renewed', id, t);
    expect(renewed!.body).toEqual({
      licenseId: id,
      previousTermEndsAt: '2027-05-01T00:00:00.000Z',
      termStartsAt: '2027-05-01T00:00:00.000Z',
      termEndsAt: '2028-05-01T00:00:00.000Z',
    });
    expect(await events(id, 'license.renewed', t)).toHaveLength(1);
    const term = (await tApi.get(`/licenses/${id}/compliance`).expect(200)).body.term;
    expect(term).toMatchObject({
      currentTermStartsAt: '2027-05-01T00:00:00.000Z',
      currentTermEndsAt: '2028-05-01T00:00:00.000Z',
    });
    // The next year renews from the stored term; the history lists both, oldest first.
    at('2028-05-02T00:00:00.000Z');
    expect((await run('subscription-renewal', tApi)).result).toEqual({ renewed: 1 });
    const history = (await tApi.get(`/licenses/${id}/terms?limit=1`).expect(200)).body;
    expect(history).toMatchObject({
      total: 2,
      items: [
        {
          licenseId: id,
          startsAt: '2027-05-01T00:00:00.000Z',
          renewedAt: '2027-05-01T00:00:01.000Z',
        },
      ],
    });
    const next = (await tApi.get(`/licenses/${id}/terms?cursor=${history.nextCursor}`).expect(200))
      .body;
    expect(next).toMatchObject({
      nextCursor: null,
      items: [{ startsAt: '2028-05-01T00:00:00.000Z', endsAt: '2029-05-01T00:00:00.000Z' }],
    });
    // Another tenant's licence, or none, is not found.
    await api.get(`/licenses/${id}/terms`).expect(404);
    await tApi.get('/licenses/not-an-id/terms').expect(404);
  });

  test('switching auto-renew off after a stored renewal keeps the stored term; new dates drop it', async () => {
    at('2027-04-30T00:00:00.000Z');
    const t = await newTenant(db.knex, 'Renewals stopped');
    const tApi = apiClient(testApp(db.knex, undefined, { clock }), t.apiToken);
    const id = await licence(yearly, tApi);
    at('2027-06-01T00:00:00.000Z');
    expect((await run('subscription-renewal', tApi)).result).toEqual({ renewed: 1 });
    const stopped = (await tApi.patch(`/licenses/${id}`, { autoRenew: false }).expect(200)).body;
    expect(stopped.item).toMatchObject({
      startsAt: '2027-05-01T00:00:00.000Z',
      endsAt: '2028-05-01T00:00:00.000Z',
    });
    // Back on with new dates: the term is computed from them, not the stored renewal.
    await tApi
      .patch(`/licenses/${id}`, { autoRenew: true, startsAt: '2027-05-15', endsAt: '2027-06-15' })
      .expect(200);
    const term = (await tApi.get(`/licenses/${id}/compliance`).expect(200)).body.term;
    expect(term).toMatchObject({
      currentTermStartsAt: '2027-05-15T00:00:00.000Z',
      currentTermEndsAt: '2027-06-15T00:00:00.000Z',
    });
    // The renewal stays in the history.
    expect(
      await db.owner('license_terms').where({ tenant_id: t.id, license_id: id }).count(),
    ).toEqual([{ count: 1 }]);
  });

  test('two runs at once store one renewal and publish one event', async () => {
    at('2027-04-30T00:00:00.000Z');
    const id = await licence(yearly, otherApi);
    at('2027-05-02T00:00:00.000Z');
    const runner = jobRunner({ knex: db.knex, clock });
    const second = db.another(2);
    try {
      const runs = await Promise.all([
        runner.run('subscription-renewal', other.id),
        jobRunner({ knex: second, clock }).run('subscription-renewal', other.id),
      ]);
      expect(runs.map((r) => r.result.renewed).sort()).toEqual([0, 1]);
    } finally {
      await second.destroy();
    }
    expect(
      await db.owner('license_terms').where({ tenant_id: other.id, license_id: id }).count(),
    ).toEqual([{ count: 1 }]);
    expect(await events(id, 'license.renewed', other)).toHaveLength(1);
    expect(await audited('license.renewed', id, other)).toHaveLength(1);
  });
});

describe('two replicas', () => {
  test('running the alert and trial jobs twice at once notifies and audits once', async () => {
    at('2031-01-01T00:00:00.000Z');
    const t = await newTenant(db.knex, 'Replicas');
    const tApi = apiClient(testApp(db.knex, undefined, { clock }), t.apiToken);
    const ending = await licence({ type: 'perpetual', endsAt: '2031-01-05' }, tApi);
    const trial = await licence({ type: 'trial', endsAt: '2030-12-31' }, tApi);
    const second = db.another(2);
    try {
      const [one, two] = [jobRunner({ knex: db.knex, clock }), jobRunner({ knex: second, clock })];
      for (const job of ['license-expiry-alerts', 'trial-expiry'])
        await Promise.all([one.run(job, t.id), two.run(job, t.id)]);
    } finally {
      await second.destroy();
    }
    expect(await events(ending, 'license.expiring', t)).toHaveLength(1);
    expect(await audited('license.expiring', ending, t)).toHaveLength(1);
    expect(await events(trial, 'license.expired', t)).toHaveLength(1);
    expect(await audited('license.expired', trial, t)).toHaveLength(1);
  });
});

describe('trial-expiry', () => {
  test('releases every seat of a trial past its end, rule and manual alike, and publishes license.expired once', async () => {
    at('2027-07-01T00:00:00.000Z');
    const id = await licence({
      type: 'trial',
      quantity: 1,
      startsAt: '2027-06-01',
      endsAt: '2027-07-10',
    });
    const users: string[] = [];
    for (let i = 0; i < 3; i++)
      users.push(
        (
          await scim
            .post('/Users', { schemas: [USER], userName: `trial${++n}@example.com`, active: true })
            .expect(201)
        ).body.id,
      );
    const group = (
      await scim
        .post('/Groups', {
          schemas: [GROUP],
          displayName: `Trial team ${n}`,
          members: users.slice(0, 2).map((value) => ({ value })),
        })
        .expect(201)
    ).body.id;
    await api.post('/rules', { licenseId: id, groupId: group }).expect(201);
    await api.post('/seats', { licenseId: id, userId: users[2] }).expect(201);
    const live = async () =>
      (
        (await api.get(`/licenses/${id}/seats?limit=50`).expect(200)).body.items as Array<{
          state: string;
          releaseReason: string | null;
        }>
      ).filter((s) => s.state !== 'released');
    expect(await live()).toHaveLength(3); // one active, two waiting
    expect((await run('trial-expiry')).result).toEqual({ trials: 0, released: 0 });

    at('2027-07-10T00:00:00.001Z');
    expect((await run('trial-expiry')).result).toEqual({ trials: 1, released: 3 });
    expect(await live()).toEqual([]);
    const seats = (await api.get(`/licenses/${id}/seats?state=released`).expect(200)).body.items;
    expect(seats.map((s: { releaseReason: string }) => s.releaseReason)).toEqual([
      'trial_expired',
      'trial_expired',
      'trial_expired',
    ]);
    await settleAudit(db.knex, { tenantId: tenant.id, wait: true });
    const released = (await db
      .owner('audit_events')
      .where({ tenant_id: tenant.id, action: 'seat.released' })
      .whereRaw("body->>'licenseId' = ?", [id])
      .select('body')) as Array<{ body: { reason: string } }>;
    expect(released.map((e) => e.body.reason)).toEqual(Array(3).fill('trial_expired'));

    expect((await run('trial-expiry')).result).toEqual({ trials: 1, released: 0 });
    const expired = await events(id, 'license.expired');
    expect(expired).toHaveLength(1);
    expect(expired[0]!.payload.data).toMatchObject({ type: 'trial', seatsReleased: 3 });
    // The expiry alerts job sees the same end: still one event.
    await run('license-expiry-alerts');
    expect(await events(id, 'license.expired')).toHaveLength(1);
  });
});

describe('compliance-scan', () => {
  test('records a threshold crossing no reconcile recorded, and publishes it once', async () => {
    at('2027-08-01T00:00:00.000Z');
    // Crossings are published for webhook receivers only when an endpoint subscribes.
    await api
      .post('/webhooks', { url: 'http://127.0.0.1:9/hooks', events: ['license.threshold_crossed'] })
      .expect(201);
    const id = await licence({ type: 'subscription', quantity: 2, alertThresholds: [90] });
    const user = (
      await scim
        .post('/Users', { schemas: [USER], userName: `cs${++n}@example.com`, active: true })
        .expect(201)
    ).body.id;
    await api.post('/seats', { licenseId: id, userId: user }).expect(201);
    // 50 % used; lowering the threshold changes no seat, so no reconcile records it.
    await api.patch(`/licenses/${id}`, { alertThresholds: [50] }).expect(200);
    expect(await events(id, 'license.threshold_crossed')).toEqual([]);

    const first = await run('compliance-scan');
    expect(first.result).toMatchObject({ crossings: 1 });
    expect(first.result.licenses).toEqual(expect.any(Number));
    expect((await run('compliance-scan')).result).toMatchObject({ crossings: 0 });
    const published = await events(id, 'license.threshold_crossed');
    expect(published).toHaveLength(1);
    expect(published[0]!.payload.data).toMatchObject({ threshold: 50, used: 1, purchased: 2 });
    expect(await audited('license.threshold_crossed', id)).toHaveLength(1);
  });
});
