// Floating licences (issue 18, second slice), end to end over HTTP: check-out while the
// pool has room, a queue in arrival order when it is full, check-in serving position 1
// in the same transaction, heartbeats, the lease-cull job with injected time, lease
// validation codes, and isolation between licences and tenants.
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { readAuditEvents } from '../../src/audit/read.js';
import { settleAudit } from '../../src/audit/settle.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { directoryUserRows, newTenant } from '../support/fixtures.js';

const START = '2026-06-01T09:00:00.000Z';
const TTL_S = 120;
let db: TestDb;
let a: CreatedTenant;
let b: CreatedTenant;
let api: ApiClient;
let apiB: ApiClient;
let app: ReturnType<typeof testApp>;
let product: string;
let productB: string;
const clock = fixedClock(START);
// One KEK for both apps below: the tenant's signing keys are sealed with it.
const kek = new Uint8Array(randomBytes(32));

beforeAll(async () => {
  db = await openTestDb();
  a = await newTenant(db.knex, 'Leases A');
  b = await newTenant(db.knex, 'Leases B');
  app = testApp(db.knex, undefined, {
    clock,
    licenseKeys: { kek, leaseTtlSeconds: TTL_S },
  });
  api = apiClient(app, a.apiToken);
  apiB = apiClient(app, b.apiToken);
  product = (await api.post('/products', { name: 'Sim' }).expect(201)).body.id;
  productB = (await apiB.post('/products', { name: 'Sim' }).expect(201)).body.id;
});
afterAll(() => db.close());
afterEach(() => clock.set(START));

async function pool(quantity: number | null, on = api, productId = product) {
  const res = await on.post('/licenses', { productId, name: 'Pool', type: 'floating', quantity });
  expect(res.status).toBe(201);
  const id = res.body.item.id as string;
  const key = (await on.post(`/licenses/${id}/keys`, {}).expect(201)).body.key as string;
  return { id, key };
}
const as = (key: string) => ({
  checkOut: (body: unknown = {}) =>
    request(app)
      .post('/api/v1/leases')
      .set('Authorization', `License ${key}`)
      .send(body as object),
  get: (id: string) =>
    request(app).get(`/api/v1/leases/${id}`).set('Authorization', `License ${key}`),
  heartbeat: (id: string) =>
    request(app).post(`/api/v1/leases/${id}/heartbeat`).set('Authorization', `License ${key}`),
  checkIn: (id: string) =>
    request(app).delete(`/api/v1/leases/${id}`).set('Authorization', `License ${key}`),
  validate: (body: unknown) =>
    request(app)
      .post('/api/v1/validate')
      .set('Authorization', `License ${key}`)
      .send(body as object),
});
const later = (s: number) => new Date(new Date(START).getTime() + s * 1000).toISOString();

