// SSO connections through the admin API (issue 15, "Connections"): create, read, list,
// patch and delete OIDC and SAML connections; what the admin gives the IdP comes back
// built from PUBLIC_URL; secrets never come back; another tenant's connection is 404;
// every change is audited.
import { randomBytes } from 'node:crypto';
import { compactDecrypt } from 'jose';
import { withTenant } from '../../src/db/tenant-scope.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';

const PUBLIC_URL = 'https://seatkeeper.example.com';
const secretKey = new Uint8Array(randomBytes(32));
const CERT = `-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ0VSVA==\n-----END CERTIFICATE-----`;

let db: TestDb;
let a: CreatedTenant;
let b: CreatedTenant;
let apiA: ApiClient;
let apiB: ApiClient;

beforeAll(async () => {
  db = await openTestDb();
  a = await newTenant(db.knex, 'SSO A');
  b = await newTenant(db.knex, 'SSO B');
  const app = testApp(db.knex, undefined, { publicUrl: PUBLIC_URL, sso: { secretKey } });
  apiA = apiClient(app, a.apiToken);
  apiB = apiClient(app, b.apiToken);
});
afterAll(() => db.close());

const oidc = {
  type: 'oidc',
  issuer: 'https://idp.example.org',
  clientId: 'seatkeeper',
  clientSecret: 'shh-this-is-the-client-secret',
  linkBy: 'email',
  domains: ['Example.COM', 'corp.example.com'],
};

