// Signed licence keys (issue 18), end to end over HTTP: issue, publish, verify offline
// with jose and the published JWKS, validate online, revoke, suspend, rotate.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  base64url,
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
} from 'jose';
import request from 'supertest';
import { readAuditEvents } from '../../src/audit/read.js';
import { settleAudit } from '../../src/audit/settle.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { rotateSigningKey } from '../../src/keys/index.js';
import { open } from '../../src/keys/sealing.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant, testActor } from '../support/fixtures.js';
import { ROOT, run } from '../support/processes.js';

const TYP = 'seatkeeper-license+jwt';
const START = '2026-06-01T09:00:00.000Z';
let db: TestDb;
let a: CreatedTenant;
let b: CreatedTenant;
let api: ApiClient;
let apiB: ApiClient;
let app: ReturnType<typeof testApp>;
let product: string;
const kek = new Uint8Array(randomBytes(32));
const clock = fixedClock(START);

beforeAll(async () => {
  db = await openTestDb();
  a = await newTenant(db.knex, 'Keys A');
  b = await newTenant(db.knex, 'Keys B');
  app = testApp(db.knex, undefined, { clock, licenseKeys: { kek } });
  api = apiClient(app, a.apiToken);
  apiB = apiClient(app, b.apiToken);
  product = (await api.post('/products', { name: 'Editor' }).expect(201)).body.id;
});
afterAll(() => db.close());
afterEach(() => clock.set(START));

