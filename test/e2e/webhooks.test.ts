// Webhooks end to end (issue 14, "Notifications"; the Standard Webhooks specification):
// a real receiver on 127.0.0.1 gets the events a change caused, signed so that the
// specification's published verifier (the `standardwebhooks` package) and the
// algorithm written out here from the specification both accept them; a failing
// receiver is retried on the schedule, alone; tenants never see each other's endpoints.
// Time is a clock the test moves (starting now, so the verifier's 5-minute tolerance
// holds); the worker's round is called directly: nothing sleeps.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { withTenant } from '../../src/db/tenant-scope.js';
import { reconcileTenant } from '../../src/licensing/full-reconcile.js';
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

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

let db: TestDb;
let tenant: CreatedTenant;
let other: CreatedTenant;
let scim: ScimClient;
let api: ApiClient;
let otherApi: ApiClient;
let receiver: http.Server;
let base: string;
const received: Received[] = [];
/** Statuses the receiver answers, per path, in turn; then 200. */
const answers = new Map<string, number[]>();
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
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({
        path,
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      // A little latency, so that concurrent workers overlap on real PostgreSQL.
      setTimeout(() => res.writeHead(answers.get(path)?.shift() ?? 200).end('ok'), 5);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
  await db.close();
});

/** The Standard Webhooks verification, written from the specification ("Verifying"). */
function verifyAsSpecified(secret: string, r: Received, nowSeconds: number): boolean {
  const id = r.headers['webhook-id']!;
  const timestamp = r.headers['webhook-timestamp']!;
  if (Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${r.body}`).digest();
  return r.headers['webhook-signature']!.split(' ').some((s) => {
    const [version, signature] = s.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

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
  (await client.post('/webhooks', { url: `${base}${path}`, events }).expect(201)).body as {
    id: string;
    secret: string;
  };
const at = (path: string) => received.filter((r) => r.path === path);
async function removeAll() {
  for (const w of (await api.get('/webhooks').expect(200)).body.items as Array<{ id: string }>)
    await api.delete(`/webhooks/${w.id}`).expect(204);
}
beforeEach(async () => {
  await removeAll();
  await deliver(); // whatever an earlier test left is settled before this one
  received.length = 0;
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
  expect(received).toHaveLength(2);
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
    .post('/webhooks', { url: `${base}/located`, events: ['seat.granted'] })
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
  answers.set('/flaky', [500]);
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
  answers.set('/bad', Array(MAX_ATTEMPTS).fill(503));
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
  answers.set('/off', [500]);
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
  expect(got).toMatchObject({ disabled: false, url: `${base}/mine` });
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

test("a seat's life reaches the receiver: granted, waitlisted, reclaim scheduled, restored, reclaimed, and the next in line granted (issue 14)", async () => {
  await endpoint('/life', [
    'seat.granted',
    'seat.waitlisted',
    'seat.reclaim_scheduled',
    'seat.restored',
    'seat.reclaimed',
  ]);
  const user = async () =>
    (
      await scim
        .post('/Users', { schemas: [USER], userName: `life${++n}@example.com`, active: true })
        .expect(201)
    ).body.id as string;
  const a = await user();
  const group = (
    await scim
      .post('/Groups', { schemas: [GROUP], displayName: `Life ${n}`, members: [{ value: a }] })
      .expect(201)
  ).body.id as string;
  const product = (await api.post('/products', { name: `Life ${n}` }).expect(201)).body.id;
  const licence = (
    await api
      .post('/licenses', {
        productId: product,
        name: `Life ${n}`,
        type: 'subscription',
        quantity: 1,
        reclaimGraceDays: 3,
      })
      .expect(201)
  ).body.item.id as string;
  // Delivered after each step: receivers are promised no order within a round.
  const steps: Array<Array<[string, unknown, unknown]>> = [];
  const step = async () => {
    received.length = 0;
    await deliver();
    const bodies = at('/life').map(
      (r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> },
    );
    for (const x of bodies) expect(x.data.licenseId).toBe(licence);
    steps.push(
      bodies
        .map((x): [string, unknown, unknown] => [x.type, x.data.userId, x.data.reason])
        .sort((p, q) => p[0].localeCompare(q[0])),
    );
  };
  await api.post('/rules', { licenseId: licence, groupId: group }).expect(201);
  await step();
  const b = await user();
  await scim
    .patchOps(`/Groups/${group}`, [{ op: 'add', path: 'members', value: [{ value: b }] }])
    .expect(204);
  await step();
  const active = async (on: boolean) => {
    clock.advance(1000);
    await scim.patchOps(`/Users/${a}`, [{ op: 'replace', path: 'active', value: on }]).expect(200);
    await step();
  };
  await active(false);
  await active(true);
  await active(false);
  clock.advance(4 * 86_400_000);
  await reconcileTenant(db.knex, tenant.id, { clock, actor: { type: 'job', id: 'test' } });
  await step();
  expect(steps).toEqual([
    [['seat.granted', a, 'eligible']],
    [['seat.waitlisted', b, 'pool_full']],
    [['seat.reclaim_scheduled', a, 'deprovisioned']],
    [['seat.restored', a, 'eligible_again']],
    [['seat.reclaim_scheduled', a, 'deprovisioned']],
    [
      ['seat.granted', b, 'seat_freed'],
      ['seat.reclaimed', a, 'deprovisioned'],
    ],
  ]);
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

test("an admin's seats reach the receiver: assigned into a full pool (waitlisted), released, transferred (issue 14)", async () => {
  await endpoint('/manual', ['seat.granted', 'seat.waitlisted', 'seat.released', 'seat.reclaimed']);
  const person = async () =>
    (
      await scim
        .post('/Users', { schemas: [USER], userName: `manual${++n}@example.com`, active: true })
        .expect(201)
    ).body.id as string;
  const [a, b, c] = [await person(), await person(), await person()];
  const product = (await api.post('/products', { name: `Manual ${n}` }).expect(201)).body.id;
  const licence = (
    await api
      .post('/licenses', {
        productId: product,
        name: `Manual ${n}`,
        type: 'subscription',
        quantity: 1,
      })
      .expect(201)
  ).body.item.id as string;
  const steps: string[][] = [];
  const step = async () => {
    clock.advance(1000);
    received.length = 0;
    await deliver();
    steps.push(
      at('/manual')
        .map((r) => JSON.parse(r.body) as { type: string; data: Record<string, string> })
        .map(
          (x) =>
            `${x.type} ${x.data.userId === a ? 'a' : x.data.userId === b ? 'b' : 'c'} ${x.data.reason}`,
        )
        .sort(),
    );
  };
  const seatA = (await api.post('/seats', { licenseId: licence, userId: a }).expect(201)).body.id;
  await step();
  await api.post('/seats', { licenseId: licence, userId: b }).expect(201);
  await step();
  await api.delete(`/seats/${seatA}`).expect(200);
  await step();
  const seatB = (
    (await api.get(`/licenses/${licence}/seats`).expect(200)).body.items as Array<{
      id: string;
      userId: string;
      state: string;
    }>
  ).find((s) => s.userId === b && s.state === 'active')!.id;
  await api.post(`/seats/${seatB}/transfer`, { userId: c }).expect(201);
  await step();
  expect(steps).toEqual([
    ['seat.granted a seat_freed'],
    ['seat.waitlisted b pool_full'],
    ['seat.granted b seat_freed', 'seat.released a released_by_admin'],
    ['seat.granted c transferred', 'seat.released b transferred'],
  ]);
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
