// The OpenAPI document tells the truth about responses: every documented operation is
// called over HTTP on a seeded tenant (seats in every state, licences in every term
// phase), and each real answer, errors included, must match the schema the document
// declares for its route and status. Finally, every documented success answer must
// have been seen, so an operation added to the document without a check here fails.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import request, { type Response } from 'supertest';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { openApiChecker } from '../support/openapi.js';
import { ENTERPRISE, GROUP, scimClient, USER, type ScimClient } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;
let api: ApiClient;
let checker: ReturnType<typeof openApiChecker>;
let app: ReturnType<typeof testApp>;
const clock = fixedClock('2026-06-01T09:00:00.000Z');

type Method = 'get' | 'post' | 'patch' | 'delete';
/** Call the API and check the answer against the document. */
async function call(method: Method, path: string, body?: unknown, client = api) {
  const res: Response =
    method === 'get' || method === 'delete'
      ? await client[method](path)
      : await client[method](path, body ?? {});
  checker.check(method, path, res);
  return res;
}

/** The seeded tenant's ids, by what they are. */
type Seeded =
  | 'alice'
  | 'all'
  | 'bob'
  | 'carol'
  | 'dave'
  | 'design'
  | 'eng'
  | 'erin'
  | 'expired'
  | 'future'
  | 'futureSeat'
  | 'graced'
  | 'manual'
  | 'manualSeat'
  | 'pool'
  | 'poolRule'
  | 'product'
  | 'renewing';
const seeded = {} as Record<Seeded, string>;

async function user(name: string, department: string, extra: Record<string, unknown> = {}) {
  const res = await scim
    .post('/Users', {
      schemas: [USER, ENTERPRISE],
      userName: `${name}@example.com`,
      [ENTERPRISE]: { department },
      ...extra,
    })
    .expect(201);
  return res.body.id as string;
}
async function group(displayName: string, members: string[]) {
  const res = await scim
    .post('/Groups', {
      schemas: [GROUP],
      displayName,
      members: members.map((value) => ({ value })),
    })
    .expect(201);
  return res.body.id as string;
}
async function licence(name: string, productId: string, extra: Record<string, unknown>) {
  const res = await call('post', '/licenses', {
    productId,
    name,
    type: 'subscription',
    quantity: 5,
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.body.item.id as string;
}
/**
 * A product of its own for a licence: a user eligible for two licences of one product
 * holds one seat (issue 14), and the seeded users must hold seats in every state.
 */
async function ownProduct(name: string) {
  const res = await call('post', '/products', { name: `${name} product` });
  expect(res.status).toBe(201);
  return res.body.id as string;
}
async function rule(licenseId: string, groupId: string, extra: Record<string, unknown> = {}) {
  const res = await call('post', '/rules', { licenseId, groupId, ...extra });
  expect(res.status).toBe(201);
  return res.body.item.id as string;
}

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'OpenAPI responses');
  app = testApp(db.knex, undefined, { clock });
  scim = scimClient(app, tenant.scimToken);
  api = apiClient(app, tenant.apiToken);
  checker = openApiChecker((await api.get('/openapi.json').expect(200)).body);

  // A directory with nesting, an inactive user and SCIM attributes set and unset.
  const alice = await user('alice', 'Design', { displayName: 'Alice', externalId: 'ext-a' });
  const bob = await user('bob', 'Design');
  const carol = await user('carol', 'Eng');
  const dave = await user('dave', 'Sales');
  const erin = await user('erin', 'Sales', { active: false });
  const design = await group('Design', [alice]);
  const eng = await group('Eng', [carol]);
  const all = await group('Everyone', [design, eng, dave]);
  Object.assign(seeded, { alice, bob, carol, dave, erin, design, eng, all });

  const product = await call('post', '/products', {
    name: 'Figma',
    vendor: 'Figma',
    versions: ['1', '2'],
  });
  seeded.product = product.body.id;
  // A pool of one: alice holds it, bob waits.
  seeded.pool = await licence('Pool of one', seeded.product, {
    quantity: 1,
    cost: { unitCost: 12, currency: 'EUR' },
  });
  seeded.poolRule = await rule(seeded.pool, design, { name: 'Design team', priority: 10 });
  await scim
    .patchOps(`/Groups/${design}`, [{ op: 'add', path: 'members', value: [{ value: bob }] }])
    .expect(204);
  // Auto-renewing, its renewal inside the lead time; a removal grace leaves carol pending.
  seeded.renewing = await licence('Renewing', await ownProduct('Renewing'), {
    startsAt: '2025-06-20T00:00:00Z',
    endsAt: '2026-06-20T00:00:00Z',
    autoRenew: true,
  });
  await rule(seeded.renewing, eng, {
    removalGraceDays: 7,
    filter: `${ENTERPRISE}:department eq "Eng"`,
  });
  await scim
    .patchOps(`/Groups/${eng}`, [{ op: 'remove', path: `members[value eq "${carol}"]` }])
    .expect(204);
  // Ended, within its grace period; maintenance over.
  seeded.graced = await licence('In grace', await ownProduct('In grace'), {
    type: 'perpetual',
    quantity: null,
    endsAt: '2026-05-25T00:00:00Z',
    graceDays: 14,
    maintenanceEndsAt: '2026-01-01T00:00:00Z',
    maxVersion: '2',
  });
  await rule(seeded.graced, all);
  // Expired: its rule seats nobody, and explain says why.
  seeded.expired = await licence('Expired', await ownProduct('Expired'), {
    endsAt: '2026-05-01T00:00:00Z',
    restrictions: { departments: ['Design'] },
  });
  await rule(seeded.expired, design);
  // Not started: a manual seat waits for it.
  seeded.future = await licence('Next month', await ownProduct('Next month'), {
    type: 'site',
    quantity: null,
    startsAt: '2026-07-01T00:00:00Z',
    cost: { annualCost: 1000, currency: 'EUR', pricingModel: 'flat' },
  });
  seeded.futureSeat = (
    await call('post', '/seats', { licenseId: seeded.future, userId: dave })
  ).body.id;
  // Manual seats to transfer and release.
  seeded.manual = await licence('Manual', await ownProduct('Manual'), {
    quantity: 3,
    fullPolicy: 'overdeploy',
    overdeployLimit: 1,
  });
  seeded.manualSeat = (
    await call('post', '/seats', { licenseId: seeded.manual, userId: alice })
  ).body.id;
});
afterAll(() => db.close());

