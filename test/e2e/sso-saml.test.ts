// SAML 2.0 sign-in (issue 15): the SP's metadata, SP-initiated sign-in over the
// HTTP-Redirect binding, the POST binding's ACS, and one test per refusal. The IdP is
// played by test/support/saml-idp.ts: keys and certificates made at test time,
// responses signed by xml-crypto; each attack is the honest response with one change.
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import { DirectoryHooks } from '../../src/directory/index.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { quietLogger } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import {
  authnRequestOf,
  BEARER,
  EMAIL_FORMAT,
  makeIdpKey,
  requestIdOf,
  responseXml,
  sign,
  type IdpKey,
  type ResponseFields,
} from '../support/saml-idp.js';
import { scimClient, userBody, type ScimClient } from '../support/scim.js';

const SP = 'https://seatkeeper.example.com';
const IDP = 'https://idp.example.org/saml';
const IDP_SSO = 'https://idp.example.org/saml/sso';

let db: TestDb;
let tenant: CreatedTenant;
let app: ReturnType<typeof createApp>;
let api: ApiClient;
let scim: ScimClient;
let idpKey: IdpKey;
let nextKey: IdpKey;
let attackerKey: IdpKey;

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'SAML');
  app = createApp({
    knex: db.knex,
    logger: quietLogger,
    bodyLimit: 1024 * 1024,
    state: { shuttingDown: false },
    hooks: new DirectoryHooks(),
    publicUrl: SP,
    // A TLS-terminating proxy on loopback: its X-Forwarded-Proto decides Secure.
    trustProxy: 'loopback',
    sso: { secretKey: new Uint8Array(randomBytes(32)) },
  });
  api = apiClient(app, tenant.apiToken);
  scim = scimClient(app, tenant.scimToken);
  idpKey = makeIdpKey('IdP current');
  nextKey = makeIdpKey('IdP next');
  attackerKey = makeIdpKey('Attacker');
});
afterAll(() => db.close());

async function connection(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api
    .post('/sso/connections', {
      type: 'saml',
      idpEntityId: IDP,
      idpSsoUrl: IDP_SSO,
      idpCertificates: [idpKey.cert],
      linkBy: 'email',
      ...extra,
    })
    .expect(201);
  return res.body.id;
}

let n = 0;
async function person(extra: Record<string, unknown> = {}) {
  n += 1;
  const email = `saml${n}@corp.example`;
  const id = (await scim.post('/Users', userBody(email, extra)).expect(201)).body.id as string;
  return { id, email };
}

/** Start a sign-in at the SP: the AuthnRequest's ID and the redirect it answered. */
async function begin(id: string, returnTo = '/me') {
  const res = await request(app)
    .get(`/sso/saml/${id}/login?returnTo=${encodeURIComponent(returnTo)}`)
    .expect(302);
  return { requestId: requestIdOf(res.headers.location!), location: res.headers.location! };
}

/** The honest answer to a request, for `email`, with `over` changed. */
function fields(
  id: string,
  email: string,
  requestId: string | null,
  over: Partial<ResponseFields> = {},
): ResponseFields {
  const now = Date.now();
  return {
    responseId: `_r${randomUUID()}`,
    assertionId: `_a${randomUUID()}`,
    inResponseTo: requestId,
    destination: `${SP}/sso/saml/${id}/acs`,
    responseIssuer: IDP,
    issuer: IDP,
    nameId: email,
    nameIdFormat: EMAIL_FORMAT,
    method: BEARER,
    recipient: `${SP}/sso/saml/${id}/acs`,
    audience: `${SP}/sso/saml/${id}/metadata`,
    notBefore: now - 60_000,
    notOnOrAfter: now + 5 * 60_000,
    attributes: {},
    ...over,
  };
}

const post = (id: string, xml: string, headers: Record<string, string> = {}) =>
  request(app)
    .post(`/sso/saml/${id}/acs`)
    .set(headers)
    .type('form')
    .send({ SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: '' });

async function lastRefusalBody(): Promise<{ reason: string; detail?: string } | undefined> {
  const rows = await withTenant(db.knex, tenant.id, (trx) =>
    trx('audit_events')
      .where({ tenant_id: tenant.id, action: 'sso.sign_in_refused' })
      .orderBy('seq', 'desc')
      .limit(1)
      .pluck('body'),
  );
  return rows[0] as { reason: string; detail?: string } | undefined;
}
async function lastRefusal(): Promise<string | undefined> {
  const rows = await withTenant(db.knex, tenant.id, (trx) =>
    trx('audit_events')
      .where({ tenant_id: tenant.id, action: 'sso.sign_in_refused' })
      .orderBy('seq', 'desc')
      .limit(1)
      .pluck('body'),
  );
  return (rows[0] as { reason: string } | undefined)?.reason;
}

