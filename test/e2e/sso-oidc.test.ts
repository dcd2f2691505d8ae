// OpenID Connect sign-in (issue 15) against a real OpenID Provider in-process
// (oidc-provider), over HTTP, with a minimal browser: the code flow with PKCE, state and
// nonce; sessions; /me and /api/v1/me; logout; and the refusals of the OpenID RP
// conformance plan, each played by the OP with its answer tampered with on the wire.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
} from 'jose';
import { withTenant } from '../../src/db/tenant-scope.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { Browser, type Hop } from '../support/browser.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { CLIENT_ID, CLIENT_SECRET, loginForm, startOp, type TestOp } from '../support/oidc-op.js';
import { GROUP, scimClient, userBody, type ScimClient } from '../support/scim.js';

const clock = fixedClock('2026-12-07T09:00:00.000Z');
const IDLE_MS = 30 * 60_000;
const ABSOLUTE_MS = 8 * 3600_000;

let db: TestDb;
let tenant: CreatedTenant;
let op: TestOp;
let server: Server;
let rp: string;
let api: ApiClient;
let scim: ScimClient;
let connectionId: string;
let keyJwtConnectionId: string;
const KEY_JWT_CLIENT = 'seatkeeper-key-jwt';

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'OIDC');
  let origin = 'http://127.0.0.1';
  const app = testApp(db.knex, undefined, {
    clock,
    publicUrl: () => origin,
    sso: {
      secretKey: new Uint8Array(randomBytes(32)),
      settings: { allowInsecureHttp: true, sessionIdleMs: IDLE_MS, sessionAbsoluteMs: ABSOLUTE_MS },
    },
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  origin = rp = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api = apiClient(app, tenant.apiToken);
  scim = scimClient(app, tenant.scimToken);
  // The OP's client must know the redirect URI, which needs the connection's id: the
  // connection first, then the OP, then the connection's issuer.
  connectionId = (
    await api
      .post('/sso/connections', {
        type: 'oidc',
        issuer: 'http://127.0.0.1/not-yet',
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        linkBy: 'email',
        domains: ['oidc.example'],
      })
      .expect(201)
  ).body.id;
  // A second connection authenticates to the token endpoint with private_key_jwt
  // (OIDC Core §9): the OP registers its public key, the connection keeps the private one.
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = 'rp-key-1';
  keyJwtConnectionId = (
    await api
      .post('/sso/connections', {
        type: 'oidc',
        issuer: 'http://127.0.0.1/not-yet',
        clientId: KEY_JWT_CLIENT,
        privateKeyJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' },
        linkBy: 'email',
      })
      .expect(201)
  ).body.id;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  op = await startOp(
    () => [`${rp}/sso/oidc/${connectionId}/callback`],
    (issuer) => [
      {
        client_id: KEY_JWT_CLIENT,
        redirect_uris: [`${rp}/sso/oidc/${keyJwtConnectionId}/callback`],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        id_token_signed_response_alg: 'ES256',
        jwks_uri: `${issuer}/client-jwks/${KEY_JWT_CLIENT}`,
      },
    ],
  );
  op.clientJwks.set(KEY_JWT_CLIENT, [publicJwk]);
  await api.patch(`/sso/connections/${connectionId}`, { issuer: op.issuer }).expect(200);
  await api.patch(`/sso/connections/${keyJwtConnectionId}`, { issuer: op.issuer }).expect(200);
});
afterAll(async () => {
  await op.close();
  await new Promise((r) => server.close(r));
  await db.close();
});
afterEach(() => {
  op.tamperToken = op.tamperDiscovery = op.tamperUserinfo = null;
});

let n = 0;
/** A directory user (SCIM) and an OP account with the same email. */
async function person(extra: Record<string, unknown> = {}) {
  n += 1;
  const email = `person${n}@oidc.example`;
  const id = (await scim.post('/Users', userBody(email, extra)).expect(201)).body.id as string;
  op.accounts.set(`acct-${n}`, { email, email_verified: true, preferred_username: email });
  return { id, email, account: `acct-${n}` };
}