describe('every documented read answers what the document declares', () => {
  test('the tenant, and lists of products, licences, rules, users and groups, page by page', async () => {
    expect((await call('get', '/tenant')).body.id).toBe(tenant.id);
    for (const list of ['/products', '/licenses', '/rules', '/users', '/groups']) {
      const first = await call('get', `${list}?limit=2`);
      expect(first.body.items.length).toBeGreaterThan(0);
      if (first.body.nextCursor)
        await call('get', `${list}?limit=2&cursor=${first.body.nextCursor}`);
    }
  });

  test('single records: product, licence, rule, user with groups, group', async () => {
    await call('get', `/products/${seeded.product}`);
    await call('get', `/licenses/${seeded.renewing}`);
    await call('get', `/rules/${seeded.poolRule}`);
    expect((await call('get', `/users/${seeded.alice}`)).body.groups).toHaveLength(1);
    expect((await call('get', `/groups/${seeded.all}`)).body.memberCount).toBe(3);
  });

  test("a licence's seats in every state, filtered by state", async () => {
    const states = new Set<string>();
    for (const lic of [seeded.pool, seeded.renewing, seeded.future, seeded.manual])
      for (const s of (await call('get', `/licenses/${lic}/seats`)).body.items) states.add(s.state);
    expect([...states].sort()).toEqual(['active', 'pending_reclaim', 'waitlisted']);
    await call('get', `/licenses/${seeded.pool}/seats?state=waitlisted`);
    await call('get', `/licenses/${seeded.renewing}/terms?limit=10`);
  });

  test('compliance of each licence, in every term phase, and the tenant summary', async () => {
    const phases = [];
    for (const lic of [seeded.pool, seeded.renewing, seeded.graced, seeded.expired, seeded.future])
      phases.push((await call('get', `/licenses/${lic}/compliance`)).body.term.phase);
    expect(phases).toEqual(['active', 'renewal_due', 'in_grace', 'expired', 'not_started']);
    const summary = (await call('get', '/compliance')).body;
    expect(summary).toMatchObject({
      renewalDue: 1,
      inGrace: 1,
      expired: 1,
      notStarted: 1,
      maintenanceExpired: 1,
    });
  });

  test("users' seats with explanations: held, waiting, pending reclaim, and not seated", async () => {
    for (const u of [seeded.alice, seeded.bob, seeded.carol, seeded.dave, seeded.erin])
      await call('get', `/users/${u}/seats`);
    const bob = (await call('get', `/users/${seeded.bob}/seats`)).body;
    expect(bob.seats.map((s: { state: string }) => s.state).sort()).toEqual([
      'active',
      'waitlisted',
    ]);
    expect(bob.notSeated[0].reason).toMatch(/expired/);
  });
});