describe('metadata and the AuthnRequest', () => {
  test('metadata names the SP entity and its POST ACS (SAML Metadata §2.4.4)', async () => {
    const id = await connection();
    const res = await request(app).get(`/sso/saml/${id}/metadata`).expect(200);
    expect(res.type).toBe('application/samlmetadata+xml');
    expect(res.text).toContain(`entityID="${SP}/sso/saml/${id}/metadata"`);
    expect(res.text).toMatch(
      new RegExp(
        `AssertionConsumerService[^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"[^>]*Location="${SP}/sso/saml/${id}/acs"`,
      ),
    );
  });

  test('login redirects to the IdP with a deflated AuthnRequest (Bindings §3.4)', async () => {
    const id = await connection();
    const { location } = await begin(id);
    expect(location.startsWith(`${IDP_SSO}?SAMLRequest=`)).toBe(true);
    const xml = authnRequestOf(location);
    expect(xml).toContain(`AssertionConsumerServiceURL="${SP}/sso/saml/${id}/acs"`);
    expect(xml).toContain(`Destination="${IDP_SSO}"`);
    expect(xml).toContain(`${SP}/sso/saml/${id}/metadata</saml:Issuer>`);
  });

  test('an OIDC connection id is not a SAML one', async () => {
    await request(app).get(`/sso/saml/${randomUUID()}/metadata`).expect(404);
  });
});

describe('SP-initiated sign-in', () => {
  test('a signed assertion for a directory user lands on returnTo with a session', async () => {
    const id = await connection();
    const p = await person();
    const { requestId } = await begin(id, '/me?from=saml');
    const res = await post(id, sign(responseXml(fields(id, p.email, requestId)), idpKey), {
      'X-Forwarded-Proto': 'https',
    });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/me?from=saml');
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c: string) =>
      c.startsWith('sk_session='),
    )!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Secure/); // https at the proxy
    const me = await request(app)
      .get('/api/v1/me')
      .set('Cookie', cookie.split(';')[0]!)
      .expect(200);
    expect(me.body.user).toEqual({ id: p.id, userName: p.email });
  });

  test('a new sign-in ends the session the browser had, though the IdP POST carries no cookie (session fixation)', async () => {
    const id = await connection();
    const p = await person();
    const sessionOf = (res: request.Response) =>
      (res.headers['set-cookie'] as unknown as string[])
        .find((c: string) => c.startsWith('sk_session='))!
        .split(';')[0]!;
    const first = await begin(id);
    const old = sessionOf(
      await post(id, sign(responseXml(fields(id, p.email, first.requestId)), idpKey)),
    );
    await request(app).get('/api/v1/me').set('Cookie', old).expect(200);
    // The next SP-initiated start is a same-site navigation: it carries the cookie.
    const again = await request(app)
      .get(`/sso/saml/${id}/login?returnTo=%2Fme`)
      .set('Cookie', old)
      .expect(302);
    const requestId = requestIdOf(again.headers.location!);
    // The IdP's cross-site POST: SameSite=Lax keeps the cookie out of it.
    const fresh = sessionOf(
      await post(id, sign(responseXml(fields(id, p.email, requestId)), idpKey)),
    );
    expect(fresh).not.toBe(old);
    await request(app).get('/api/v1/me').set('Cookie', fresh).expect(200);
    await request(app).get('/api/v1/me').set('Cookie', old).expect(401);
  });

  test.each([['assertion'], ['response'], ['both']] as const)(
    'a connection wanting the %s signed accepts it signed so',
    async (signed) => {
      const id = await connection({ signed });
      const p = await person();
      const { requestId } = await begin(id);
      const res = await post(id, sign(responseXml(fields(id, p.email, requestId)), idpKey, signed));
      expect(res.status).toBe(302);
    },
  );

  test('two IdP certificates: either key signs (rollover)', async () => {
    const id = await connection({ idpCertificates: [idpKey.cert, nextKey.cert] });
    for (const key of [idpKey, nextKey]) {
      const p = await person();
      const { requestId } = await begin(id);
      expect((await post(id, sign(responseXml(fields(id, p.email, requestId)), key))).status).toBe(
        302,
      );
    }
  });

  test('linkBy email reads an email attribute when the NameID is not an address', async () => {
    const id = await connection();
    const p = await person();
    const { requestId } = await begin(id);
    const xml = responseXml(
      fields(id, p.email, requestId, {
        nameId: 'opaque-persistent-id',
        nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
        attributes: {
          'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress': p.email,
        },
      }),
    );
    expect((await post(id, sign(xml, idpKey))).status).toBe(302);
  });
});

