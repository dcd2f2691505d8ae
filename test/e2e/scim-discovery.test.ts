// RFC 7644 §4: ServiceProviderConfig, ResourceTypes and Schemas say exactly what works.
import request from 'supertest';
import { BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_BYTES } from '../../src/scim/discovery.js';
import { MAX_PAGE_SIZE } from '../../src/scim/list-query.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import {
  ENTERPRISE,
  ERROR,
  GROUP,
  LIST,
  scimClient,
  USER,
  type ScimClient,
} from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;
beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'SCIM discovery');
  scim = scimClient(testApp(db.knex), tenant.scimToken);
});
afterAll(() => db.close());

describe('discovery (RFC 7644 §4)', () => {
  test('ServiceProviderConfig advertises the real limits', async () => {
    const res = await scim.get('/ServiceProviderConfig');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
        'urn:seatkeeper:params:scim:schemas:extension:limits:1.0',
      ],
      patch: { supported: true },
      bulk: {
        supported: true,
        maxOperations: BULK_MAX_OPERATIONS,
        maxPayloadSize: BULK_MAX_PAYLOAD_BYTES,
      },
      filter: { supported: true, maxResults: MAX_PAGE_SIZE },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
      pagination: { cursor: true, index: true },
    });
    expect(res.body.authenticationSchemes[0]).toMatchObject({
      type: 'oauthbearertoken',
      primary: true,
    });
  });

  test('ResourceTypes lists User (with the enterprise extension) and Group', async () => {
    const res = await scim.get('/ResourceTypes');
    expect(res.body.schemas).toEqual([LIST]);
    expect(res.body.totalResults).toBe(2);
    const user = res.body.Resources.find((r: { id: string }) => r.id === 'User');
    expect(user).toMatchObject({
      endpoint: '/Users',
      schema: USER,
      schemaExtensions: [{ schema: ENTERPRISE, required: false }],
    });
    expect((await scim.get('/ResourceTypes/Group')).body).toMatchObject({
      endpoint: '/Groups',
      schema: GROUP,
    });
    expect((await scim.get('/ResourceTypes/Nope')).status).toBe(404);
  });

  test('Schemas describes User, EnterpriseUser and Group with attribute characteristics', async () => {
    const res = await scim.get('/Schemas');
    expect(res.body.Resources.map((s: { id: string }) => s.id).sort()).toEqual(
      [ENTERPRISE, GROUP, USER].sort(),
    );
    const user = (await scim.get(`/Schemas/${USER}`)).body;
    const userName = user.attributes.find((a: { name: string }) => a.name === 'userName');
    expect(userName).toMatchObject({
      type: 'string',
      required: true,
      caseExact: false,
      uniqueness: 'server',
    });
    expect(user.attributes.some((a: { name: string }) => a.name.startsWith('urn:'))).toBe(false);
  });

  test('discovery needs the SCIM token too: 401 with a SCIM error body', async () => {
    const res = await request(testApp(db.knex)).get('/scim/v2/ServiceProviderConfig');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '401' });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  test('an API token is not a SCIM token: 403', async () => {
    const res = await request(testApp(db.knex))
      .get('/scim/v2/Users')
      .set('Authorization', `Bearer ${tenant.apiToken}`);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '403' });
  });

  test('an unknown endpoint is a SCIM 404', async () => {
    const res = await scim.get('/Widgets');
    expect(res.status).toBe(404);
    expect(res.body.schemas).toEqual([ERROR]);
  });

  test('a body that is not JSON is 415', async () => {
    const res = await request(testApp(db.knex))
      .post('/scim/v2/Users')
      .set('Authorization', `Bearer ${tenant.scimToken}`)
      .set('Content-Type', 'text/plain')
      .send('userName=x');
    expect(res.status).toBe(415);
    expect(res.body.status).toBe('415');
  });
});