describe('every documented write answers what the document declares', () => {
  test('products: create, change, delete', async () => {
    const p = (await call('post', '/products', { name: 'Scratch' })).body.id;
    await call('patch', `/products/${p}`, { vendor: null, features: ['export'] });
    expect((await call('delete', `/products/${p}`)).status).toBe(204);
  });

  test('licences: dry run, create, change with a seat diff, delete', async () => {
    const dry = await call('post', '/licenses?dryRun=true', {
      productId: seeded.product,
      name: 'Dry',
      type: 'trial',
      quantity: 1,
    });
    expect(dry.status).toBe(200);
    const lic = await licence('Scratch licence', await ownProduct('Scratch'), { quantity: 1 });
    await rule(lic, seeded.design);
    const grown = await call('patch', `/licenses/${lic}`, { quantity: 2 });
    expect(grown.body.seatChanges.summary.granted).toBe(1);
    expect((await call('patch', `/licenses/${lic}?dryRun=true`, { quantity: 0 })).status).toBe(200);
    expect((await call('delete', `/licenses/${lic}`)).body.seatChanges.summary.revoked).toBe(2);
  });

  test('rules: dry run, create, change, delete', async () => {
    expect(
      (await call('post', '/rules?dryRun=true', { licenseId: seeded.manual, groupId: seeded.eng }))
        .status,
    ).toBe(200);
    const r = await rule(seeded.manual, seeded.eng, { name: 'Scratch rule' });
    await call('patch', `/rules/${r}`, { priority: 5, filter: null });
    await call('delete', `/rules/${r}?dryRun=true`);
    await call('delete', `/rules/${r}`);
  });

  test('seats: assign, transfer, release', async () => {
    const moved = await call('post', `/seats/${seeded.manualSeat}/transfer`, {
      userId: seeded.carol,
    });
    expect(moved.status).toBe(201);
    expect((await call('delete', `/seats/${moved.body.id}`)).body.state).toBe('released');
    expect(
      (await call('post', '/seats', { licenseId: seeded.manual, userId: seeded.bob })).status,
    ).toBe(201);
  });

  test('CSV import: dry run and real', async () => {
    const csv =
      'product,vendor,license,type,quantity,endsAt,assignee\nSketch,Bohemian,Team,subscription,2,2027-01-01,bob@example.com\n';
    const dry = await api.postCsv('/imports/licenses?dryRun=true', csv);
    checker.check('post', '/imports/licenses', dry);
    expect(dry.status).toBe(200);
    const done = await api.postCsv('/imports/licenses', csv);
    checker.check('post', '/imports/licenses', done);
    expect(done.body).toMatchObject({ dryRun: false, licenses: 1, seats: 1 });
  });
});