describe('OIDC connections', () => {
  test('create answers 201 with the redirect URI to register and no secret', async () => {
    const res = await apiA.post('/sso/connections', oidc).expect(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      type: 'oidc',
      issuer: 'https://idp.example.org',
      clientId: 'seatkeeper',
      clientAuth: 'client_secret_basic',
      scopes: ['openid', 'email', 'profile'],
      hasClientSecret: true,
      redirectUri: `${PUBLIC_URL}/sso/oidc/${res.body.id}/callback`,
      linkBy: 'email',
      adminGroupIds: [],
      domains: ['corp.example.com', 'example.com'],
      idpInitiated: false,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(JSON.stringify(res.body)).not.toContain(oidc.clientSecret);
  });

  test('the client secret is stored sealed (JWE), bound to its connection', async () => {
    const { body } = await apiA.post('/sso/connections', oidc).expect(201);
    const row = await db.owner('sso_connections').where({ connection_id: body.id }).first();
    expect(row.secret).not.toContain(oidc.clientSecret);
    expect(JSON.stringify(row.settings)).not.toContain(oidc.clientSecret);
    const { plaintext, protectedHeader } = await compactDecrypt(row.secret, secretKey);
    expect(new TextDecoder().decode(plaintext)).toBe(oidc.clientSecret);
    expect(protectedHeader.kid).toBe(`${a.id}/${body.id}`);
  });

  test('the audit trail records the change without the secret', async () => {
    const { body } = await apiA.post('/sso/connections', oidc).expect(201);
    const events = await withTenant(db.knex, a.id, (trx) =>
      trx('audit_events').where({ tenant_id: a.id, target_id: body.id }).select('action', 'body'),
    );
    expect(events.map((e) => e.action)).toEqual(['sso.connection_created']);
    expect(JSON.stringify(events)).not.toContain(oidc.clientSecret);
  });

  test('PATCH changes what it names, keeps the rest, and replaces a secret without showing it', async () => {
    const { body } = await apiA.post('/sso/connections', oidc).expect(201);
    const res = await apiA
      .patch(`/sso/connections/${body.id}`, {
        scopes: ['openid', 'email'],
        adminGroupIds: ['0190a0a0-0000-7000-8000-000000000001'],
        clientSecret: 'a-new-secret',
        clientAuth: 'client_secret_post',
      })
      .expect(200);
    expect(res.body).toMatchObject({
      issuer: oidc.issuer,
      scopes: ['openid', 'email'],
      clientAuth: 'client_secret_post',
      adminGroupIds: ['0190a0a0-0000-7000-8000-000000000001'],
      hasClientSecret: true,
    });
    expect(JSON.stringify(res.body)).not.toContain('a-new-secret');
    await apiA.patch(`/sso/connections/${body.id}`, { type: 'saml' }).expect(400);
  });

  test('refused inputs: http issuer (without SSO_ALLOW_INSECURE_HTTP), no openid scope, no secret, unknown field', async () => {
    for (const bad of [
      { ...oidc, issuer: 'http://idp.example.org' },
      { ...oidc, scopes: ['email'] },
      { ...oidc, clientSecret: undefined },
      { ...oidc, linkBy: 'phone' },
      { ...oidc, domains: ['not a domain'] },
      { ...oidc, surprise: true },
    ]) {
      const res = await apiA.post('/sso/connections', bad).expect(400);
      expect(res.type).toBe('application/problem+json');
    }
  });

  test('private_key_jwt takes a private JWK, sealed like a secret', async () => {
    const { generateKeyPair, exportJWK } = await import('jose');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    const res = await apiA
      .post('/sso/connections', { ...oidc, clientSecret: undefined, privateKeyJwk: jwk })
      .expect(201);
    expect(res.body.clientAuth).toBe('private_key_jwt');
    expect(JSON.stringify(res.body)).not.toContain(String(jwk.d));
    await apiA
      .post('/sso/connections', { ...oidc, clientSecret: undefined, privateKeyJwk: { kty: 'EC' } })
      .expect(400);
  });
});

describe('SAML connections', () => {
  const saml = {
    type: 'saml',
    idpEntityId: 'https://idp.example.org/saml',
    idpSsoUrl: 'https://idp.example.org/saml/sso',
    idpCertificates: [CERT, CERT.replace('Q0VSVA', 'T0xEQ0VSVA')],
    linkBy: 'email',
  };

  test('create answers with the SP entity id, ACS URL and metadata URL', async () => {
    const res = await apiA.post('/sso/connections', saml).expect(201);
    const id = res.body.id;
    expect(res.body).toMatchObject({
      type: 'saml',
      idpEntityId: saml.idpEntityId,
      idpCertificates: saml.idpCertificates,
      signed: 'assertion',
      wantEncryptedAssertions: false,
      spEntityId: `${PUBLIC_URL}/sso/saml/${id}/metadata`,
      acsUrl: `${PUBLIC_URL}/sso/saml/${id}/acs`,
      metadataUrl: `${PUBLIC_URL}/sso/saml/${id}/metadata`,
      idpInitiated: false,
    });
  });

  const metadata = (body: string) =>
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.org/metadata">${body}</md:EntityDescriptor>`;
  const idpDescriptor = `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
        MIIBszCCAVmgAwIBAgIUQ0VSVA==
      </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
      <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>RU5D</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.org/post"/>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.org/redirect"/>
    </md:IDPSSODescriptor>`;

  test("metadataXml gives the IdP's entity id, redirect SSO URL and signing certificates (SAML Metadata §2.4.3)", async () => {
    const res = await apiA
      .post('/sso/connections', {
        type: 'saml',
        linkBy: 'email',
        metadataXml: metadata(idpDescriptor),
      })
      .expect(201);
    expect(res.body).toMatchObject({
      idpEntityId: 'https://idp.example.org/metadata',
      idpSsoUrl: 'https://idp.example.org/redirect',
      idpCertificates: [CERT],
    });
  });

  test('metadataXml without a redirect binding, with a DOCTYPE, or not XML is a 400', async () => {
    for (const xml of [
      metadata(
        idpDescriptor.replace(/<md:SingleSignOnService Binding="[^"]+HTTP-Redirect"[^>]+>/, ''),
      ),
      `<!DOCTYPE x [<!ENTITY e "e">]>${metadata(idpDescriptor)}`,
      'not xml <',
      '<other/>',
    ]) {
      const res = await apiA
        .post('/sso/connections', { type: 'saml', linkBy: 'email', metadataXml: xml })
        .expect(400);
      expect(res.type).toBe('application/problem+json');
    }
  });

  test('at most two IdP certificates (rollover), each a PEM certificate', async () => {
    await apiA
      .post('/sso/connections', { ...saml, idpCertificates: [CERT, CERT, CERT] })
      .expect(400);
    await apiA.post('/sso/connections', { ...saml, idpCertificates: ['not pem'] }).expect(400);
  });
});

describe('tenants', () => {
  test("another tenant's connection answers 404 to read, change and delete", async () => {
    const { body } = await apiA.post('/sso/connections', oidc).expect(201);
    await apiB.get(`/sso/connections/${body.id}`).expect(404);
    await apiB.patch(`/sso/connections/${body.id}`, { clientId: 'x' }).expect(404);
    await apiB.delete(`/sso/connections/${body.id}`).expect(404);
    expect((await apiB.get('/sso/connections').expect(200)).body.items).toEqual([]);
    await apiA.get(`/sso/connections/${body.id}`).expect(200);
  });

  test('list, then delete: gone, and audited', async () => {
    const { body } = await apiA.post('/sso/connections', oidc).expect(201);
    const list = await apiA.get('/sso/connections').expect(200);
    expect(list.body.items.map((c: { id: string }) => c.id)).toContain(body.id);
    await apiA.delete(`/sso/connections/${body.id}`).expect(204);
    await apiA.get(`/sso/connections/${body.id}`).expect(404);
    await apiA.delete(`/sso/connections/not-a-uuid`).expect(404);
    const actions = await withTenant(db.knex, a.id, (trx) =>
      trx('audit_events').where({ tenant_id: a.id, target_id: body.id }).pluck('action'),
    );
    expect(actions).toEqual(['sso.connection_created', 'sso.connection_deleted']);
  });

  test('the API wants a token', async () => {
    const app = testApp(db.knex);
    const { default: request } = await import('supertest');
    await request(app).get('/api/v1/sso/connections').expect(401);
  });
});
