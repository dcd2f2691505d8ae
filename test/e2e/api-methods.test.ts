// Issue 16, for scripts: a known /api/v1 path asked with a method it does not have is 405
// Method Not Allowed with an Allow header listing the ones it has (RFC 9110 §15.5.6), as
// problem+json (RFC 9457), and an unknown path stays 404; an unknown body key is named
// by its own path in the problem's errors[].
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

test('an unknown body key is named by its own path in errors[] (issue 16)', async () => {
  const api = apiClient(testApp(db.knex), tenant.apiToken);
  const res = await api.post('/products', { name: 'Keys', surprise: 1, vendr: 'x' }).expect(400);
  expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(res.body.errors).toEqual([
    { path: 'surprise', message: 'unknown key "surprise"' },
    { path: 'vendr', message: 'unknown key "vendr"' },
  ]);
  // Nested: a licence's cost with a key it does not have.
  const product = (await api.post('/products', { name: 'Nested' }).expect(201)).body.id;
  const nested = await api
    .post('/licenses', {
      productId: product,
      name: 'L',
      type: 'perpetual',
      quantity: 1,
      cost: { unitCost: 1, colour: 'red' },
    })
    .expect(400);
  expect(nested.body.errors).toContainEqual({
    path: 'cost.colour',
    message: 'unknown key "colour"',
  });
});