describe('single sign-on', () => {
  test('SSO connections: create (OIDC and SAML), list, read, change, delete', async () => {
    const oidc = await call('post', '/sso/connections', {
      type: 'oidc',
      issuer: 'https://idp.example.org',
      clientId: 'c',
      clientSecret: 's',
      linkBy: 'email',
    });
    expect(oidc.status).toBe(201);
    const saml = await call('post', '/sso/connections', {
      type: 'saml',
      idpEntityId: 'https://idp.example.org/saml',
      idpSsoUrl: 'https://idp.example.org/saml/sso',
      idpCertificates: ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'],
      linkBy: 'userName',
    });
    expect(saml.status).toBe(201);
    expect((await call('get', '/sso/connections')).body.items).toHaveLength(2);
    expect((await call('get', `/sso/connections/${saml.body.id}`)).status).toBe(200);
    expect(
      (await call('patch', `/sso/connections/${oidc.body.id}`, { domains: ['example.com'] }))
        .status,
    ).toBe(200);
    expect((await call('delete', `/sso/connections/${oidc.body.id}`)).status).toBe(204);
    expect((await call('get', `/sso/connections/${oidc.body.id}`)).status).toBe(404);
  });

  test('OAuth clients: create (secret once), list, revoke', async () => {
    const created = await call('post', '/oauth/clients', { name: 'CI', scopes: ['api:read'] });
    expect(created.status).toBe(201);
    expect((await call('get', '/oauth/clients')).body.items.length).toBeGreaterThan(0);
    expect((await call('delete', `/oauth/clients/${created.body.clientId}`)).status).toBe(200);
  });

  test('webhooks (issue 14): create (secret once), list, read, change, deliveries, delete', async () => {
    const created = await call('post', '/webhooks', {
      url: 'https://hooks.example.com/seatkeeper',
      events: ['seat.granted'],
    });
    expect(created.status).toBe(201);
    const path = `/webhooks/${created.body.id}`;
    expect((await call('get', '/webhooks')).body.items.length).toBeGreaterThan(0);
    expect((await call('get', path)).status).toBe(200);
    expect((await call('patch', path, { disabled: true })).status).toBe(200);
    expect((await call('post', `${path}/rotate-secret`)).body.secret).toMatch(/^whsec_/);
    expect((await call('get', `${path}/deliveries`)).body.items).toEqual([]);
    expect((await call('delete', path)).status).toBe(204);
    expect((await call('get', path)).status).toBe(404);
  });

  test("/me: the session's user and seats; 401 without a session", async () => {
    expect((await call('get', '/me')).status).toBe(401);
    // A session as a sign-in opens it (the sign-in itself is sso-oidc.test.ts's subject).
    const secret = randomBytes(32);
    const sessionId = randomUUID();
    const now = new Date();
    await db.owner('sso_sessions').insert({
      tenant_id: tenant.id,
      session_id: sessionId,
      secret_hash: createHash('sha256').update(secret).digest(),
      user_id: seeded.alice,
      is_admin: true,
      csrf_token: 'x',
      created_at: now,
      last_seen_at: now,
      expires_at: new Date(now.getTime() + 3_600_000),
    });
    const cookie = `sk_session=${tenant.id}.${sessionId}.${secret.toString('base64url')}`;
    const res = await request(app).get('/api/v1/me').set('Cookie', cookie);
    checker.check('get', '/me', res);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ isAdmin: true, user: { id: seeded.alice } });
    expect(res.body.seats.length).toBeGreaterThan(0);
  });
});

describe('errors are the problems the document declares', () => {
  test('401 without a valid token, 403 with a token of the wrong scope', async () => {
    expect((await call('get', '/tenant', undefined, apiClient(app, 'sk_api_nope'))).status).toBe(
      401,
    );
    expect(
      (await call('get', '/compliance', undefined, apiClient(app, tenant.scimToken))).status,
    ).toBe(403);
  });

  test('400 naming each bad field, 404 for an unknown id, 409 and 422 for refused writes', async () => {
    const bad = await call('post', '/licenses', {
      productId: 'x',
      name: '',
      type: 'forever',
      quantity: -1,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.length).toBeGreaterThan(0);
    expect((await call('get', '/products?limit=0')).status).toBe(400);
    expect((await call('get', `/licenses/${seeded.pool}/seats?state=lost`)).status).toBe(400);
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const path of [`/licenses/${unknown}`, `/users/${unknown}/seats`, `/groups/${unknown}`])
      expect((await call('get', path)).status).toBe(404);
    expect((await call('delete', `/products/${seeded.product}`)).status).toBe(409);
    expect((await call('post', '/seats', { licenseId: seeded.pool, userId: unknown })).status).toBe(
      422,
    );
    const rows = await api.postCsv('/imports/licenses', 'product,license,type\n,L,forever\n');
    checker.check('post', '/imports/licenses', rows);
    expect(rows.status).toBe(422);
    expect(rows.body.errors[0]).toMatchObject({ line: 2 });
  });
});

