import request from 'supertest';
import { verifyTenantChain } from '../../src/audit/verify.js';
import {
  authenticate,
  createToken,
  getTenant,
  listTenants,
  listTokens,
  revokeToken,
  type CreatedTenant,
} from '../../src/tenancy/service.js';
import { TokenCache } from '../../src/tenancy/token-cache.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant, testActor } from '../support/fixtures.js';

let db: TestDb;
let acme: CreatedTenant;
let globex: CreatedTenant;

beforeAll(async () => {
  db = await openTestDb();
  acme = await newTenant(db.knex, 'Acme');
  globex = await newTenant(db.knex, 'Globex');
});
afterAll(() => db.close());

describe('tenants and tokens', () => {
  test('a new tenant has a SCIM and an API token, and its creation is audited', async () => {
    expect(acme.scimToken).toMatch(/^sk_scim_/);
    expect(acme.apiToken).toMatch(/^sk_api_/);
    const events = await db
      .owner('audit_events')
      .where({ tenant_id: acme.id })
      .orderBy('seq')
      .pluck('action');
    expect(events).toEqual(['tenant.created', 'token.created', 'token.created']);
    expect((await verifyTenantChain(db.knex, acme.id)).ok).toBe(true);
  });

  test('tokens are stored only as hashes', async () => {
    const rows = await db.owner('api_tokens').where({ tenant_id: acme.id });
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(acme.apiToken.slice(-43));
    expect(stored).not.toContain(acme.scimToken.slice(-43));
  });

  test('tenants are listed with their names', async () => {
    const names = (await listTenants(db.knex)).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['Acme', 'Globex']));
  });

  test('a tenant name must not be blank', async () => {
    await expect(newTenant(db.knex, '   ')).rejects.toMatchObject({
      code: 'invalid_input',
      status: 400,
    });
  });

  test('a token resolves to its own tenant and scope', async () => {
    await expect(authenticate(db.knex, acme.apiToken, 'api')).resolves.toMatchObject({
      tenantId: acme.id,
      scope: 'api',
    });
    await expect(authenticate(db.knex, globex.scimToken, 'scim')).resolves.toMatchObject({
      tenantId: globex.id,
      scope: 'scim',
    });
  });

  test.each([
    ['missing', undefined, 'missing'],
    ['empty', '', 'missing'],
    ['garbage', 'hello', 'malformed'],
  ])('a %s token is refused', async (_what, raw, reason) => {
    await expect(authenticate(db.knex, raw, 'api')).rejects.toMatchObject({ reason, status: 401 });
  });

  test('a token with a guessed secret is refused', async () => {
    const forged = `${acme.apiToken.slice(0, -43)}${'A'.repeat(43)}`;
    await expect(authenticate(db.knex, forged, 'api')).rejects.toMatchObject({
      reason: 'unknown',
      status: 401,
    });
  });

  test("a token whose ids point at another tenant's token is refused", async () => {
    // Splice Acme's ids with Globex's secret: the secret must match the named row.
    const forged = `${acme.apiToken.slice(0, -43)}${globex.apiToken.slice(-43)}`;
    await expect(authenticate(db.knex, forged, 'api')).rejects.toMatchObject({ reason: 'unknown' });
  });

  test('a token with the wrong scope is refused with 403', async () => {
    await expect(authenticate(db.knex, acme.scimToken, 'api')).rejects.toMatchObject({
      reason: 'insufficient_scope',
      status: 403,
    });
  });

  test('created, listed and revoked tokens follow their lifecycle, each step audited', async () => {
    const created = await createToken(
      db.knex,
      acme.id,
      { scope: 'api', name: 'CI' },
      { actor: testActor },
    );
    await expect(authenticate(db.knex, created.token, 'api')).resolves.toMatchObject({
      tokenId: created.id,
    });
    const listed = await listTokens(db.knex, acme.id);
    expect(listed.find((t) => t.id === created.id)).toMatchObject({
      name: 'CI',
      scope: 'api',
      revokedAt: null,
    });
    expect(JSON.stringify(listed)).not.toContain(created.token);

    const revoked = await revokeToken(db.knex, acme.id, created.id, { actor: testActor });
    expect(revoked.revokedAt).not.toBeNull();
    await expect(authenticate(db.knex, created.token, 'api')).rejects.toMatchObject({
      reason: 'revoked',
      status: 401,
    });
    // Revoking again changes nothing and writes no second event.
    await revokeToken(db.knex, acme.id, created.id, { actor: testActor });
    const actions = await db
      .owner('audit_events')
      .where({ tenant_id: acme.id, target_id: created.id })
      .pluck('action');
    expect(actions).toEqual(['token.created', 'token.revoked']);
  });

  test("one tenant cannot revoke or list another tenant's tokens", async () => {
    const [globexToken] = await listTokens(db.knex, globex.id);
    await expect(
      revokeToken(db.knex, acme.id, globexToken!.id, { actor: testActor }),
    ).rejects.toMatchObject({
      status: 404,
    });
    expect((await listTokens(db.knex, acme.id)).some((t) => t.tenantId !== acme.id)).toBe(false);
  });

  test('an unknown scope is refused', async () => {
    await expect(
      createToken(db.knex, acme.id, { scope: 'root' }, { actor: testActor }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  test('an unknown tenant is not found', async () => {
    await expect(getTenant(db.knex, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      status: 404,
    });
    await expect(getTenant(db.knex, 'not-a-uuid')).rejects.toMatchObject({ status: 404 });
  });
});

describe('bearer authentication over HTTP (RFC 6750)', () => {
  test('an API token reaches its own tenant', async () => {
    const res = await request(testApp(db.knex))
      .get('/api/v1/tenant')
      .set('Authorization', `Bearer ${acme.apiToken}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: acme.id, name: 'Acme' });
  });

  test('the scheme name is case-insensitive', async () => {
    const res = await request(testApp(db.knex))
      .get('/api/v1/tenant')
      .set('Authorization', `bearer ${globex.apiToken}`);
    expect(res.body).toMatchObject({ id: globex.id });
  });

  test('no token: 401, a WWW-Authenticate challenge and a problem+json body', async () => {
    const res = await request(testApp(db.knex)).get('/api/v1/tenant');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="seatkeeper"');
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, code: 'invalid_token', title: 'Unauthorized' });
  });

  test('an empty bearer value is refused', async () => {
    const res = await request(testApp(db.knex))
      .get('/api/v1/tenant')
      .set('Authorization', 'Bearer ');
    expect(res.status).toBe(401);
  });

  test('a bad token says invalid_token in the challenge', async () => {
    const res = await request(testApp(db.knex))
      .get('/api/v1/tenant')
      .set('Authorization', 'Bearer sk_api_nope');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
  });

  test('a SCIM token on the admin API is refused with insufficient_scope', async () => {
    const res = await request(testApp(db.knex))
      .get('/api/v1/tenant')
      .set('Authorization', `Bearer ${acme.scimToken}`);
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope", scope="api"/);
  });

  test('every response carries a request id, and a sane caller id is kept', async () => {
    const res = await request(testApp(db.knex)).get('/healthz').set('X-Request-Id', 'abc-123');
    expect(res.headers['x-request-id']).toBe('abc-123');
    const other = await request(testApp(db.knex))
      .get('/healthz')
      .set('X-Request-Id', 'bad id\twith tab');
    expect(other.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('an unknown route is a problem+json 404', async () => {
    const res = await request(testApp(db.knex)).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'not_found', status: 404 });
  });
});

describe('token rows cached for TOKEN_CACHE_TTL_MS', () => {
  let now = 0;
  const cache = new TokenCache(1000, () => now);

  test('a revocation committed elsewhere is honoured once the TTL has passed, never later', async () => {
    const app = testApp(db.knex, undefined, { tokens: cache });
    const t = await createToken(db.knex, globex.id, { scope: 'api' }, { actor: testActor });
    const call = () => request(app).get('/api/v1/tenant').set('Authorization', `Bearer ${t.token}`);
    expect((await call()).status).toBe(200);
    // Another process (the CLI, another replica) revokes: this app's cache does not hear.
    await revokeToken(db.knex, globex.id, t.id, { actor: testActor });
    now += 999;
    expect((await call()).status).toBe(200);
    now += 1;
    const refused = await call();
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    // The revoked row is what is cached now: still refused, without asking again.
    now += 10;
    expect((await call()).status).toBe(401);
  });

  test('a wrong secret for a cached token is refused, and does not replace the cached row', async () => {
    const app = testApp(db.knex, undefined, { tokens: cache });
    const t = await createToken(db.knex, globex.id, { scope: 'api' }, { actor: testActor });
    const good = await request(app).get('/api/v1/tenant').set('Authorization', `Bearer ${t.token}`);
    expect(good.status).toBe(200);
    const forged = t.token.slice(0, -1) + (t.token.endsWith('A') ? 'B' : 'A');
    const bad = await request(app).get('/api/v1/tenant').set('Authorization', `Bearer ${forged}`);
    expect(bad.status).toBe(401);
    const again = await request(app)
      .get('/api/v1/tenant')
      .set('Authorization', `Bearer ${t.token}`);
    expect(again.status).toBe(200);
  });

  test('a SCIM token cached by the SCIM door is still refused on the admin API', async () => {
    const app = testApp(db.knex, undefined, { tokens: cache });
    const scim = await request(app)
      .get('/scim/v2/ServiceProviderConfig')
      .set('Authorization', `Bearer ${acme.scimToken}`);
    expect(scim.status).toBe(200);
    const api = await request(app)
      .get('/api/v1/tenant')
      .set('Authorization', `Bearer ${acme.scimToken}`);
    expect(api.status).toBe(403);
  });
});