describe('check-out', () => {
  it('grants a lease while the pool has room, then queues in arrival order (202 with positions)', async () => {
    const l = as((await pool(1)).key);
    const first = await l.checkOut({ userName: 'ann' });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ id: expect.any(String), expiresAt: later(TTL_S) });
    const queued = [];
    for (let i = 0; i < 3; i++) queued.push(await l.checkOut());
    expect(queued.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(queued.map((r) => r.body.position)).toEqual([1, 2, 3]);
    expect(queued[0]!.body).toEqual({ queued: true, position: 1, id: expect.any(String) });
    expect((await l.get(queued[2]!.body.id)).body).toEqual({
      id: queued[2]!.body.id,
      status: 'queued',
      position: 3,
      expiresAt: later(TTL_S),
    });
  });

  it('serves position 1 when a lease is checked in, in the same request', async () => {
    const l = as((await pool(1)).key);
    const held = (await l.checkOut().expect(201)).body.id;
    const q1 = (await l.checkOut().expect(202)).body.id;
    const q2 = (await l.checkOut().expect(202)).body.id;
    const back = await l.checkIn(held);
    expect(back.status).toBe(200);
    expect(back.body).toEqual({ id: held, status: 'released' });
    expect((await l.get(q1)).body).toMatchObject({ status: 'active', expiresAt: later(TTL_S) });
    expect((await l.get(q2)).body).toMatchObject({ status: 'queued', position: 1 });
    // Checking in twice changes nothing.
    expect((await l.checkIn(held)).body.status).toBe('released');
    expect((await l.get(q2)).body.status).toBe('queued');
  });

  it('never grants more than the pool: 50 concurrent check-outs of a pool of 10 give 10 leases and positions 1..40', async () => {
    const p = await pool(10);
    const l = as(p.key);
    const answers = await Promise.all(Array.from({ length: 50 }, () => l.checkOut()));
    expect(answers.filter((r) => r.status === 201)).toHaveLength(10);
    const queued = answers.filter((r) => r.status === 202);
    expect(queued).toHaveLength(40);
    expect(queued.map((r) => r.body.position as number).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    // Arrival order is the order the pool's lock was taken: positions follow it.
    const rows = await withTenant(db.knex, a.id, (trx) =>
      trx('leases').where({ tenant_id: a.id, license_id: p.id, status: 'queued' }).orderBy('seq'),
    );
    const byId = new Map(queued.map((r) => [r.body.id as string, r.body.position as number]));
    expect(rows.map((r: { lease_id: string }) => byId.get(r.lease_id))).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    const first = queued.find((r) => r.body.position === 1)!.body.id;
    const active = answers.find((r) => r.status === 201)!.body.id;
    await l.checkIn(active).expect(200);
    expect((await l.get(first)).body.status).toBe('active');
  });

  it('lets a queued request leave the queue: those behind it move up', async () => {
    const l = as((await pool(1)).key);
    await l.checkOut().expect(201);
    const q1 = (await l.checkOut().expect(202)).body.id;
    const q2 = (await l.checkOut().expect(202)).body.id;
    expect((await l.checkIn(q1)).body).toEqual({ id: q1, status: 'released' });
    expect((await l.get(q2)).body).toMatchObject({ status: 'queued', position: 1 });
  });

  it('has no queue when the licence has no quantity', async () => {
    const l = as((await pool(null)).key);
    for (let i = 0; i < 3; i++) expect((await l.checkOut()).status).toBe(201);
  });

  it('gives a retried check-out with the same fingerprint the same lease', async () => {
    const l = as((await pool(2)).key);
    const one = await l.checkOut({ fingerprint: 'host-1' });
    const again = await l.checkOut({ fingerprint: 'host-1' });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(one.body.id);
  });

  it('answers a bad body with 400 problem+json, and refuses a suspended licence with 403', async () => {
    const p = await pool(1);
    const l = as(p.key);
    const bad = await l.checkOut({ userName: 42 });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    await api.post(`/licenses/${p.id}/suspend`, {}).expect(200);
    expect((await l.checkOut()).body.code).toBe('suspended');
  });
});

describe('heartbeat and expiry', () => {
  it('moves expiresAt later with each heartbeat, queued requests included', async () => {
    const l = as((await pool(1)).key);
    const held = (await l.checkOut().expect(201)).body.id;
    const waiting = (await l.checkOut().expect(202)).body.id;
    clock.advance(60_000);
    const beat = await l.heartbeat(held);
    expect(beat.status).toBe(200);
    expect(beat.body).toEqual({ id: held, status: 'active', expiresAt: later(60 + TTL_S) });
    expect((await l.heartbeat(waiting)).body).toEqual({
      id: waiting,
      status: 'queued',
      position: 1,
      expiresAt: later(60 + TTL_S),
    });
  });

  it('culls an expired lease with the lease-cull job and serves the next in line', async () => {
    // A tenant of its own: the job culls every pool of the tenant.
    const c = await newTenant(db.knex, 'Leases C');
    const apiC = apiClient(app, c.apiToken);
    const productC = (await apiC.post('/products', { name: 'Sim' }).expect(201)).body.id;
    const l = as((await pool(1, apiC, productC)).key);
    const held = (await l.checkOut().expect(201)).body.id;
    const waiting = (await l.checkOut().expect(202)).body.id;
    const silent = (await l.checkOut().expect(202)).body.id;
    clock.advance((TTL_S - 10) * 1000);
    await l.heartbeat(waiting).expect(200);
    clock.advance(20_000); // held and silent are now past their deadline; waiting is not.
    const run = await apiC.post('/jobs/lease-cull/run', {});
    expect(run.status).toBe(200);
    expect(run.body.result).toEqual({ licences: 1, expired: 2, served: 1 });
    expect((await l.get(held)).body).toEqual({ id: held, status: 'expired' });
    expect((await l.get(silent)).body).toEqual({ id: silent, status: 'expired' });
    expect((await l.get(waiting)).body).toMatchObject({ status: 'active' });
    const late = await l.heartbeat(held);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('lease_expired');

    await settleAudit(db.knex, { tenantId: c.id });
    const events: Array<{ action: string; targetId: string | null }> = [];
    for await (const e of readAuditEvents(db.knex, { tenantId: c.id })) events.push(e);
    const mine = events.filter((e) => [held, waiting, silent].includes(e.targetId ?? ''));
    expect(mine.map((e) => `${e.action} ${[held, waiting, silent].indexOf(e.targetId!)}`)).toEqual([
      'lease.checked_out 0',
      'lease.queued 1',
      'lease.queued 2',
      'lease.expired 0',
      'lease.expired 2',
      'lease.checked_out 1',
    ]);
  });
});