describe('reclamation (issue 14) answers what the document declares', () => {
  test('activity in, and the preview of the next inactivity scan', async () => {
    const report = await call('post', '/activity', {
      events: [
        { userId: seeded.bob, occurredAt: '2026-06-01T08:00:00Z', id: 'doc-1' },
        { userName: 'nobody@example.com', occurredAt: '2026-06-01T08:00:00Z' },
        { userId: seeded.bob, occurredAt: '2030-01-01T00:00:00Z' },
      ],
    });
    expect(report.body).toMatchObject({ accepted: 1, unknownUsers: ['nobody@example.com'] });
    expect(report.body.rejected).toHaveLength(1);
    expect((await call('post', '/activity', { events: 'no' })).status).toBe(400);
    const tenantNow = await call('patch', '/tenant', { reclaimDefaults: { inactivityDays: 90 } });
    expect(tenantNow.body.reclaimDefaults).toEqual({ inactivityDays: 90, reclaimGraceDays: 7 });
    expect(
      (await call('patch', '/tenant', { reclaimDefaults: { inactivityDays: 0 } })).status,
    ).toBe(400);
    const retained = await call('patch', '/tenant', { auditRetentionDays: 400 });
    expect(retained.body.auditRetentionDays).toBe(400);
    expect((await call('patch', '/tenant', { auditRetentionDays: 0 })).status).toBe(400);
    expect((await call('get', '/jobs')).body.items).toHaveLength(10);
    const ran = await call('post', '/jobs/reclaim-expired/run');
    expect(ran.body).toMatchObject({ name: 'reclaim-expired', result: { released: 0 } });
    // Issue 14's other jobs answer the same shape (each checked against the document).
    for (const name of [
      'license-expiry-alerts',
      'subscription-renewal',
      'trial-expiry',
      'compliance-scan',
      'audit-retention',
      'lease-cull',
    ])
      expect((await call('post', `/jobs/${name}/run`)).body.name).toBe(name);
    expect((await call('post', '/jobs/nope/run')).status).toBe(404);
    const preview = await call('get', '/reclamation/preview?limit=5');
    expect(preview.body.items).toEqual(expect.any(Array));
    expect((await call('get', '/reclamation/preview?licenseId=nope')).status).toBe(404);
    const saved = await call('get', '/savings?from=2026-01-01&to=2027-01-01');
    expect(saved.body.items).toEqual(expect.any(Array));
    expect((await call('get', '/savings?from=2026-01-01')).status).toBe(400);
  });
});

describe('signed licence keys (issue 18) answer what the document declares', () => {
  test('issue, list, revoke, suspend, resume and validate', async () => {
    const issued = await call('post', `/licenses/${seeded.renewing}/keys`, {
      offlineGraceSeconds: 60,
    });
    expect(issued.status).toBe(201);
    expect((await call('post', `/licenses/${seeded.expired}/keys`)).status).toBe(409);
    expect((await call('post', `/licenses/${seeded.renewing}/keys`, { v: 1 })).status).toBe(400);
    expect((await call('get', `/licenses/${seeded.renewing}/keys?limit=1`)).body.total).toBe(1);
    expect((await call('get', `/licenses/${randomUUID()}/keys`)).status).toBe(404);
    expect((await call('post', `/licenses/${seeded.renewing}/suspend`)).body.suspendedAt).toBe(
      clock.now().toISOString(),
    );
    expect((await call('post', `/licenses/${randomUUID()}/suspend`)).status).toBe(404);
    expect((await call('post', `/licenses/${seeded.renewing}/resume`)).body.suspendedAt).toBeNull();
    expect((await call('post', `/licenses/${randomUUID()}/resume`)).status).toBe(404);
    const validate = (key: string, body: unknown) =>
      request(app)
        .post('/api/v1/validate')
        .set('Authorization', `License ${key}`)
        .send(body as object);
    const ok = await validate(issued.body.key, { version: '1.2.3' });
    checker.check('post', '/validate', ok);
    expect(ok.body).toEqual({ valid: true, code: 'valid' });
    const bad = await validate(issued.body.key, { version: 'one' });
    checker.check('post', '/validate', bad);
    expect(bad.status).toBe(400);
    const forged = await validate(`${issued.body.key}x`, {});
    checker.check('post', '/validate', forged);
    expect(forged.status).toBe(401);
    const text = await request(app)
      .post('/api/v1/validate')
      .set('Authorization', `License ${issued.body.key}`)
      .set('Content-Type', 'text/plain')
      .send('hi');
    checker.check('post', '/validate', text);
    expect(text.status).toBe(415);
    const revoked = await call('delete', `/keys/${issued.body.id}`);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    expect((await call('delete', `/keys/${randomUUID()}`)).status).toBe(404);
  });
});

