// Node-locked licences (issue 18, second slice), end to end over HTTP: activation with a
// licence key (idempotent, also under concurrency), the machine limit, fingerprint
// validation, deactivation, the admin list and an audited transfer; another tenant's or
// another licence's machine is not found.
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { readAuditEvents } from '../../src/audit/read.js';
import { settleAudit } from '../../src/audit/settle.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';

let db: TestDb;
let a: CreatedTenant;
let b: CreatedTenant;
let api: ApiClient;
let apiB: ApiClient;
let app: ReturnType<typeof testApp>;
let product: string;
let productB: string;

beforeAll(async () => {
  db = await openTestDb();
  a = await newTenant(db.knex, 'Machines A');
  b = await newTenant(db.knex, 'Machines B');
  app = testApp(db.knex, undefined, { licenseKeys: { kek: new Uint8Array(randomBytes(32)) } });
  api = apiClient(app, a.apiToken);
  apiB = apiClient(app, b.apiToken);
  product = (await api.post('/products', { name: 'CAD' }).expect(201)).body.id;
  productB = (await apiB.post('/products', { name: 'CAD' }).expect(201)).body.id;
});
afterAll(() => db.close());

async function licence(on: ApiClient, productId: string, quantity: number | null) {
  const res = await on.post('/licenses', {
    productId,
    name: 'Node-locked',
    type: 'node-locked',
    quantity,
  });
  expect(res.status).toBe(201);
  const id = res.body.item.id as string;
  const key = (await on.post(`/licenses/${id}/keys`, {}).expect(201)).body.key as string;
  return { id, key };
}
const activate = (key: string, body: unknown) =>
  request(app)
    .post('/api/v1/machines')
    .set('Authorization', `License ${key}`)
    .send(body as object);
const validate = (key: string, body: unknown) =>
  request(app)
    .post('/api/v1/validate')
    .set('Authorization', `License ${key}`)
    .send(body as object);