describe('validation with a lease', () => {
  it('answers valid for an active lease, lease_expired past its deadline, no_lease otherwise', async () => {
    const l = as((await pool(1)).key);
    const held = (await l.checkOut().expect(201)).body.id;
    const waiting = (await l.checkOut().expect(202)).body.id;
    expect((await l.validate({ lease: held })).body).toEqual({ valid: true, code: 'valid' });
    expect((await l.validate({ lease: waiting })).body.code).toBe('no_lease');
    expect((await l.validate({ lease: 'not-a-lease' })).body.code).toBe('no_lease');
    clock.advance((TTL_S + 1) * 1000);
    expect((await l.validate({ lease: held })).body).toEqual({
      valid: false,
      code: 'lease_expired',
    });
    await l.checkIn(held).expect(200); // already expired: it stays expired
    expect((await l.validate({ lease: held })).body.code).toBe('lease_expired');
  });

  it('answers no_lease for a released lease', async () => {
    const l = as((await pool(2)).key);
    const held = (await l.checkOut().expect(201)).body.id;
    await l.checkIn(held).expect(200);
    expect((await l.validate({ lease: held })).body.code).toBe('no_lease');
  });
});

describe('isolation', () => {
  it('does not show, beat or check in another licence’s or another tenant’s lease', async () => {
    const mine = as((await pool(1)).key);
    const sibling = as((await pool(1)).key);
    const foreign = as((await pool(1, apiB, productB)).key);
    const held = (await mine.checkOut().expect(201)).body.id;
    for (const other of [sibling, foreign]) {
      expect((await other.get(held)).status).toBe(404);
      expect((await other.heartbeat(held)).status).toBe(404);
      expect((await other.checkIn(held)).status).toBe(404);
      expect((await other.validate({ lease: held })).body.code).toBe('no_lease');
    }
    expect((await mine.get(held)).body.status).toBe('active');
  });
});

describe('rate limits and activity', () => {
  it('never refuses ten clients checking out of one pool at once, while validation keeps its own limit', async () => {
    const strict = testApp(db.knex, undefined, {
      clock,
      licenseKeys: { kek, validationsPerMinute: 3 },
    });
    const strictApi = apiClient(strict, a.apiToken);
    const id = (
      await strictApi.post('/licenses', {
        productId: product,
        name: 'P',
        type: 'floating',
        quantity: 10,
      })
    ).body.item.id;
    const key = (await strictApi.post(`/licenses/${id}/keys`, {}).expect(201)).body.key;
    const out = await Promise.all(
      Array.from({ length: 10 }, () =>
        request(strict).post('/api/v1/leases').set('Authorization', `License ${key}`).send({}),
      ),
    );
    expect(out.map((r) => r.status)).toEqual(Array(10).fill(201));
    const beats = await Promise.all(
      out.map((r) =>
        request(strict)
          .post(`/api/v1/leases/${r.body.id}/heartbeat`)
          .set('Authorization', `License ${key}`),
      ),
    );
    expect(beats.map((r) => r.status)).toEqual(Array(10).fill(200));
    const checks = [];
    for (let i = 0; i < 4; i++)
      checks.push(
        (
          await request(strict)
            .post('/api/v1/validate')
            .set('Authorization', `License ${key}`)
            .send({})
        ).status,
      );
    expect(checks).toEqual([200, 200, 200, 429]);
  });

  it('records a heartbeat naming a directory user as that user’s activity on the product', async () => {
    const [user] = directoryUserRows(a.id, 1, new Date(START));
    await withTenant(db.knex, a.id, (trx) => trx('directory_users').insert(user!));
    const l = as((await pool(1)).key);
    const held = (await l.checkOut({ userName: user!.user_name.toUpperCase() }).expect(201)).body
      .id;
    clock.advance(30_000);
    await l.heartbeat(held).expect(200);
    const seen = await withTenant(db.knex, a.id, (trx) =>
      trx('user_activity').where({ tenant_id: a.id, user_id: user!.user_id }).first(),
    );
    expect(seen.product_id).toBe(product);
    expect(new Date(seen.last_active_at).toISOString()).toBe(later(30));
    // An unknown name is no error: the heartbeat is what matters.
    const anon = (await l.checkOut({ userName: 'nobody@example.com' }).expect(202)).body.id;
    await l.heartbeat(anon).expect(200);
  });
});