/** Sign in from the RP's login route to wherever the flow lands; every hop. */
async function signIn(
  browser: Browser,
  account: string,
  returnTo = '/me',
  via = connectionId,
): Promise<Hop[]> {
  const start = await browser.follow(
    `${rp}/sso/oidc/${via}/login?returnTo=${encodeURIComponent(returnTo)}`,
  );
  const form = start.at(-1)!;
  if (!form.url.startsWith(`${op.issuer}/interaction/`)) return start;
  return [...start, ...(await browser.follow(form.url, { form: loginForm(account) }))];
}

const landed = (hops: Hop[]) => hops.at(-1)!;
const callbackHop = (hops: Hop[]) => hops.find((h) => h.url.includes('/callback'))!;

async function refusals(): Promise<Array<{ reason: string }>> {
  const rows = await withTenant(db.knex, tenant.id, (trx) =>
    trx('audit_events')
      .where({ tenant_id: tenant.id, action: 'sso.sign_in_refused' })
      .orderBy('seq')
      .pluck('body'),
  );
  return rows as Array<{ reason: string }>;
}
const lastRefusal = async () => (await refusals()).at(-1)?.reason;

describe('the code flow (OIDC Core §3.1) with PKCE (RFC 7636)', () => {
  test('a directory user signs in and lands on /me with a session cookie', async () => {
    const p = await person();
    const browser = new Browser();
    const hops = await signIn(browser, p.account);
    const authz = new URL(hops.find((h) => h.location?.startsWith(`${op.issuer}/auth`))!.location!);
    expect(authz.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authz.searchParams.get('state')).toBeTruthy();
    expect(authz.searchParams.get('nonce')).toBeTruthy();
    expect(authz.searchParams.get('redirect_uri')).toBe(`${rp}/sso/oidc/${connectionId}/callback`);
    const cb = callbackHop(hops);
    expect(cb.status).toBe(302);
    expect(cb.location).toBe(`${rp}/me`);
    const cookie = cb.setCookies.find((c) => c.startsWith('sk_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/); // plain http here; Secure over https
    const me = landed(hops);
    expect(me.status).toBe(200);
    expect(me.body).toContain(p.email);
  });

  test('a connection with private_key_jwt signs in: the OP verified our client assertion (OIDC Core §9)', async () => {
    const p = await person();
    const hops = await signIn(new Browser(), p.account, '/me', keyJwtConnectionId);
    const cb = callbackHop(hops);
    expect(cb.status).toBe(302);
    expect(cb.setCookies.some((c) => c.startsWith('sk_session='))).toBe(true);
    expect(landed(hops).body).toContain(p.email);
  });

  test('/api/v1/me answers the user, isAdmin and their seats; 401 without a session', async () => {
    const p = await person();
    const browser = new Browser();
    await signIn(browser, p.account);
    const me = await browser.request(`${rp}/api/v1/me`);
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toEqual({
      user: { id: p.id, userName: p.email },
      isAdmin: false,
      seats: [],
    });
    const anonymous = await new Browser().request(`${rp}/api/v1/me`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.contentType).toMatch(/application\/problem\+json/);
  });

  test('members of adminGroupIds, nested groups included, are admins', async () => {
    const p = await person();
    const inner = (
      await scim
        .post('/Groups', { schemas: [GROUP], displayName: 'Inner', members: [{ value: p.id }] })
        .expect(201)
    ).body.id;
    const admins = (
      await scim
        .post('/Groups', { schemas: [GROUP], displayName: 'Admins', members: [{ value: inner }] })
        .expect(201)
    ).body.id;
    await api.patch(`/sso/connections/${connectionId}`, { adminGroupIds: [admins] }).expect(200);
    try {
      const browser = new Browser();
      await signIn(browser, p.account);
      const me = JSON.parse((await browser.request(`${rp}/api/v1/me`)).body);
      expect(me.isAdmin).toBe(true);
    } finally {
      await api.patch(`/sso/connections/${connectionId}`, { adminGroupIds: [] }).expect(200);
    }
  });

  test('a sign-in is audited and records the user as active', async () => {
    const p = await person();
    await signIn(new Browser(), p.account);
    const [event] = await withTenant(db.knex, tenant.id, (trx) =>
      trx('audit_events').where({
        tenant_id: tenant.id,
        action: 'sso.signed_in',
        subject_id: p.id,
      }),
    );
    expect(event).toMatchObject({ actor_type: 'user', actor_id: p.id });
    const user = await db.owner('directory_users').where({ user_id: p.id }).first();
    expect(user.last_active_at).toEqual(clock.now());
  });
});

describe('who may sign in', () => {
  test('an identity no directory user has is refused with a page, audited', async () => {
    op.accounts.set('stranger', { email: 'stranger@oidc.example', email_verified: true });
    const hops = await signIn(new Browser(), 'stranger');
    const cb = callbackHop(hops);
    expect(cb.status).toBe(403);
    expect(cb.contentType).toMatch(/text\/html/);
    expect(cb.body).toContain('not known to Seatkeeper');
    expect(
      cb.setCookies.some((c) => c.startsWith('sk_session=') && !c.startsWith('sk_session=;')),
    ).toBe(false);
    expect(await lastRefusal()).toBe('unknown_user');
  });

  test('a deactivated user is refused', async () => {
    const p = await person({ active: false });
    const cb = callbackHop(await signIn(new Browser(), p.account));
    expect(cb.status).toBe(403);
    expect(cb.body).toContain('deactivated');
    expect(await lastRefusal()).toBe('inactive_user');
  });

  test('an email the OP has not verified links nobody (OIDC Core §5.7)', async () => {
    const p = await person();
    op.accounts.get(p.account)!.email_verified = false;
    const cb = callbackHop(await signIn(new Browser(), p.account));
    expect(cb.status).toBe(403);
    expect(await lastRefusal()).toBe('identity_missing');
  });
});

/** Re-sign the OP's ID token with `edit` applied (claims, header, key). */
async function forge(
  body: Record<string, unknown>,
  edit: { claims?: Record<string, unknown>; key?: JWK; alg?: string; none?: boolean },
): Promise<Record<string, unknown>> {
  const original = String(body.id_token);
  const claims = { ...decodeJwt(original), ...edit.claims };
  if (edit.none) {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    return { ...body, id_token: `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.` };
  }
  const key = edit.key ?? op.signingKey;
  const header = {
    alg: String(key.alg ?? 'ES256'),
    kid: key.kid ?? decodeProtectedHeader(original).kid,
  };
  const signed = await new SignJWT(claims)
    .setProtectedHeader(header)
    .sign(await importJWK(key, header.alg));
  return { ...body, id_token: signed };
}

/** Tamper with the OP's token response (sync for the OP's wire hook; forged beforehand). */
async function signInWithTamperedToken(
  edit: Parameters<typeof forge>[1],
): Promise<{ cb: Hop; reason: string | undefined }> {
  const p = await person();
  // One honest sign-in gives the token response's shape (its claims, for this person).
  const shape: Array<Record<string, unknown>> = [];
  op.tamperToken = (body) => {
    shape.push(body);
    return body;
  };
  await signIn(new Browser(), p.account);
  op.tamperToken = null;
  const template = shape[0]!;
  // The next sign-in's nonce is known once it starts: the forgery carries it (unless
  // the edit is about the nonce), and the OP's wire hook swaps it in.
  const browser = new Browser();
  const start = await browser.follow(`${rp}/sso/oidc/${connectionId}/login?returnTo=/me`);
  const authz = new URL(start.find((h) => h.location?.startsWith(`${op.issuer}/auth`))!.location!);
  const nonce = authz.searchParams.get('nonce');
  const forged = await forge(
    { ...template },
    { ...edit, claims: { nonce, iat: Math.floor(Date.now() / 1000), ...edit.claims } },
  );
  op.tamperToken = (body) => ({ ...body, id_token: forged.id_token });
  const rest = await browser.follow(start.at(-1)!.url, { form: loginForm(p.account) });
  return { cb: callbackHop(rest), reason: await lastRefusal() };
}

describe('refusals of the OpenID RP conformance plan', () => {
  test('the honest token, re-signed unchanged by the OP key, is accepted (the forge is sound)', async () => {
    const { cb } = await signInWithTamperedToken({});
    expect(cb.status).toBe(302);
  });

  test.each([
    ['wrong issuer (OIDC Core §3.1.3.7 2)', { claims: { iss: 'https://evil.example' } }],
    ['wrong audience (§3.1.3.7 3)', { claims: { aud: 'someone-else' } }],
    ['nonce mismatch (§3.1.3.7 11)', { claims: { nonce: 'not-the-nonce' } }],
    [
      'expired (§3.1.3.7 9)',
      {
        claims: {
          exp: Math.floor(Date.now() / 1000) - 3600,
          iat: Math.floor(Date.now() / 1000) - 7200,
        },
      },
    ],
  ])('%s is refused', async (_name, edit) => {
    const { cb, reason } = await signInWithTamperedToken(edit);
    expect(cb.status).toBe(403);
    expect(cb.body).toContain('could not be verified');
    expect(reason).toBe('response_invalid');
  });

  test('a signature by a key not in the OP JWKS is refused (§3.1.3.7 6)', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const { exportJWK } = await import('jose');
    const attacker = { ...(await exportJWK(privateKey)), alg: 'ES256', kid: op.signingKey.kid };
    const { cb, reason } = await signInWithTamperedToken({ key: attacker });
    expect(cb.status).toBe(403);
    expect(reason).toBe('response_invalid');
  });

  test('alg "none" is refused', async () => {
    const { cb, reason } = await signInWithTamperedToken({ none: true });
    expect(cb.status).toBe(403);
    expect(reason).toBe('response_invalid');
  });

  test('a userinfo sub other than the ID token sub is refused (§5.3.2)', async () => {
    const p = await person();
    op.tamperUserinfo = (body) => ({ ...body, sub: 'someone-else' });
    const cb = callbackHop(await signIn(new Browser(), p.account));
    expect(cb.status).toBe(403);
    expect(await lastRefusal()).toBe('response_invalid');
  });

  test('a discovery document naming another issuer is refused (OIDC Discovery §4.3)', async () => {
    const p = await person();
    // A fresh configuration is discovered after the connection changes.
    await api
      .patch(`/sso/connections/${connectionId}`, { scopes: ['openid', 'email'] })
      .expect(200);
    op.tamperDiscovery = (doc) => ({ ...doc, issuer: 'https://evil.example' });
    try {
      const hops = await signIn(new Browser(), p.account);
      const first = hops[0]!;
      expect(first.status).toBe(403);
      expect(first.contentType).toMatch(/text\/html/);
      expect(await lastRefusal()).toBe('idp_error');
    } finally {
      op.tamperDiscovery = null;
      await api
        .patch(`/sso/connections/${connectionId}`, { scopes: ['openid', 'email', 'profile'] })
        .expect(200);
    }
  });

  test("the OP's key rotation is followed: an unknown kid re-fetches the JWKS", async () => {
    const p = await person();
    const browser = new Browser();
    expect(callbackHop(await signIn(browser, p.account)).status).toBe(302);
    await op.rotateKey();
    // openid-client re-fetches for an unknown kid at most once a minute: a minute passes.
    const realNow = Date.now;
    Date.now = () => realNow() + 61_000;
    try {
      expect(callbackHop(await signIn(new Browser(), p.account)).status).toBe(302);
    } finally {
      Date.now = realNow;
    }
  });
});

describe('state and the browser that began the sign-in', () => {
  test('a callback replayed after use is refused (state is used once)', async () => {
    const p = await person();
    const browser = new Browser();
    const hops = await signIn(browser, p.account);
    const cb = callbackHop(hops);
    expect(cb.status).toBe(302);
    const again = await browser.request(cb.url);
    expect(again.status).toBe(403);
    expect(await lastRefusal()).toBe('flow_unknown');
  });

  test('a callback with a state this service never issued is refused', async () => {
    const res = await new Browser().request(
      `${rp}/sso/oidc/${connectionId}/callback?code=abc&state=forged`,
    );
    expect(res.status).toBe(403);
    expect(res.body).toContain('expired or was already used');
  });

  test('a callback delivered to another browser is refused (login CSRF)', async () => {
    const p = await person();
    const victim = new Browser();
    const attacker = new Browser();
    const start = await attacker.follow(`${rp}/sso/oidc/${connectionId}/login`);
    const rest = await attacker.follow(start.at(-1)!.url, {
      form: loginForm(p.account),
      until: (h) => h.location?.includes('/callback') ?? false,
    });
    const res = await victim.request(rest.at(-1)!.location!);
    expect(res.status).toBe(403);
    expect(await lastRefusal()).toBe('flow_other_browser');
  });

  test('an unknown connection is a 404 page', async () => {
    const res = await new Browser().request(
      `${rp}/sso/oidc/0190a0a0-0000-7000-8000-00000000dead/login`,
    );
    expect(res.status).toBe(404);
    expect(res.contentType).toMatch(/text\/html/);
  });
});

describe('returnTo (no open redirect)', () => {
  test.each([
    ['/me?tab=seats', '/me?tab=seats'],
    ['https://evil.example/', '/me'],
    ['//evil.example/', '/me'],
    ['/\\evil.example/', '/me'],
    ['javascript:alert(1)', '/me'],
  ])('returnTo %s lands on %s', async (returnTo, expected) => {
    const p = await person();
    const cb = callbackHop(await signIn(new Browser(), p.account, returnTo));
    expect(cb.location).toBe(`${rp}${expected}`);
  });
});

describe('sessions', () => {
  const sessionCookie = (b: Browser) => b.cookies(rp).get('sk_session');

  test('signing in again rotates the session: the old cookie opens nothing (fixation)', async () => {
    const p = await person();
    const browser = new Browser();
    await signIn(browser, p.account);
    const first = sessionCookie(browser)!;
    await signIn(browser, p.account);
    const second = sessionCookie(browser)!;
    expect(second).not.toBe(first);
    const stale = new Browser();
    stale.setCookie(rp, 'sk_session', first);
    expect((await stale.request(`${rp}/api/v1/me`)).status).toBe(401);
  });

  test('a planted session cookie is replaced at sign-in', async () => {
    const p = await person();
    const browser = new Browser();
    const planted = `${tenant.id}.0190a0a0-0000-7000-8000-000000000001.${'A'.repeat(43)}`;
    browser.setCookie(rp, 'sk_session', planted);
    await signIn(browser, p.account);
    expect(sessionCookie(browser)).not.toBe(planted);
    expect((await browser.request(`${rp}/api/v1/me`)).status).toBe(200);
  });

  test('a session ends after the idle timeout, and after the absolute one however used', async () => {
    const p = await person();
    const browser = new Browser();
    await signIn(browser, p.account);
    clock.advance(IDLE_MS - 1000);
    expect((await browser.request(`${rp}/api/v1/me`)).status).toBe(200);
    clock.advance(IDLE_MS - 1000);
    expect((await browser.request(`${rp}/api/v1/me`)).status).toBe(200);
    clock.advance(IDLE_MS + 1);
    expect((await browser.request(`${rp}/api/v1/me`)).status).toBe(401);

    const busy = new Browser();
    await signIn(busy, p.account);
    for (let t = 0; t < ABSOLUTE_MS; t += IDLE_MS / 2) {
      clock.advance(IDLE_MS / 2);
      await busy.request(`${rp}/api/v1/me`);
    }
    expect((await busy.request(`${rp}/api/v1/me`)).status).toBe(401);
  });

  test('deactivating the user ends their session', async () => {
    const p = await person();
    const browser = new Browser();
    await signIn(browser, p.account);
    await scim
      .patchOps(`/Users/${p.id}`, [{ op: 'replace', path: 'active', value: false }])
      .expect(200);
    expect((await browser.request(`${rp}/api/v1/me`)).status).toBe(401);
  });

  test('logout needs the page token or this origin (CSRF), then ends the session', async () => {
    const p = await person();
    const browser = new Browser();
    const me = landed(await signIn(browser, p.account));
    const csrf = /name="csrf" value="([^"]+)"/.exec(me.body)![1]!;

    const forged = await browser.request(`${rp}/logout`, {
      form: { csrf: 'wrong' },
      headers: { origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);
    expect((await browser.request(`${rp}/api/v1/me`)).status).toBe(200);

    const out = await browser.request(`${rp}/logout`, { form: { csrf } });
    expect(out.status).toBe(303);
    expect((await browser.request(`${rp}/api/v1/me`)).status).toBe(401);
    const actions = await withTenant(db.knex, tenant.id, (trx) =>
      trx('audit_events').where({ tenant_id: tenant.id, subject_id: p.id }).pluck('action'),
    );
    expect(actions).toContain('sso.signed_out');
  });

  test('a same-origin logout form post is accepted on its Origin header', async () => {
    const p = await person();
    const browser = new Browser();
    await signIn(browser, p.account);
    const out = await browser.request(`${rp}/logout`, { form: {}, headers: { origin: rp } });
    expect(out.status).toBe(303);
    expect((await browser.request(`${rp}/api/v1/me`)).status).toBe(401);
  });
});

describe("the admin API with an admin's session", () => {
  async function adminBrowser() {
    const p = await person();
    const admins = (
      await scim
        .post('/Groups', {
          schemas: [GROUP],
          displayName: `Admins ${n}`,
          members: [{ value: p.id }],
        })
        .expect(201)
    ).body.id;
    await api.patch(`/sso/connections/${connectionId}`, { adminGroupIds: [admins] }).expect(200);
    const browser = new Browser();
    const me = landed(await signIn(browser, p.account));
    await api.patch(`/sso/connections/${connectionId}`, { adminGroupIds: [] }).expect(200);
    return { browser, p, csrf: /name="csrf" value="([^"]+)"/.exec(me.body)![1]! };
  }
  const json = (body: unknown, headers: Record<string, string> = {}) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

  test('reads with the cookie alone; writes need the CSRF token or this origin', async () => {
    const { browser, p, csrf } = await adminBrowser();
    expect((await browser.request(`${rp}/api/v1/products`)).status).toBe(200);
    const cookie = `sk_session=${browser.cookies(rp).get('sk_session')}`;
    const post = (headers: Record<string, string>) =>
      fetch(`${rp}/api/v1/products`, json({ name: 'Figma' }, { cookie, ...headers }));
    const forged = await post({ origin: 'https://evil.example' });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { code: string }).code).toBe('csrf');
    expect((await post({})).status).toBe(403);
    const withToken = await post({ 'x-csrf-token': csrf });
    expect(withToken.status).toBe(201);
    expect((await post({ origin: rp })).status).toBe(201);
    // The change is the admin's, in the audit trail.
    const id = ((await withToken.json()) as { id: string }).id;
    const [event] = await withTenant(db.knex, tenant.id, (trx) =>
      trx('audit_events').where({ tenant_id: tenant.id, target_id: id }),
    );
    expect(event).toMatchObject({ actor_type: 'user', actor_id: p.id });
  });

  test("an end user's session is refused by the admin API (403)", async () => {
    const p = await person();
    const browser = new Browser();
    await signIn(browser, p.account);
    expect((await browser.request(`${rp}/api/v1/products`)).status).toBe(403);
    expect((await new Browser().request(`${rp}/api/v1/products`)).status).toBe(401);
  });
});

describe('/login?email= (discovery by domain)', () => {
  test("an address of a connection's domain is sent to its sign-in", async () => {
    const res = await new Browser().request(`${rp}/login?email=someone@OIDC.example&returnTo=/me`);
    expect(res.status).toBe(302);
    expect(res.location).toBe(`${rp}/sso/oidc/${connectionId}/login?returnTo=%2Fme`);
  });

  test('an address no connection lists gets the form again, saying so', async () => {
    const res = await new Browser().request(`${rp}/login?email=someone@nowhere.example`);
    expect(res.status).toBe(404);
    expect(res.body).toContain('No single sign-on is set up for nowhere.example');
  });
});