describe('activation', () => {
  it('activates a machine once: the same fingerprint again answers 200 with the same machine', async () => {
    const l = await licence(api, product, 3);
    const first = await activate(l.key, { fingerprint: 'fp-1', name: 'build box' });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      id: expect.any(String),
      licenseId: l.id,
      name: 'build box',
      activatedAt: expect.any(String),
      deactivatedAt: null,
    });
    const again = await activate(l.key, { fingerprint: 'fp-1' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
  });

  it('makes one machine of ten parallel activations of one fingerprint', async () => {
    const l = await licence(api, product, 2);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => activate(l.key, { fingerprint: 'same-box' })),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([...Array(9).fill(200), 201]);
    expect(new Set(answers.map((r) => r.body.id)).size).toBe(1);
    const list = await api.get(`/licenses/${l.id}/machines`).expect(200);
    expect(list.body.total).toBe(1);
  });

  it('refuses an activation past the licence’s seats with 409 too_many_machines, and never over-allocates in parallel', async () => {
    const l = await licence(api, product, 3);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => activate(l.key, { fingerprint: `box-${i}` })),
    );
    expect(answers.filter((r) => r.status === 201)).toHaveLength(3);
    const refused = answers.filter((r) => r.status === 409);
    expect(refused).toHaveLength(5);
    expect(refused[0]!.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(refused[0]!.body.code).toBe('too_many_machines');
    expect((await api.get(`/licenses/${l.id}/machines`).expect(200)).body.total).toBe(3);
  });

  it('has no limit when the licence has no quantity', async () => {
    const l = await licence(api, product, null);
    for (let i = 0; i < 4; i++)
      expect((await activate(l.key, { fingerprint: `u-${i}` })).status).toBe(201);
  });

  it('stores the fingerprint’s SHA-256 digest, never the fingerprint', async () => {
    const l = await licence(api, product, 1);
    await activate(l.key, { fingerprint: 'SERIAL-XYZ-123' }).expect(201);
    const rows = await withTenant(db.knex, a.id, (trx) =>
      trx('machines').where({ tenant_id: a.id, license_id: l.id }).select('*'),
    );
    expect(JSON.stringify(rows)).not.toContain('SERIAL-XYZ-123');
    expect((rows[0].fingerprint_sha256 as Buffer).length).toBe(32);
  });

  it('has the database refuse a second active row of one fingerprint, the backstop behind the lock', async () => {
    const l = await licence(api, product, 5);
    await activate(l.key, { fingerprint: 'twice' }).expect(201);
    const [row] = await withTenant(db.knex, a.id, (trx) =>
      trx('machines').where({ tenant_id: a.id, license_id: l.id }).select('*'),
    );
    await expect(
      withTenant(db.knex, a.id, (trx) =>
        trx('machines').insert({ ...row, machine_id: '00000000-0000-4000-8000-0000000000aa' }),
      ),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('answers bad bodies with problem+json 400 and a bad key with 401', async () => {
    const l = await licence(api, product, 1);
    const bad = await activate(l.key, { fingerprint: '' });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect((await activate(l.key, { fingerprint: 'x', extra: 1 })).status).toBe(400);
    expect((await activate('not.a.key', { fingerprint: 'x' })).status).toBe(401);
    expect((await api.get(`/licenses/${l.id}/machines`)).body.total).toBe(0);
  });

  it('refuses activation with a suspended licence (403 suspended)', async () => {
    const l = await licence(api, product, 1);
    await api.post(`/licenses/${l.id}/suspend`, {}).expect(200);
    const res = await activate(l.key, { fingerprint: 'x' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('suspended');
  });
});

describe('validation with a fingerprint', () => {
  it('answers fingerprint_mismatch for a fingerprint that is not an active machine, and valid for one that is', async () => {
    const l = await licence(api, product, 2);
    await activate(l.key, { fingerprint: 'known' }).expect(201);
    expect((await validate(l.key, { fingerprint: 'known' })).body).toEqual({
      valid: true,
      code: 'valid',
    });
    expect((await validate(l.key, { fingerprint: 'unknown' })).body).toEqual({
      valid: false,
      code: 'fingerprint_mismatch',
    });
    // Without a fingerprint only the key and the licence count.
    expect((await validate(l.key, {})).body.code).toBe('valid');
  });

  it('answers too_many_machines for machines beyond seats cut after they activated, keeping the oldest', async () => {
    const l = await licence(api, product, 2);
    await activate(l.key, { fingerprint: 'old' }).expect(201);
    await activate(l.key, { fingerprint: 'new' }).expect(201);
    await api.patch(`/licenses/${l.id}`, { quantity: 1 }).expect(200);
    expect((await validate(l.key, { fingerprint: 'old' })).body.code).toBe('valid');
    expect((await validate(l.key, { fingerprint: 'new' })).body.code).toBe('too_many_machines');
  });

  it('answers fingerprint_mismatch once the machine is deactivated, and frees its place', async () => {
    const l = await licence(api, product, 1);
    const m = (await activate(l.key, { fingerprint: 'leaving' }).expect(201)).body;
    const del = await request(app)
      .delete(`/api/v1/machines/${m.id}`)
      .set('Authorization', `License ${l.key}`);
    expect(del.status).toBe(200);
    expect(del.body.deactivatedAt).toEqual(expect.any(String));
    expect((await validate(l.key, { fingerprint: 'leaving' })).body.code).toBe(
      'fingerprint_mismatch',
    );
    expect((await activate(l.key, { fingerprint: 'arriving' })).status).toBe(201);
  });
});

describe('isolation', () => {
  it('does not let one licence’s key deactivate another licence’s machine, nor another tenant see it', async () => {
    const l1 = await licence(api, product, 1);
    const l2 = await licence(api, product, 1);
    const lb = await licence(apiB, productB, 1);
    const m = (await activate(l1.key, { fingerprint: 'mine' }).expect(201)).body;
    for (const key of [l2.key, lb.key]) {
      const res = await request(app)
        .delete(`/api/v1/machines/${m.id}`)
        .set('Authorization', `License ${key}`);
      expect(res.status).toBe(404);
    }
    expect((await apiB.get(`/licenses/${l1.id}/machines`)).status).toBe(404);
    expect((await apiB.post(`/machines/${m.id}/transfer`, { licenseId: lb.id })).status).toBe(404);
    expect((await validate(l2.key, { fingerprint: 'mine' })).body.code).toBe(
      'fingerprint_mismatch',
    );
  });
});

describe('transfer', () => {
  it('moves a machine to another licence of its product, audited, and counts it there', async () => {
    const from = await licence(api, product, 2);
    const to = await licence(api, product, 1);
    const m = (await activate(from.key, { fingerprint: 'mover' }).expect(201)).body;
    const moved = await api.post(`/machines/${m.id}/transfer`, { licenseId: to.id });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ id: m.id, licenseId: to.id, deactivatedAt: null });
    expect((await validate(to.key, { fingerprint: 'mover' })).body.code).toBe('valid');
    expect((await validate(from.key, { fingerprint: 'mover' })).body.code).toBe(
      'fingerprint_mismatch',
    );
    // The target is now full.
    const other = (await activate(from.key, { fingerprint: 'second' }).expect(201)).body;
    const full = await api.post(`/machines/${other.id}/transfer`, { licenseId: to.id });
    expect(full.status).toBe(409);
    expect(full.body.code).toBe('too_many_machines');

    await settleAudit(db.knex, { tenantId: a.id });
    const events: Array<{ action: string; targetId: string | null; payload: unknown }> = [];
    for await (const e of readAuditEvents(db.knex, { tenantId: a.id })) events.push(e);
    const transfers = events.filter((e) => e.action === 'machine.transferred');
    expect(transfers).toEqual([
      expect.objectContaining({
        targetId: m.id,
        payload: { fromLicenseId: from.id, toLicenseId: to.id },
      }),
    ]);
    expect(events.some((e) => e.action === 'machine.activated' && e.targetId === m.id)).toBe(true);
  });

  it('lets only one of two parallel transfers take a licence’s last place', async () => {
    const from = await licence(api, product, 2);
    const to = await licence(api, product, 1);
    const m1 = (await activate(from.key, { fingerprint: 'race-1' }).expect(201)).body.id;
    const m2 = (await activate(from.key, { fingerprint: 'race-2' }).expect(201)).body.id;
    const answers = await Promise.all(
      [m1, m2].map((m) => api.post(`/machines/${m}/transfer`, { licenseId: to.id })),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    expect((await api.get(`/licenses/${to.id}/machines`).expect(200)).body.total).toBe(1);
  });

  it('refuses a transfer to another product’s licence or to an unknown licence', async () => {
    const from = await licence(api, product, 2);
    const other = (await api.post('/products', { name: 'Other' }).expect(201)).body.id;
    const to = await licence(api, other, 2);
    const m = (await activate(from.key, { fingerprint: 'p' }).expect(201)).body;
    expect((await api.post(`/machines/${m.id}/transfer`, { licenseId: to.id })).body.code).toBe(
      'product_mismatch',
    );
    expect(
      (
        await api.post(`/machines/${m.id}/transfer`, {
          licenseId: '00000000-0000-4000-8000-000000000000',
        })
      ).status,
    ).toBe(404);
    expect((await api.post(`/machines/${m.id}/transfer`, { licenseId: 'nope' })).status).toBe(400);
  });
});
