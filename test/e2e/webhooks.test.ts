// Webhooks end to end (issue 14, "Notifications"; the Standard Webhooks specification):
// a real receiver on 127.0.0.1 gets the events a change caused, signed so that the
// specification's published verifier (the `standardwebhooks` package) and the
// algorithm written out from the specification (test/support/webhook-receiver.ts) both
// accept them; a failing receiver is retried on the schedule, alone; tenants never see
// each other's endpoints. The events of a seat's whole life: webhook-events.test.ts.
// Time is a clock the test moves (starting now, so the verifier's 5-minute tolerance
// holds); the worker's round is called directly: nothing sleeps.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { withTenant } from '../../src/db/tenant-scope.js';
import {
  deliverDueWebhooks,
  MAX_ATTEMPTS,
  publishEvents,
  RETRY_DELAYS_MS,
  SECRET_OVERLAP_MS,
} from '../../src/notifications/index.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, USER, type ScimClient } from '../support/scim.js';
import { startReceiver, verifyAsSpecified, type Receiver } from '../support/webhook-receiver.js';

let db: TestDb;
let tenant: CreatedTenant;
let other: CreatedTenant;
let scim: ScimClient;
let api: ApiClient;
let otherApi: ApiClient;
let receiver: Receiver;
const clock = fixedClock(new Date(Math.floor(Date.now() / 1000) * 1000));
const secretKey = new Uint8Array(randomBytes(32));
const deliver = (knex = db.knex) =>
  deliverDueWebhooks(knex, { clock, secretKey, allowPrivateUrls: true });

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Webhooks');
  other = await newTenant(db.knex, 'Webhooks other');
  const app = testApp(db.knex, undefined, {
    clock,
    webhooks: { secretKey, allowPrivateUrls: true },
  });
  scim = scimClient(app, tenant.scimToken);
  api = apiClient(app, tenant.apiToken);
  otherApi = apiClient(app, other.apiToken);
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await db.close();
});

let n = 0;
/** A user in a new group whose rule grants a seat of a new licence of `quantity`. */
async function grant(quantity = 5) {
  const user = (
    await scim
      .post('/Users', { schemas: [USER], userName: `hook${++n}@example.com`, active: true })
      .expect(201)
  ).body.id as string;
  const group = (
    await scim
      .post('/Groups', { schemas: [GROUP], displayName: `Hooked ${n}`, members: [{ value: user }] })
      .expect(201)
  ).body.id as string;
  const product = (await api.post('/products', { name: `Hooked ${n}` }).expect(201)).body.id;
  const licence = (
    await api
      .post('/licenses', {
        productId: product,
        name: `Hooked ${n}`,
        type: 'subscription',
        quantity,
      })
      .expect(201)
  ).body.item.id as string;
  await api.post('/rules', { licenseId: licence, groupId: group }).expect(201);
  const seats = (await api.get(`/licenses/${licence}/seats`).expect(200)).body.items as Array<{
    id: string;
  }>;
  return { user, licence, seat: seats[0]!.id };
}
const endpoint = async (path: string, events: string[], client = api) =>
  (await client.post('/webhooks', { url: `${receiver.base}${path}`, events }).expect(201)).body as {
    id: string;
    secret: string;
  };
const at = (path: string) => receiver.at(path);
async function removeAll() {
  for (const w of (await api.get('/webhooks').expect(200)).body.items as Array<{ id: string }>)
    await api.delete(`/webhooks/${w.id}`).expect(204);
}
beforeEach(async () => {
  await removeAll();
  await deliver(); // whatever an earlier test left is settled before this one
  receiver.received.length = 0;
});

