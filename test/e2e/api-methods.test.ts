// Issue 16: a known /api/v1 path asked with a method it does not have is 405 Method Not
// Allowed with an Allow header listing the ones it has (RFC 9110 §15.5.6), as
// problem+json (RFC 9457); an unknown path stays 404.
import request from 'supertest';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { apiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';

let db: TestDb;
let tenant: CreatedTenant;
beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Methods');
});
afterAll(() => db.close());

test('a known path with the wrong method is 405 with Allow; an unknown one is 404', async () => {
  const app = testApp(db.knex);
  const api = apiClient(app, tenant.apiToken);
  const product = (await api.post('/products', { name: 'Allowed' }).expect(201)).body.id;
  const put = await request(app)
    .put(`/api/v1/products/${product}`)
    .set('Authorization', `Bearer ${tenant.apiToken}`)
    .send({ name: 'x' });
  expect(put.status).toBe(405);
  expect(put.headers.allow).toBe('DELETE, GET, HEAD, PATCH');
  expect(put.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(put.body).toMatchObject({ status: 405 });
  const del = await request(app)
    .delete('/api/v1/products')
    .set('Authorization', `Bearer ${tenant.apiToken}`);
  expect(del.status).toBe(405);
  expect(del.headers.allow).toBe('GET, HEAD, POST');
  // Nothing was changed by the refused request.
  expect((await api.get(`/products/${product}`).expect(200)).body.name).toBe('Allowed');
  const unknown = await request(app)
    .get('/api/v1/no-such-thing')
    .set('Authorization', `Bearer ${tenant.apiToken}`);
  expect(unknown.status).toBe(404);
  expect(unknown.headers.allow).toBeUndefined();
});