describe('refusals: one per attack', () => {
  let id: string;
  let p: { id: string; email: string };
  beforeAll(async () => {
    id = await connection({ signed: 'assertion' });
    p = await person();
  });

  /** Refused, with this reason, and for this cause (the audited detail). */
  async function refused(
    build: (requestId: string) => string,
    cause: RegExp,
    reason = 'response_invalid',
  ): Promise<request.Response> {
    const { requestId } = await begin(id);
    const res = await post(id, build(requestId));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.type).toBe('text/html');
    expect(res.headers['set-cookie'] ?? []).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^sk_session=[^;]/)]),
    );
    const audited = await lastRefusalBody();
    expect(audited?.reason).toBe(reason);
    expect(audited?.detail).toMatch(cause);
    return res;
  }
  const honest = (requestId: string, over: Partial<ResponseFields> = {}) =>
    responseXml(fields(id, p.email, requestId, over));

  test('unsigned', () => refused((r) => honest(r), /Invalid signature/));
  test('signed by a key the connection does not trust', () =>
    refused((r) => sign(honest(r), attackerKey), /Invalid signature/));
  test("attacker's certificate in KeyInfo is not trusted (CVE-2024-32962)", () =>
    refused(
      (r) => sign(honest(r), attackerKey, 'assertion', { keyInfo: true }),
      /Invalid signature/,
    ));
  test('NameID edited after signing', () =>
    refused(
      (r) => sign(honest(r), idpKey).replace(p.email, 'admin@corp.example'),
      /Invalid signature/,
    ));
  test('expired (NotOnOrAfter in the past)', () =>
    refused(
      (r) =>
        sign(
          honest(r, { notBefore: Date.now() - 3_600_000, notOnOrAfter: Date.now() - 1_800_000 }),
          idpKey,
        ),
      /expired|no valid subject confirmation/i,
    ));
  test('not yet valid (NotBefore in the future)', () =>
    refused(
      (r) => sign(honest(r, { notBefore: Date.now() + 1_800_000 }), idpKey),
      /not yet valid/i,
    ));
  test('wrong audience', () =>
    refused((r) => sign(honest(r, { audience: 'https://other-sp.example' }), idpKey), /audience/i));
  test('wrong Destination', () =>
    refused(
      (r) => sign(honest(r, { destination: 'https://other-sp.example/acs' }), idpKey),
      /^Destination/,
    ));
  test('wrong Recipient', () =>
    refused(
      (r) => sign(honest(r, { recipient: 'https://other-sp.example/acs' }), idpKey),
      /^Recipient/,
    ));
  test('wrong Issuer', () =>
    refused(
      (r) =>
        sign(
          honest(r, { issuer: 'https://evil.example', responseIssuer: 'https://evil.example' }),
          idpKey,
        ),
      /Issuer https:\/\/evil.example/,
    ));
  test('SubjectConfirmation Method other than bearer', () =>
    refused(
      (r) => sign(honest(r, { method: 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key' }), idpKey),
      /Method|subject confirmation/i,
    ));
  test('InResponseTo naming a request this SP never made', () =>
    refused(() => sign(honest(`_${randomUUID()}`), idpKey), /InResponseTo is not valid/));
  test('no InResponseTo while IdP-initiated sign-in is off', async () => {
    const res = await refused(
      () => sign(responseXml(fields(id, p.email, null)), idpKey),
      /no InResponseTo/,
      'idp_initiated_disabled',
    );
    expect(res.text).toContain('Sign-in must start at Seatkeeper');
  });

  test('a response posted twice is refused the second time', async () => {
    const { requestId } = await begin(id);
    const xml = sign(honest(requestId), idpKey);
    expect((await post(id, xml)).status).toBe(302);
    const again = await post(id, xml);
    expect(again.status).toBe(403);
  });

  test('NameID comment injection names the whole text, not its first part', async () => {
    // The IdP signed admin@corp.example.evil.com; the comment does not change what
    // was signed (c14n drops comments), and must not change whom it names either.
    await scim.post('/Users', userBody('admin@corp.example')).expect(201);
    const { requestId } = await begin(id);
    const xml = sign(honest(requestId, { nameId: 'admin@corp.example.evil.com' }), idpKey).replace(
      'admin@corp.example.evil.com',
      'admin@corp.example<!---->.evil.com',
    );
    const res = await post(id, xml);
    expect(res.status).toBe(403);
    expect(await lastRefusal()).toBe('unknown_user');
  });
});

describe('IdP-initiated sign-in, when the connection turns it on', () => {
  test('an unsolicited response is accepted once; its replay is refused', async () => {
    const id = await connection({ idpInitiated: true });
    const p = await person();
    const xml = sign(responseXml(fields(id, p.email, null)), idpKey);
    const first = await post(id, xml);
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe('/me');
    const replay = await post(id, xml);
    expect(replay.status).toBe(403);
    expect(await lastRefusal()).toBe('replayed');
  });
});