test('webhook signature verifies with the Standard Webhooks algorithm: a rule grants a seat and the receiver gets seat.granted (issue 14)', async () => {
  const hook = await endpoint('/granted', ['seat.granted']);
  const alerts = await endpoint('/alerts', ['license.threshold_crossed']);
  expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  const { user, licence, seat } = await grant(1);
  expect(await deliver()).toBe(2);

  const [r] = at('/granted');
  expect(at('/granted')).toHaveLength(1);
  // The specification's published verifier accepts it, and so does its algorithm.
  const payload = new Webhook(hook.secret).verify(r!.body, r!.headers) as Record<string, unknown>;
  expect(verifyAsSpecified(hook.secret, r!, Math.floor(clock.now().getTime() / 1000))).toBe(true);
  expect(verifyAsSpecified(alerts.secret, r!, Math.floor(clock.now().getTime() / 1000))).toBe(
    false,
  );
  expect(r!.headers['content-type']).toBe('application/json');
  expect(r!.headers['webhook-timestamp']).toBe(String(clock.now().getTime() / 1000));
  expect(payload).toEqual({
    type: 'seat.granted',
    timestamp: clock.now().toISOString(),
    data: expect.objectContaining({
      seatId: seat,
      userId: user,
      licenseId: licence,
      from: null,
      to: 'active',
      reason: 'eligible',
    }),
  });
  // One seat of one: 100 % used, the licence's thresholds crossed, told to the other.
  const [alert] = at('/alerts');
  const crossed = new Webhook(alerts.secret).verify(alert!.body, alert!.headers);
  expect(crossed).toMatchObject({
    type: 'license.threshold_crossed',
    data: { licenseId: licence, threshold: 100, used: 1, purchased: 1 },
  });
  // Delivered: the next round has nothing to send.
  expect(await deliver()).toBe(0);
  expect(receiver.received).toHaveLength(2);
});

test('a tenant without a subscribed endpoint pays no outbox row for its seat changes (issue 14: cost)', async () => {
  await endpoint('/elsewhere', ['license.expired']);
  const count = async () =>
    Number(
      (
        await db
          .owner('outbox')
          .where({ tenant_id: tenant.id, channel: 'webhook' })
          .count({ n: '*' })
      )[0]!.n,
    );
  const before = await count();
  await grant(1);
  expect(await count()).toBe(before);
});

test('POST /webhooks answers its Location and a secret no read shows again (issue 14)', async () => {
  const res = await api
    .post('/webhooks', { url: `${receiver.base}/located`, events: ['seat.granted'] })
    .expect(201);
  expect(res.headers.location).toBe(`http://localhost/api/v1/webhooks/${res.body.id}`);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body.secret).toMatch(/^whsec_/);
  const list = (await api.get('/webhooks').expect(200)).body;
  expect(JSON.stringify(list)).not.toContain('whsec_');
  expect(list).toMatchObject({ total: 1, nextCursor: null });
});

test('a failing receiver is retried within 10 s, signed anew, and the deliveries log shows both attempts (issue 14)', async () => {
  const hook = await endpoint('/flaky', ['seat.granted']);
  receiver.answers.set('/flaky', [500]);
  await grant();
  expect(await deliver()).toBe(1);
  expect(await deliver()).toBe(0); // not due yet
  clock.advance(RETRY_DELAYS_MS[0]!);
  expect(RETRY_DELAYS_MS[0]).toBeLessThanOrEqual(10_000);
  expect(await deliver()).toBe(1);
  const [first, second] = at('/flaky');
  expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
  expect(Number(second!.headers['webhook-timestamp'])).toBe(
    Number(first!.headers['webhook-timestamp']) + RETRY_DELAYS_MS[0]! / 1000,
  );
  expect(second!.headers['webhook-signature']).not.toBe(first!.headers['webhook-signature']);
  new Webhook(hook.secret).verify(second!.body, second!.headers);

  const log = (await api.get(`/webhooks/${hook.id}/deliveries`).expect(200)).body;
  expect(log).toEqual({
    items: [
      expect.objectContaining({ attempt: 2, status: 200, error: null, type: 'seat.granted' }),
      expect.objectContaining({ attempt: 1, status: 500, error: null, type: 'seat.granted' }),
    ],
    total: 2,
    nextCursor: null,
  });
  expect(log.items[0].messageId).toBe(first!.headers['webhook-id']);
  const page = (await api.get(`/webhooks/${hook.id}/deliveries?limit=1`).expect(200)).body;
  expect(page.items.map((d: { attempt: number }) => d.attempt)).toEqual([2]);
  const rest = (
    await api.get(`/webhooks/${hook.id}/deliveries?limit=1&cursor=${page.nextCursor}`).expect(200)
  ).body;
  expect(rest.items.map((d: { attempt: number }) => d.attempt)).toEqual([1]);
  expect(rest.nextCursor).toBeNull();
});

