// SAML signature attacks against the ACS (issue 15), one fixture each under
// test/fixtures/attacks/saml/: XML signature wrapping XSW1-XSW8 as SAML Raider builds
// them, a comment in DigestValue and a second SignedInfo (CVE-2025-29775/29774), and an
// identity added outside the signed bytes (CVE-2025-54369). Each starts from an honest
// response the IdP signed for an ordinary user and tries to sign in as an admin who
// exists. None may; the wrapping and digest attacks must be refused outright.
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import { DirectoryHooks } from '../../src/directory/index.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { quietLogger } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import {
  BEARER,
  EMAIL_FORMAT,
  makeIdpKey,
  requestIdOf,
  responseXml,
  sign,
  type IdpKey,
} from '../support/saml-idp.js';
import { scimClient, userBody } from '../support/scim.js';
import { SAML_ATTACKS } from '../fixtures/attacks/saml/index.js';

const SP = 'https://seatkeeper.example.com';
const IDP = 'https://idp.example.org/saml';
const VICTIM = 'admin@corp.example';
const HONEST = 'mallory@corp.example';

let db: TestDb;
let tenant: CreatedTenant;
let app: ReturnType<typeof createApp>;
let api: ApiClient;
let idpKey: IdpKey;
let attackerKey: IdpKey;
const connections: Record<'assertion' | 'response', string> = { assertion: '', response: '' };

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'SAML attacks');
  app = createApp({
    knex: db.knex,
    logger: quietLogger,
    bodyLimit: 1024 * 1024,
    state: { shuttingDown: false },
    hooks: new DirectoryHooks(),
    publicUrl: SP,
    sso: { secretKey: new Uint8Array(randomBytes(32)) },
  });
  api = apiClient(app, tenant.apiToken);
  const scim = scimClient(app, tenant.scimToken);
  await scim.post('/Users', userBody(VICTIM)).expect(201);
  await scim.post('/Users', userBody(HONEST)).expect(201);
  idpKey = makeIdpKey('IdP');
  attackerKey = makeIdpKey('Attacker');
  for (const signed of ['assertion', 'response'] as const) {
    connections[signed] = (
      await api
        .post('/sso/connections', {
          type: 'saml',
          idpEntityId: IDP,
          idpSsoUrl: `${IDP}/sso`,
          idpCertificates: [idpKey.cert],
          linkBy: 'email',
          signed,
        })
        .expect(201)
    ).body.id;
  }
});
afterAll(() => db.close());

/** A fresh request and the IdP's honest, signed answer to it for the honest user. */
async function honestAnswer(signed: 'assertion' | 'response'): Promise<string> {
  const id = connections[signed];
  const login = await request(app).get(`/sso/saml/${id}/login`).expect(302);
  const requestId = requestIdOf(login.headers.location!);
  const now = Date.now();
  const acs = `${SP}/sso/saml/${id}/acs`;
  const xml = responseXml({
    responseId: `_r${randomUUID()}`,
    assertionId: `_a${randomUUID()}`,
    inResponseTo: requestId,
    destination: acs,
    responseIssuer: IDP,
    issuer: IDP,
    nameId: HONEST,
    nameIdFormat: EMAIL_FORMAT,
    method: BEARER,
    recipient: acs,
    audience: `${SP}/sso/saml/${id}/metadata`,
    notBefore: now - 60_000,
    notOnOrAfter: now + 300_000,
    attributes: {},
  });
  return sign(xml, idpKey, signed);
}

const post = (signed: 'assertion' | 'response', xml: string) =>
  request(app)
    .post(`/sso/saml/${connections[signed]}/acs`)
    .type('form')
    .send({ SAMLResponse: Buffer.from(xml).toString('base64') });

/** Who a successful ACS answer signed in, by its session cookie. */
async function whoSignedIn(res: request.Response): Promise<string | null> {
  const cookies = (res.headers['set-cookie'] ?? []) as unknown as string[];
  const session = cookies.find((c) => /^sk_session=[^;]/.test(c));
  if (!session) return null;
  const me = await request(app).get('/api/v1/me').set('Cookie', session.split(';')[0]!);
  return me.body.user.userName;
}

test.each(['assertion', 'response'] as const)(
  'control: the honest answer, its %s signed, signs the honest user in',
  async (signed) => {
    const res = await post(signed, await honestAnswer(signed));
    expect(res.status).toBe(302);
    expect(await whoSignedIn(res)).toBe(HONEST);
  },
);

describe.each(Object.entries(SAML_ATTACKS))('%s', (file, attack) => {
  test(`${attack.name} (${attack.cite}) signs nobody in as the victim`, async () => {
    const signed = await honestAnswer(attack.signed);
    const xml = attack.build({
      signed,
      victim: VICTIM,
      honestNameId: HONEST,
      signWithAttackerKey: (x) => sign(x, attackerKey, 'assertion'),
    });
    expect(xml).toContain(VICTIM);
    const res = await post(attack.signed, xml);
    expect(res.status).toBeLessThan(500);
    const who = await whoSignedIn(res);
    expect(who).not.toBe(VICTIM);
    if (file !== 'outside-signed-bytes') {
      // Wrapping and digest tricks are refused outright, with a page.
      expect(res.status).toBe(403);
      expect(res.type).toBe('text/html');
    }
  });
});