async function licence(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api.post('/licenses', {
    productId: product,
    name: 'L',
    type: 'subscription',
    quantity: 5,
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.body.item.id;
}
async function issue(licenseId: string, body: unknown = {}) {
  const res = await api.post(`/licenses/${licenseId}/keys`, body);
  expect(res.status).toBe(201);
  return res.body as { id: string; key: string; expiresAt: string | null };
}
const jwksOf = async (tenantId: string) =>
  (await request(app).get(`/keys/${tenantId}/jwks.json`).expect(200)).body as { keys: JWK[] };
const validate = (key: string, body: unknown = {}, on = app) =>
  request(on)
    .post('/api/v1/validate')
    .set('Authorization', `License ${key}`)
    .send(body as object);
const verifyOffline = async (key: string, at = clock.now()) =>
  jwtVerify(key, createLocalJWKSet(await jwksOf(a.id)), {
    algorithms: ['EdDSA'],
    typ: TYP,
    issuer: a.id,
    currentDate: at,
  });

/** The tenant's current private signing key, opened as the service does (for forgeries). */
async function currentPrivateKey(tenantId: string) {
  const row = await withTenant(db.knex, tenantId, (trx) =>
    trx('license_signing_keys').where({ tenant_id: tenantId }).whereNull('retired_at').first(),
  );
  const jwk = JSON.parse(open(kek, tenantId, row.kid, row.sealed_private_jwk)) as JWK;
  return { kid: row.kid as string, key: await importJWK(jwk, 'EdDSA') };
}

describe('a licence key is a compact JWS verifiable with the published JWKS', () => {
  test('it verifies with jose and the JWKS fetched over HTTP; kid is the RFC 7638 thumbprint; the claims state the licence (RFC 7515 §7.1, RFC 8037 §3.1)', async () => {
    const id = await licence({
      endsAt: '2027-06-01T00:00:00Z',
      graceDays: 10,
      entitlements: ['export'],
      maxVersion: '2.x',
      maintenanceEndsAt: '2027-01-01T00:00:00Z',
    });
    const issued = await issue(id, { offlineGraceSeconds: 3600 });
    expect(issued.expiresAt).toBe('2027-06-11T00:00:00.000Z');
    const res = await request(app).get(`/keys/${a.id}/jwks.json`).expect(200);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    const { payload, protectedHeader } = await verifyOffline(issued.key);
    const jwk = (res.body.keys as JWK[]).find((k) => k.kid === protectedHeader.kid)!;
    expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: TYP, kid: jwk.kid });
    expect(jwk).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: jwk.x,
      kid: jwk.kid,
      alg: 'EdDSA',
      use: 'sig',
    });
    expect(await calculateJwkThumbprint(jwk, 'sha256')).toBe(jwk.kid);
    expect(payload).toEqual({
      iss: a.id,
      sub: id,
      aud: product,
      jti: issued.id,
      iat: Date.parse(START) / 1000,
      nbf: Date.parse(START) / 1000,
      exp: Date.parse('2027-06-11T00:00:00Z') / 1000,
      lic: {
        v: 1,
        type: 'subscription',
        seats: 5,
        entitlements: ['export'],
        maxVersion: '2.x',
        maintenanceEndsAt: '2027-01-01T00:00:00.000Z',
        offlineGraceSeconds: 3600,
      },
    });
  });

  test('a perpetual or auto-renewing licence gives a key without exp (RFC 7519 §4.1.4 is optional)', async () => {
    for (const extra of [
      { type: 'perpetual' },
      { endsAt: '2026-12-01T00:00:00Z', autoRenew: true },
    ]) {
      const issued = await issue(await licence(extra));
      expect(issued.expiresAt).toBeNull();
      expect(decodeJwt(issued.key).exp).toBeUndefined();
    }
  });

  test('a tampered payload does not verify, offline or online (RFC 7515 §5.2)', async () => {
    const { key } = await issue(await licence());
    const [h, p, s] = key.split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p!)));
    claims.lic.seats = 5000;
    const forged = `${h}.${base64url.encode(JSON.stringify(claims))}.${s}`;
    await expect(verifyOffline(forged)).rejects.toBeInstanceOf(
      errors.JWSSignatureVerificationFailed,
    );
    const res = await validate(forged).expect(401);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, code: 'invalid_key' });
  });

  test('a key naming a kid the tenant never published does not verify (RFC 7515 §4.1.4)', async () => {
    const { key } = await issue(await licence());
    const [, p, s] = key.split('.');
    const header = base64url.encode(
      JSON.stringify({ alg: 'EdDSA', typ: TYP, kid: 'x'.repeat(43) }),
    );
    const forged = `${header}.${p}.${s}`;
    await expect(verifyOffline(forged)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect((await validate(forged).expect(401)).body.code).toBe('invalid_key');
  });

  test('alg swaps are refused: HS256 keyed with the public key bytes, and alg none (RFC 8725 §2.1, RFC 7518 §3.6)', async () => {
    const { key } = await issue(await licence());
    const claims = decodeJwt(key);
    const { kid } = decodeProtectedHeader(key);
    const jwk = (await jwksOf(a.id)).keys.find((k) => k.kid === kid)!;
    const hs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: TYP, kid: kid! })
      .sign(base64url.decode(jwk.x!));
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: TYP, kid }))}.${key.split('.')[1]}.`;
    for (const forged of [hs256, none]) {
      await expect(verifyOffline(forged)).rejects.toThrow();
      expect((await validate(forged).expect(401)).body.code).toBe('invalid_key');
    }
  });

  test('a key signed by the tenant’s own key but with another typ is refused (RFC 8725 §3.11)', async () => {
    const { key } = await issue(await licence());
    const signer = await currentPrivateKey(a.id);
    const jwt = await new SignJWT(decodeJwt(key))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: signer.kid })
      .sign(signer.key);
    expect((await validate(jwt).expect(401)).body.code).toBe('invalid_key');
    // The same claims with the right typ are accepted: the typ alone made the difference.
    const right = await new SignJWT(decodeJwt(key))
      .setProtectedHeader({ alg: 'EdDSA', typ: TYP, kid: signer.kid })
      .sign(signer.key);
    expect((await validate(right).expect(200)).body).toEqual({ valid: true, code: 'valid' });
  });

  test('an expired key and a not-yet-valid key fail offline (RFC 7519 §4.1.4, §4.1.5)', async () => {
    const ending = await issue(await licence({ endsAt: '2026-07-01T00:00:00Z' }));
    await expect(
      verifyOffline(ending.key, new Date('2026-07-02T00:00:00Z')),
    ).rejects.toBeInstanceOf(errors.JWTExpired);
    const future = await issue(await licence({ startsAt: '2026-09-01T00:00:00Z' }));
    await expect(verifyOffline(future.key)).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'nbf',
    });
  });

  test('no Authorization, or not a licence key, is 401 invalid_key', async () => {
    const none = await request(app).post('/api/v1/validate').send({}).expect(401);
    expect(none.body.code).toBe('invalid_key');
    expect(none.headers['www-authenticate']).toBe('License');
    expect((await validate('not.a.jws').expect(401)).body.code).toBe('invalid_key');
    // An API token is not a licence key.
    const token = await request(app)
      .post('/api/v1/validate')
      .set('Authorization', `Bearer ${a.apiToken}`)
      .send({})
      .expect(401);
    expect(token.body.code).toBe('invalid_key');
  });
});

describe('online validation answers a stable code', () => {
  test('valid', async () => {
    const { key } = await issue(await licence());
    expect((await validate(key, { version: '1.0.0' }).expect(200)).body).toEqual({
      valid: true,
      code: 'valid',
    });
  });

  test('expired: past exp, and past a term shortened after issue (RFC 7519 §4.1.4)', async () => {
    const id = await licence({ endsAt: '2026-07-01T00:00:00Z', graceDays: 1 });
    const { key } = await issue(id);
    clock.set('2026-07-01T12:00:00Z'); // in grace: still valid
    expect((await validate(key).expect(200)).body.code).toBe('valid');
    clock.set('2026-07-02T00:00:01Z');
    expect((await validate(key).expect(200)).body).toEqual({ valid: false, code: 'expired' });
    clock.set(START);
    const perpetual = await licence({ type: 'perpetual' });
    const forever = await issue(perpetual);
    await api
      .patch(`/licenses/${perpetual}`, { endsAt: '2026-05-01T00:00:00Z', startsAt: null })
      .expect(200);
    expect((await validate(forever.key).expect(200)).body.code).toBe('expired');
  });

  test('not_started: before nbf (RFC 7519 §4.1.5)', async () => {
    const { key } = await issue(await licence({ startsAt: '2026-09-01T00:00:00Z' }));
    expect((await validate(key).expect(200)).body).toEqual({ valid: false, code: 'not_started' });
    clock.set('2026-09-01T00:00:01Z');
    expect((await validate(key).expect(200)).body.code).toBe('valid');
  });

  test('revoked: DELETE /keys/{id}, refused online from then on; revoking twice changes nothing', async () => {
    const id = await licence();
    const { key, id: keyId } = await issue(id);
    const other = await issue(id);
    const revoked = await api.delete(`/keys/${keyId}`).expect(200);
    expect(revoked.body).toMatchObject({ id: keyId, licenseId: id, revokedAt: START });
    expect((await validate(key).expect(200)).body).toEqual({ valid: false, code: 'revoked' });
    expect((await api.delete(`/keys/${keyId}`).expect(200)).body.revokedAt).toBe(START);
    // The licence's other key is untouched.
    expect((await validate(other.key).expect(200)).body.code).toBe('valid');
  });

  test('suspended while the licence is suspended, valid again once resumed', async () => {
    const id = await licence();
    const { key } = await issue(id);
    const suspended = await api.post(`/licenses/${id}/suspend`, {}).expect(200);
    expect(suspended.body.suspendedAt).toBe(START);
    expect((await validate(key).expect(200)).body).toEqual({ valid: false, code: 'suspended' });
    const resumed = await api.post(`/licenses/${id}/resume`, {}).expect(200);
    expect(resumed.body.suspendedAt).toBeNull();
    expect((await validate(key).expect(200)).body.code).toBe('valid');
  });

  test('entitlement_missing when asked for a feature the licence lacks', async () => {
    const { key } = await issue(await licence({ entitlements: ['export', 'sso'] }));
    expect((await validate(key, { entitlements: ['export'] }).expect(200)).body.code).toBe('valid');
    expect((await validate(key, { entitlements: ['export', 'audit'] }).expect(200)).body).toEqual({
      valid: false,
      code: 'entitlement_missing',
    });
  });

  test('version_not_covered above maxVersion; a version not semver is 400', async () => {
    const { key } = await issue(await licence({ maxVersion: '2.x' }));
    expect((await validate(key, { version: '2.9.1' }).expect(200)).body.code).toBe('valid');
    expect((await validate(key, { version: '3.0.0' }).expect(200)).body).toEqual({
      valid: false,
      code: 'version_not_covered',
    });
    expect((await validate(key, { version: 'banana' }).expect(400)).body.code).toBe(
      'invalid_input',
    );
    expect((await validate(key, { colour: 'red' }).expect(400)).body.code).toBe('invalid_input');
    // Machines and leases are checked (test/e2e/machines.test.ts, leases.test.ts).
    expect((await validate(key, { fingerprint: 'abc' }).expect(200)).body.code).toBe(
      'fingerprint_mismatch',
    );
    expect((await validate(key, { lease: 'l' }).expect(200)).body.code).toBe('no_lease');
  });

  test('issue, revoke, suspend, resume and a refused validation are audited', async () => {
    const t = await newTenant(db.knex, 'Keys audit');
    const tapi = apiClient(app, t.apiToken);
    const prod = (await tapi.post('/products', { name: 'P' }).expect(201)).body.id;
    const id = (
      await tapi
        .post('/licenses', { productId: prod, name: 'L', type: 'trial', quantity: 1 })
        .expect(201)
    ).body.item.id;
    const issued = (await tapi.post(`/licenses/${id}/keys`, {}).expect(201)).body;
    await tapi.post(`/licenses/${id}/suspend`, {}).expect(200);
    await validate(issued.key, { version: '1.0.0' }).expect(200);
    await validate(issued.key).expect(200);
    await tapi.post(`/licenses/${id}/resume`, {}).expect(200);
    await validate(issued.key).expect(200); // valid: not audited
    await tapi.delete(`/keys/${issued.id}`).expect(200);
    await settleAudit(db.knex, { tenantId: t.id });
    const events: Array<{ action: string; targetId: string | null; payload: unknown }> = [];
    for await (const e of readAuditEvents(db.knex, { tenantId: t.id })) events.push(e);
    const keyEvents = events.filter((e) =>
      /^(license_key|license\.(suspended|resumed))/.test(e.action),
    );
    expect(keyEvents.map((e) => e.action)).toEqual([
      'license_key.issued',
      'license.suspended',
      'license_key.refused',
      'license_key.refused',
      'license.resumed',
      'license_key.revoked',
    ]);
    expect(keyEvents[2]!.payload).toEqual({
      keyId: issued.id,
      code: 'suspended',
      version: '1.0.0',
    });
  });
});

describe('licence writes', () => {
  test('maxVersion must be a semver version or x-range, on create and on update', async () => {
    for (const maxVersion of ['2', '2.x', '2.3.x', '2.3.1', '2.X']) await licence({ maxVersion });
    for (const maxVersion of ['>=2', '^2', 'latest', '2.3.4.5', '*']) {
      const res = await api.post('/licenses', {
        productId: product,
        name: 'L',
        type: 'trial',
        quantity: 1,
        maxVersion,
      });
      expect(res.status).toBe(400);
    }
    const id = await licence();
    expect((await api.patch(`/licenses/${id}`, { maxVersion: 'v2' })).status).toBe(400);
  });

  test('a key for a licence that has ended is 409; one in its grace period is issued', async () => {
    const ended = await licence({ endsAt: '2026-05-01T00:00:00Z' });
    const res = await api.post(`/licenses/${ended}/keys`, {}).expect(409);
    expect(res.body).toMatchObject({ status: 409, code: 'license_ended' });
    expect((await api.get(`/licenses/${ended}/keys`).expect(200)).body.total).toBe(0);
    const graced = await licence({ endsAt: '2026-05-30T00:00:00Z', graceDays: 5 });
    expect((await issue(graced)).expiresAt).toBe('2026-06-04T00:00:00.000Z');
  });

  test('keys are listed without their text; a bad body or offlineGraceSeconds is 400', async () => {
    const id = await licence();
    const one = await issue(id);
    await issue(id);
    const list = await api.get(`/licenses/${id}/keys?limit=1`).expect(200);
    expect(list.body.total).toBe(2);
    expect(list.body.nextCursor).toEqual(expect.any(String));
    expect(list.body.items[0]).toEqual({
      id: one.id,
      licenseId: id,
      kid: decodeProtectedHeader(one.key).kid,
      issuedAt: START,
      expiresAt: null,
      revokedAt: null,
    });
    expect(JSON.stringify(list.body)).not.toContain(one.key.split('.')[2]);
    await api.post(`/licenses/${id}/keys`, { offlineGraceSeconds: -1 }).expect(400);
    await api.post(`/licenses/${id}/keys`, { seats: 9 }).expect(400);
  });
});

describe('tenants never see each other', () => {
  test("another tenant's licence and key answer 404, and its JWKS holds none of them", async () => {
    const id = await licence();
    const { key, id: keyId } = await issue(id);
    await apiB.post(`/licenses/${id}/keys`, {}).expect(404);
    await apiB.get(`/licenses/${id}/keys`).expect(404);
    await apiB.delete(`/keys/${keyId}`).expect(404);
    await apiB.post(`/licenses/${id}/suspend`, {}).expect(404);
    await apiB.post(`/licenses/${id}/resume`, {}).expect(404);
    expect((await validate(key).expect(200)).body.code).toBe('valid');
    const { kid } = decodeProtectedHeader(key);
    expect((await jwksOf(b.id)).keys.map((k) => k.kid)).not.toContain(kid);
    await request(app).get(`/keys/${randomUUIDv4()}/jwks.json`).expect(404);
    await request(app).get('/keys/not-a-uuid/jwks.json').expect(404);
  });

  test("a key re-issued under another tenant's iss is refused", async () => {
    const { key } = await issue(await licence());
    const signer = await currentPrivateKey(a.id);
    const forged = await new SignJWT({ ...decodeJwt(key), iss: b.id })
      .setProtectedHeader({ alg: 'EdDSA', typ: TYP, kid: signer.kid })
      .sign(signer.key);
    expect((await validate(forged).expect(401)).body.code).toBe('invalid_key');
  });
});

describe('rotation', () => {
  test('old keys keep verifying; new keys are signed by the new kid; a retired key leaves the JWKS once its keys have expired', async () => {
    const t = await newTenant(db.knex, 'Keys rotation');
    const rapi = apiClient(app, t.apiToken);
    const prod = (await rapi.post('/products', { name: 'P' }).expect(201)).body.id;
    const lic = (
      await rapi
        .post('/licenses', {
          productId: prod,
          name: 'L',
          type: 'trial',
          quantity: 1,
          endsAt: '2026-07-01T00:00:00Z',
        })
        .expect(201)
    ).body.item.id;
    const before = (await rapi.post(`/licenses/${lic}/keys`, {}).expect(201)).body.key as string;
    const oldKid = decodeProtectedHeader(before).kid;
    const rotated = await rotateSigningKey({
      knex: db.knex,
      tenantId: t.id,
      actor: testActor,
      clock,
      kek,
    });
    expect(rotated.retired).toBe(oldKid);
    const after = (await rapi.post(`/licenses/${lic}/keys`, {}).expect(201)).body.key as string;
    expect(decodeProtectedHeader(after).kid).toBe(rotated.kid);
    const jwks = await jwksOf(t.id);
    expect(jwks.keys.map((k) => k.kid)).toEqual([rotated.kid, oldKid]);
    for (const k of [before, after]) {
      await jwtVerify(k, createLocalJWKSet(jwks), {
        algorithms: ['EdDSA'],
        typ: TYP,
        currentDate: clock.now(),
      });
      expect((await validate(k).expect(200)).body.code).toBe('valid');
    }
    clock.set('2026-07-01T00:00:01Z');
    expect((await jwksOf(t.id)).keys.map((k) => k.kid)).toEqual([rotated.kid]);
    // Online, the retired key is still known: the key is answered `expired`, not refused.
    expect((await validate(before).expect(200)).body.code).toBe('expired');
  });
});

describe('concurrent rotations', () => {
  test('take turns: every rotation retires the key before it, and one key signs', async () => {
    const t = await newTenant(db.knex, 'Keys concurrent rotation');
    const other = db.another(4);
    try {
      const rotations = await Promise.all(
        [0, 1, 2, 3].map(() =>
          rotateSigningKey({ knex: other, tenantId: t.id, actor: testActor, clock, kek }),
        ),
      );
      const rows = await withTenant(db.knex, t.id, (trx) =>
        trx('license_signing_keys').where({ tenant_id: t.id }).select('kid', 'retired_at'),
      );
      expect(rows).toHaveLength(4);
      expect(rows.filter((r) => r.retired_at === null)).toHaveLength(1);
      // A chain: each rotation retired exactly the key the one before it made.
      const retired = rotations.map((r) => r.retired).filter((r) => r !== null);
      expect(retired).toHaveLength(3);
      expect(new Set(retired).size).toBe(3);
      for (const r of retired) expect(rotations.map((x) => x.kid)).toContain(r);
    } finally {
      await other.destroy();
    }
  });
});

describe('rate limit', () => {
  test('validations a minute per key: over it, 429 with Retry-After; another key is unaffected', async () => {
    const limited = testApp(db.knex, undefined, {
      clock,
      licenseKeys: { kek, validationsPerMinute: 2 },
    });
    const k1 = (await issue(await licence())).key;
    const k2 = (await issue(await licence())).key;
    await validate(k1, {}, limited).expect(200);
    await validate(k1, {}, limited).expect(200);
    const over = await validate(k1, {}, limited).expect(429);
    expect(over.body).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(60);
    await validate(k2, {}, limited).expect(200);
  });
});

describe('examples/verify-offline.mjs', () => {
  test('verifies with jose and a saved JWKS alone: exit 0 and the claims when valid, 1 otherwise (RFC 7515 §5.2)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sk-offline-'));
    try {
      const jwksFile = path.join(dir, 'jwks.json');
      await writeFile(jwksFile, JSON.stringify(await jwksOf(a.id)));
      // Perpetual: no exp, and nbf in the past, so the real clock the script runs on agrees.
      const { key } = await issue(await licence({ type: 'perpetual' }));
      const example = (args: string[]) =>
        run(process.execPath, [path.join(ROOT, 'examples/verify-offline.mjs'), ...args], {});
      const ok = await example(['--jwks', jwksFile, '--key', key]);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout).claims).toMatchObject({
        iss: a.id,
        lic: { v: 1, type: 'perpetual' },
      });
      const [h, p, sig] = key.split('.');
      const flipped = `${h}.${p}.${sig!.slice(0, -2)}${sig!.endsWith('AA') ? 'BA' : 'AA'}`;
      const bad = await example(['--jwks', jwksFile, '--key', flipped]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/invalid licence key/);
      const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: TYP }))}.${p}.`;
      expect((await example(['--jwks', jwksFile, '--key', none])).code).toBe(1);
      const otherTenant = path.join(dir, 'other.json');
      await writeFile(otherTenant, JSON.stringify(await jwksOf(b.id)));
      expect((await example(['--jwks', otherTenant, '--key', key])).code).toBe(1);
      expect((await example(['--key', key])).code).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function randomUUIDv4() {
  return '00000000-0000-4000-8000-000000000000';
}