test('a failing endpoint is retried alone on the schedule until its attempts run out; the others got it once and SCIM writes never waited (issue 14)', async () => {
  const good = await endpoint('/good', ['seat.granted']);
  const bad = await endpoint('/bad', ['seat.granted']);
  // Nothing listens here: the connection is refused.
  const dead = (
    await api
      .post('/webhooks', { url: 'http://127.0.0.1:9/', events: ['seat.granted'] })
      .expect(201)
  ).body.id as string;
  receiver.answers.set('/bad', Array(MAX_ATTEMPTS).fill(503));
  await grant();
  await deliver();
  expect(at('/good')).toHaveLength(1);
  for (const delay of RETRY_DELAYS_MS) {
    clock.advance(delay);
    await deliver();
  }
  expect(at('/good')).toHaveLength(1);
  expect(at('/bad')).toHaveLength(MAX_ATTEMPTS);
  expect(MAX_ATTEMPTS).toBe(8);
  clock.advance(86_400_000);
  expect(await deliver()).toBe(0);
  const goodLog = (await api.get(`/webhooks/${good.id}/deliveries`).expect(200)).body;
  expect(goodLog.total).toBe(1);
  const badLog = (await api.get(`/webhooks/${bad.id}/deliveries`).expect(200)).body;
  expect(badLog.items.map((d: { attempt: number }) => d.attempt)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
  const deadLog = (await api.get(`/webhooks/${dead}/deliveries`).expect(200)).body;
  expect(deadLog.total).toBe(MAX_ATTEMPTS);
  expect(deadLog.items[0]).toMatchObject({
    status: null,
    error: expect.stringMatching(/ECONNREFUSED/),
  });
  // Every target done: the outbox message counts as delivered.
  const pending = await db
    .owner('outbox')
    .where({ tenant_id: tenant.id, channel: 'webhook' })
    .whereNull('delivered_at');
  expect(pending).toEqual([]);
});

test('a change that rolled back delivers nothing; an endpoint not subscribed to a type gets none of it (issue 14)', async () => {
  await endpoint('/all', ['seat.granted', 'license.expired']);
  await endpoint('/waitlist', ['seat.waitlisted']);
  await expect(
    withTenant(db.knex, tenant.id, async (trx) => {
      await publishEvents(
        trx,
        tenant.id,
        [{ type: 'license.expired', data: { licenseId: 'x' }, dedupeKey: 'rolled-back' }],
        clock.now(),
      );
      throw new Error('the change failed');
    }),
  ).rejects.toThrow('the change failed');
  await grant();
  await deliver();
  expect(at('/all').map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual([
    'seat.granted',
  ]);
  expect(at('/waitlist')).toEqual([]);
});

test('disabling an endpoint stops its deliveries and drops its pending retries (issue 14)', async () => {
  const hook = await endpoint('/off', ['seat.granted']);
  receiver.answers.set('/off', [500]);
  await grant();
  await deliver();
  await api.patch(`/webhooks/${hook.id}`, { disabled: true }).expect(200);
  clock.advance(RETRY_DELAYS_MS[0]!);
  await grant();
  await deliver();
  expect(at('/off')).toHaveLength(1);
  const pending = await db
    .owner('outbox')
    .where({ tenant_id: tenant.id, channel: 'webhook' })
    .whereNull('delivered_at');
  expect(pending).toEqual([]);
});

test('another tenant can neither see nor change an endpoint (issue 14; tenants never see each other)', async () => {
  const hook = await endpoint('/mine', ['seat.granted']);
  const theirs = await endpoint('/theirs', ['seat.granted'], otherApi);
  expect(
    (await otherApi.get('/webhooks').expect(200)).body.items.map((w: { id: string }) => w.id),
  ).toEqual([theirs.id]);
  for (const res of [
    await otherApi.get(`/webhooks/${hook.id}`),
    await otherApi.patch(`/webhooks/${hook.id}`, { disabled: true }),
    await otherApi.delete(`/webhooks/${hook.id}`),
    await otherApi.get(`/webhooks/${hook.id}/deliveries`),
  ]) {
    expect(res.status).toBe(404);
    expect(res.type).toBe('application/problem+json');
  }
  // This tenant's grant reaches only this tenant's endpoint.
  await grant();
  await deliver();
  expect(at('/mine')).toHaveLength(1);
  expect(at('/theirs')).toEqual([]);
  const got = (await api.get(`/webhooks/${hook.id}`).expect(200)).body;
  expect(got).toMatchObject({ disabled: false, url: `${receiver.base}/mine` });
  expect(got).not.toHaveProperty('secret');
  await otherApi.delete(`/webhooks/${theirs.id}`).expect(204);
});

test('a backlog larger than a batch drains in one round, each message once (issue 14)', async () => {
  await endpoint('/backlog', ['license.expired']);
  await withTenant(db.knex, tenant.id, (trx) =>
    publishEvents(
      trx,
      tenant.id,
      Array.from({ length: 120 }, (_, i) => ({
        type: 'license.expired' as const,
        data: { licenseId: `l${i}` },
        dedupeKey: `backlog-${i}`,
      })),
      clock.now(),
    ),
  );
  expect(await deliver()).toBe(120);
  expect(new Set(at('/backlog').map((r) => r.headers['webhook-id'])).size).toBe(120);
});

test('two workers running at once deliver each message once per endpoint (issue 14: outbox claims)', async () => {
  await endpoint('/one', ['seat.granted']);
  await endpoint('/two', ['seat.granted']);
  for (let i = 0; i < 6; i++) await grant();
  const second = db.another(5);
  const [a, b] = await Promise.all([deliver(db.knex), deliver(second)]);
  expect(a + b).toBe(12);
  expect(await deliver()).toBe(0);
  for (const path of ['/one', '/two']) {
    const ids = at(path).map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
  }
});

test('creating, changing and deleting an endpoint are audited, never with its secret (issue 14)', async () => {
  const hook = await endpoint('/audited', ['seat.granted']);
  await api.patch(`/webhooks/${hook.id}`, { events: ['seat.reclaimed'] }).expect(200);
  const rotated = (await api.post(`/webhooks/${hook.id}/rotate-secret`, {}).expect(200)).body;
  await api.delete(`/webhooks/${hook.id}`).expect(204);
  const events = await db
    .owner('audit_events')
    .where({ tenant_id: tenant.id, target_type: 'webhook', target_id: hook.id })
    .orderBy('seq');
  expect(events.map((e: { action: string }) => e.action)).toEqual([
    'webhook.created',
    'webhook.updated',
    'webhook.secret_rotated',
    'webhook.deleted',
  ]);
  expect(JSON.stringify(events)).not.toContain(hook.secret.slice(6));
  expect(JSON.stringify(events)).not.toContain(rotated.secret.slice(6));
});

test('a rotated secret signs beside the old one for a day, then alone (issue 14; Standard Webhooks: several signatures)', async () => {
  const hook = await endpoint('/rotated', ['seat.granted']);
  const rotated = (await api.post(`/webhooks/${hook.id}/rotate-secret`, {}).expect(200)).body;
  expect(rotated.secret).toMatch(/^whsec_/);
  expect(rotated.secret).not.toBe(hook.secret);
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);
  await grant();
  await deliver();
  const [during] = at('/rotated');
  expect(during!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
  expect(verifyAsSpecified(rotated.secret, during!, nowSeconds())).toBe(true);
  expect(verifyAsSpecified(hook.secret, during!, nowSeconds())).toBe(true);
  clock.advance(SECRET_OVERLAP_MS + 1000);
  await grant();
  await deliver();
  const after = at('/rotated')[1]!;
  expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
  expect(verifyAsSpecified(rotated.secret, after, nowSeconds())).toBe(true);
  expect(verifyAsSpecified(hook.secret, after, nowSeconds())).toBe(false);
  await otherApi.post(`/webhooks/${hook.id}/rotate-secret`, {}).expect(404);
});