describe('the audit read API (issue 16) answers what the document declares', () => {
  test('a page of events, verification, and an export in each format', async () => {
    const page = await call('get', '/audit/events?limit=2&action=user.created,seat.granted');
    expect(page.body.items).toHaveLength(2);
    await call('get', `/audit/events?limit=2&cursor=${page.body.nextCursor}`);
    await call('get', `/audit/events?subject=${seeded.alice}&from=2026-01-01T00:00:00Z`);
    expect((await call('get', '/audit/events?from=yesterday')).status).toBe(400);
    expect((await call('get', '/audit/verify')).body.ok).toBe(true);
    for (const format of ['json', 'csv', 'cef']) {
      const res = await call('get', `/audit/export?format=${format}`);
      expect(res.status).toBe(200);
    }
    expect((await call('get', '/audit/export?format=xml')).status).toBe(400);
  });
});

describe('machines and leases (issue 18) answer what the document declares', () => {
  test('activate, list, transfer, deactivate; check out, queue, look, heartbeat, check in', async () => {
    const licence = async (quantity: number) => {
      const res = await call('post', '/licenses', {
        productId: seeded.product,
        name: `Pool of ${quantity}`,
        type: 'floating',
        quantity,
      });
      const key = (await call('post', `/licenses/${res.body.item.id}/keys`)).body.key as string;
      return { id: res.body.item.id as string, key };
    };
    const one = await licence(1);
    const two = await licence(1);
    const keyed = async (method: Method, key: string, path: string, body?: unknown) => {
      const req = request(app)[method](`/api/v1${path}`).set('Authorization', `License ${key}`);
      const res = body === undefined ? await req : await req.send(body as object);
      checker.check(method, path, res);
      return res;
    };
    const made = await keyed('post', one.key, '/machines', { fingerprint: 'fp', name: 'box' });
    expect(made.status).toBe(201);
    expect((await keyed('post', one.key, '/machines', { fingerprint: 'fp' })).status).toBe(200);
    expect((await keyed('post', one.key, '/machines', { fingerprint: 'fp2' })).status).toBe(409);
    expect((await keyed('post', one.key, '/machines', { fingerprint: '' })).status).toBe(400);
    expect((await keyed('post', 'x.y.z', '/machines', { fingerprint: 'fp' })).status).toBe(401);
    expect((await call('get', `/licenses/${one.id}/machines`)).body.total).toBe(1);
    expect((await call('get', `/licenses/${randomUUID()}/machines`)).status).toBe(404);
    const moved = await call('post', `/machines/${made.body.id}/transfer`, { licenseId: two.id });
    expect(moved.body.licenseId).toBe(two.id);
    expect(
      (await call('post', `/machines/${made.body.id}/transfer`, { licenseId: 'x' })).status,
    ).toBe(400);
    expect((await keyed('delete', one.key, `/machines/${made.body.id}`)).status).toBe(404);
    expect((await keyed('delete', two.key, `/machines/${made.body.id}`)).status).toBe(200);

    const lease = await keyed('post', one.key, '/leases', { userName: 'alice' });
    expect(lease.status).toBe(201);
    const queued = await keyed('post', one.key, '/leases', {});
    expect(queued.status).toBe(202);
    expect((await keyed('post', one.key, '/leases', { userName: 1 })).status).toBe(400);
    expect((await keyed('get', one.key, `/leases/${queued.body.id}`)).body.position).toBe(1);
    expect((await keyed('get', two.key, `/leases/${queued.body.id}`)).status).toBe(404);
    expect((await keyed('post', one.key, `/leases/${lease.body.id}/heartbeat`)).status).toBe(200);
    expect((await keyed('delete', one.key, `/leases/${lease.body.id}`)).status).toBe(200);
    expect((await keyed('post', one.key, `/leases/${lease.body.id}/heartbeat`)).status).toBe(409);
    expect((await keyed('get', one.key, `/leases/${queued.body.id}`)).body.status).toBe('active');
  });
});

test('every success answer the document declares was exercised above', () => {
  expect(checker.unexercised()).toEqual([]);
});
