// issue 12, item 1: a write whose body is not JSON (or says nothing of its type) is 415
// and writes nothing. Before the fix, `text/plain` on PATCH /api/v1/products/{id}
// answered 200, bumped `updatedAt` and recorded `product.updated`.
import request from 'supertest';
import type { Express } from 'express';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { apiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { ERROR, scimClient, userBody } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let app: Express;

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Media types');
  app = testApp(db.knex);
});
afterAll(() => db.close());

/** Audit events of the tenant, chained or still queued. */
async function events(): Promise<string[]> {
  const chained = await db.owner('audit_events').where({ tenant_id: tenant.id }).select('action');
  const queued = await db.owner('audit_pending').where({ tenant_id: tenant.id }).select('action');
  return [...chained, ...queued].map((r: { action: string }) => r.action).sort();
}

const asApi = (r: request.Test) => r.set('Authorization', `Bearer ${tenant.apiToken}`);
const asScim = (r: request.Test) => r.set('Authorization', `Bearer ${tenant.scimToken}`);

describe('issue 12: a write with a body that is not JSON on /api/v1', () => {
  let productId: string;
  let before: Record<string, unknown>;

  beforeAll(async () => {
    const api = apiClient(app, tenant.apiToken);
    before = (await api.post('/products', { name: 'Figma', vendor: 'Figma' }).expect(201)).body;
    productId = before.id as string;
  });

  test.each([
    ['text/plain', '{"name":"Renamed"}'],
    ['application/x-www-form-urlencoded', 'name=Renamed'],
    ['application/xml', '<product><name>Renamed</name></product>'],
  ])('PATCH as %s is 415 problem+json and changes nothing', async (type, body) => {
    const audit = await events();
    const res = await asApi(request(app).patch(`/api/v1/products/${productId}`))
      .set('Content-Type', type)
      .send(body);
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(res.headers['accept-patch']).toContain('application/json');
    const after = await asApi(request(app).get(`/api/v1/products/${productId}`)).expect(200);
    expect(after.body).toEqual(before);
    expect(await events()).toEqual(audit);
  });

  test('a body without any Content-Type is 415', async () => {
    const audit = await events();
    const res = await asApi(request(app).post('/api/v1/products'))
      .set('Content-Type', '')
      .send(Buffer.from('{"name":"Ghost","vendor":"x"}'));
    expect(res.status).toBe(415);
    expect(await events()).toEqual(audit);
  });

  test('POST as text/plain is 415 and creates nothing', async () => {
    const res = await asApi(request(app).post('/api/v1/products'))
      .set('Content-Type', 'text/plain')
      .send('{"name":"Ghost","vendor":"x"}');
    expect(res.status).toBe(415);
    const list = await asApi(request(app).get('/api/v1/products')).expect(200);
    expect(list.body.items.map((p: { name: string }) => p.name)).toEqual(['Figma']);
  });

  test('malformed JSON is still 400, and JSON with a charset is accepted', async () => {
    const bad = await asApi(request(app).patch(`/api/v1/products/${productId}`))
      .set('Content-Type', 'application/json')
      .send('{"name": ');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_json');
    const ok = await asApi(request(app).patch(`/api/v1/products/${productId}`))
      .set('Content-Type', 'application/json; charset=utf-8')
      .send('{"vendor":"Figma Inc."}');
    expect(ok.status).toBe(200);
    expect(ok.body.vendor).toBe('Figma Inc.');
  });

  test('requests without a body are unaffected: GET, DELETE, a POST with no body', async () => {
    const p = await asApi(request(app).post('/api/v1/products'))
      .send({ name: 'Doomed', vendor: 'x' })
      .expect(201);
    // A body-less POST reaches its handler (which finds no input: 400, not 415).
    const empty = await asApi(
      request(app).post('/api/v1/seats/00000000-0000-0000-0000-000000000000/transfer'),
    );
    expect(empty.status).not.toBe(415);
    await asApi(request(app).delete(`/api/v1/products/${p.body.id}`)).expect(204);
  });

  test('the CSV import still takes text/csv', async () => {
    const res = await asApi(request(app).post('/api/v1/imports/licenses?dryRun=true'))
      .set('Content-Type', 'text/csv')
      .send('product,vendor,license,type,quantity\nSketch,Sketch,Team,subscription,5\n');
    expect(res.status).toBe(200);
  });

  test('an unauthenticated write is 401 whatever its type', async () => {
    const res = await request(app)
      .patch(`/api/v1/products/${productId}`)
      .set('Content-Type', 'text/plain')
      .send('x');
    expect(res.status).toBe(401);
  });
});

describe('issue 12: a write with a body that is not JSON on /scim/v2', () => {
  let userId: string;
  let version: string;

  beforeAll(async () => {
    const scim = scimClient(app, tenant.scimToken);
    const res = await scim.post('/Users', userBody('media@example.com')).expect(201);
    userId = res.body.id;
    version = res.body.meta.version;
  });

  test.each([
    ['PATCH', 'text/plain'],
    ['PUT', 'text/plain'],
    ['PATCH', 'application/merge-patch+json'],
    ['PUT', 'application/x-www-form-urlencoded'],
  ])('%s as %s is a SCIM 415 and changes nothing', async (method, type) => {
    const audit = await events();
    const body =
      method === 'PATCH'
        ? {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [{ op: 'replace', path: 'active', value: false }],
          }
        : userBody('media@example.com', { active: false });
    const r =
      method === 'PATCH'
        ? request(app).patch(`/scim/v2/Users/${userId}`)
        : request(app).put(`/scim/v2/Users/${userId}`);
    const res = await asScim(r).set('Content-Type', type).send(JSON.stringify(body));
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '415' });
    const now = await asScim(request(app).get(`/scim/v2/Users/${userId}`)).expect(200);
    expect(now.body.meta.version).toBe(version);
    expect(now.body.active).toBe(true);
    expect(await events()).toEqual(audit);
  });

  test('application/json is accepted beside application/scim+json', async () => {
    const res = await asScim(request(app).patch(`/scim/v2/Users/${userId}`))
      .set('Content-Type', 'application/json')
      .send(
        JSON.stringify({
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'replace', path: 'displayName', value: 'Media' }],
        }),
      );
    expect(res.status).toBe(200);
    expect(res.body.displayName).toBe('Media');
  });

  test('malformed JSON is still a SCIM 400 invalidSyntax', async () => {
    const res = await asScim(request(app).post('/scim/v2/Users'))
      .set('Content-Type', 'application/scim+json')
      .send('{"userName": ');
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidSyntax');
  });
});
