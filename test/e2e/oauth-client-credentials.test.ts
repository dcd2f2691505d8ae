// OAuth 2.0 client credentials for integrations (issue 15): clients made through the
// admin API, the token endpoint (RFC 6749 §4.4) issuing EdDSA JWT access tokens
// (RFC 9068) with the tenant in `tid`, published keys, scopes enforced on /api/v1 and
// /scim/v2, RFC 6749 §5.2 errors, revocation, forgeries refused, and key rotation with
// an overlap.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
} from 'jose';
import { createApp } from '../../src/app.js';
import { DirectoryHooks } from '../../src/directory/index.js';
import { SigningKeys, TOKEN_TTL_S } from '../../src/oauth/index.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { quietLogger } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { SCIM } from '../support/scim.js';

const ISSUER = 'https://seatkeeper.example.com';
const clock = fixedClock(new Date());
let db: TestDb;
let a: CreatedTenant;
let b: CreatedTenant;
let dir: string;
let keyFile: string;
let app: ReturnType<typeof createApp>;
let apiA: ApiClient;

beforeAll(async () => {
  db = await openTestDb();
  a = await newTenant(db.knex, 'OAuth A');
  b = await newTenant(db.knex, 'OAuth B');
  dir = await mkdtemp(path.join(os.tmpdir(), 'sk-oauth-'));
  keyFile = path.join(dir, 'oauth-keys.json');
  app = createApp({
    knex: db.knex,
    logger: quietLogger,
    bodyLimit: 1024 * 1024,
    state: { shuttingDown: false },
    hooks: new DirectoryHooks(),
    publicUrl: ISSUER,
    clock,
    oauthKeys: SigningKeys.fromFile(keyFile, 0),
  });
  apiA = apiClient(app, a.apiToken);
});
afterAll(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

async function client(scopes: string[], api = apiA) {
  const res = await api.post('/oauth/clients', { name: 'CI', scopes }).expect(201);
  return res.body as { clientId: string; clientSecret: string; scopes: string[] };
}
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const tokenRequest = (form: Record<string, string>, auth?: string) => {
  const r = request(app).post('/oauth/token').type('form');
  if (auth) r.set('Authorization', auth);
  return r.send(form);
};
async function token(c: { clientId: string; clientSecret: string }, scope?: string) {
  const res = await tokenRequest(
    { grant_type: 'client_credentials', ...(scope ? { scope } : {}) },
    basic(c.clientId, c.clientSecret),
  ).expect(200);
  return res.body.access_token as string;
}
const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

describe('clients and the token endpoint (RFC 6749 §4.4)', () => {
  test('a client is created with its secret shown once, and listed without it', async () => {
    const c = await client(['api:read']);
    expect(c.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const list = await apiA.get('/oauth/clients').expect(200);
    expect(list.body.items).toContainEqual(
      expect.objectContaining({ clientId: c.clientId, scopes: ['api:read'], revokedAt: null }),
    );
    expect(JSON.stringify(list.body)).not.toContain(c.clientSecret);
  });

  test('the token is an EdDSA JWT (RFC 9068) for the tenant, short-lived, verifiable with the published keys', async () => {
    const c = await client(['api:read', 'scim']);
    const res = await tokenRequest(
      { grant_type: 'client_credentials' },
      basic(c.clientId, c.clientSecret),
    ).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: TOKEN_TTL_S,
      scope: 'api:read scim',
    });
    expect(TOKEN_TTL_S).toBeLessThanOrEqual(15 * 60);
    const jwt = res.body.access_token as string;
    expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    const jwks = (await request(app).get('/.well-known/jwks.json').expect(200)).body;
    expect(JSON.stringify(jwks)).not.toContain('"d"');
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(jwks), {
      issuer: ISSUER,
      audience: ISSUER,
      currentDate: clock.now(),
    });
    expect(payload).toMatchObject({ tid: a.id, sub: c.clientId, scope: 'api:read scim' });
    expect(payload.exp! - payload.iat!).toBe(TOKEN_TTL_S);
  });

  test('client_secret_post works too, and a narrower scope may be asked for (§3.3)', async () => {
    const c = await client(['api:read', 'api:write']);
    const res = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: c.clientId,
      client_secret: c.clientSecret,
      scope: 'api:read',
    }).expect(200);
    expect(res.body.scope).toBe('api:read');
  });

  test.each([
    [
      'wrong secret over Basic: 401 invalid_client with a Basic challenge',
      'basic-wrong',
      401,
      'invalid_client',
    ],
    ['wrong secret in the body: 400 invalid_client', 'post-wrong', 400, 'invalid_client'],
    ['unknown grant type: unsupported_grant_type', 'grant', 400, 'unsupported_grant_type'],
    ['no grant type: invalid_request', 'no-grant', 400, 'invalid_request'],
    ['a scope the client was not given: invalid_scope', 'scope', 400, 'invalid_scope'],
    ['credentials twice: invalid_request (§2.3)', 'twice', 400, 'invalid_request'],
  ])('%s (RFC 6749 §5.2)', async (_name, kind, status, error) => {
    const c = await client(['api:read']);
    const good = basic(c.clientId, c.clientSecret);
    const res =
      kind === 'basic-wrong'
        ? await tokenRequest({ grant_type: 'client_credentials' }, basic(c.clientId, 'nope'))
        : kind === 'post-wrong'
          ? await tokenRequest({
              grant_type: 'client_credentials',
              client_id: c.clientId,
              client_secret: 'nope',
            })
          : kind === 'grant'
            ? await tokenRequest({ grant_type: 'password' }, good)
            : kind === 'no-grant'
              ? await tokenRequest({}, good)
              : kind === 'scope'
                ? await tokenRequest({ grant_type: 'client_credentials', scope: 'api:write' }, good)
                : await tokenRequest(
                    {
                      grant_type: 'client_credentials',
                      client_id: c.clientId,
                      client_secret: c.clientSecret,
                    },
                    good,
                  );
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error, error_description: expect.any(String) });
    if (kind === 'basic-wrong') expect(res.headers['www-authenticate']).toMatch(/^Basic/);
  });

  test('a JSON body is invalid_request: the token endpoint takes a form (§4.4.2)', async () => {
    const res = await request(app)
      .post('/oauth/token')
      .send({ grant_type: 'client_credentials' })
      .expect(400);
    expect(res.body.error).toBe('invalid_request');
  });
});

describe('the tokens open /api/v1 and /scim/v2, within their scopes', () => {
  test('api:read reads and may not write; api:write writes', async () => {
    const read = await token(await client(['api:read']));
    await request(app).get('/api/v1/products').set(bearer(read)).expect(200);
    const refused = await request(app)
      .post('/api/v1/products')
      .set(bearer(read))
      .send({ name: 'Figma' })
      .expect(403);
    expect(refused.body.code).toBe('insufficient_scope');
    const write = await token(await client(['api:write']));
    await request(app)
      .post('/api/v1/products')
      .set(bearer(write))
      .send({ name: 'Figma' })
      .expect(201);
  });

  test('scim opens /scim/v2 and not /api/v1; api scopes do not open /scim/v2', async () => {
    const scim = await token(await client(['scim']));
    await request(app).get('/scim/v2/Users').set(bearer(scim)).set('Accept', SCIM).expect(200);
    await request(app).get('/api/v1/products').set(bearer(scim)).expect(403);
    const api = await token(await client(['api:write']));
    await request(app).get('/scim/v2/Users').set(bearer(api)).expect(403);
  });

  test("a token sees its own tenant only: B's token lists B's products", async () => {
    const apiB = apiClient(app, b.apiToken);
    await apiB.post('/products', { name: 'Only in B' }).expect(201);
    const tb = await token(await client(['api:read'], apiB));
    const ta = await token(await client(['api:read']));
    const names = async (t: string) =>
      (await request(app).get('/api/v1/products').set(bearer(t)).expect(200)).body.items.map(
        (p: { name: string }) => p.name,
      );
    expect(await names(tb)).toContain('Only in B');
    expect(await names(ta)).not.toContain('Only in B');
  });

  test('a revoked client: its tokens stop at once, and it gets no new ones', async () => {
    const c = await client(['api:read']);
    const t = await token(c);
    await apiA.delete(`/oauth/clients/${c.clientId}`).expect(200);
    await request(app).get('/api/v1/products').set(bearer(t)).expect(401);
    const res = await tokenRequest(
      { grant_type: 'client_credentials' },
      basic(c.clientId, c.clientSecret),
    );
    expect(res.body.error).toBe('invalid_client');
  });

  test('an expired token is refused', async () => {
    const t = await token(await client(['api:read']));
    clock.advance((TOKEN_TTL_S + 1) * 1000);
    try {
      await request(app).get('/api/v1/products').set(bearer(t)).expect(401);
    } finally {
      clock.advance(-(TOKEN_TTL_S + 1) * 1000);
    }
  });
});

describe('forged tokens are refused (401)', () => {
  let genuine: string;
  beforeAll(async () => {
    genuine = await token(await client(['api:read']));
  });
  const refused = (t: string) => request(app).get('/api/v1/products').set(bearer(t)).expect(401);

  test("another tenant's id spliced into the payload (signature no longer matches)", async () => {
    const [h, , s] = genuine.split('.') as [string, string, string];
    const claims = { ...decodeJwt(genuine), tid: b.id };
    await refused(`${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`);
  });

  test('signed by a key not published, under a published kid', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const key = await importJWK(privateKey.export({ format: 'jwk' }) as JWK, 'EdDSA');
    const forged = await new SignJWT({ ...decodeJwt(genuine), tid: b.id })
      .setProtectedHeader(decodeProtectedHeader(genuine) as { alg: string })
      .sign(key);
    await refused(forged);
  });

  test('alg none', async () => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    await refused(`${enc({ alg: 'none', typ: 'at+jwt' })}.${enc(decodeJwt(genuine))}.`);
  });
});

describe('key rotation with overlap', () => {
  test('after a rotation new tokens use the new key and older ones still work; a second rotation retires the first key', async () => {
    const c = await client(['api:read']);
    const before = await token(c);
    const kid0 = decodeProtectedHeader(before).kid;
    SigningKeys.rotate(keyFile);
    const after = await token(c);
    const kid1 = decodeProtectedHeader(after).kid;
    expect(kid1).not.toBe(kid0);
    const jwks = (await request(app).get('/.well-known/jwks.json').expect(200)).body.keys;
    expect(jwks.map((k: JWK) => k.kid)).toEqual([kid1, kid0]);
    await request(app).get('/api/v1/products').set(bearer(before)).expect(200);
    await request(app).get('/api/v1/products').set(bearer(after)).expect(200);
    SigningKeys.rotate(keyFile);
    await request(app).get('/api/v1/products').set(bearer(before)).expect(401);
    await request(app).get('/api/v1/products').set(bearer(after)).expect(200);
  });
});
