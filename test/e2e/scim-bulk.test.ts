// Bulk (RFC 7644 §3.7): bulkId references, failOnErrors, maxOperations and maxPayloadSize.
import { BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_BYTES } from '../../src/scim/discovery.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, USER, type ScimClient } from '../support/scim.js';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;
beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'SCIM bulk');
  scim = scimClient(testApp(db.knex), tenant.scimToken);
});
afterAll(() => db.close());

const count = async (table: string) =>
  Number((await db.owner(table).where({ tenant_id: tenant.id }).count({ n: '*' }))[0]!.n);

describe('Bulk', () => {
  test('creates users and a group that references them by bulkId, even forward', async () => {
    const res = await scim.post('/Bulk', {
      schemas: [BULK],
      Operations: [
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'g1',
          data: {
            schemas: [GROUP],
            displayName: 'Bulk group',
            members: [{ type: 'User', value: 'bulkId:u1' }, { value: 'bulkId:u2' }],
          },
        },
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'u1',
          data: { schemas: [USER], userName: 'bulk1@example.com' },
        },
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'u2',
          data: { schemas: [USER], userName: 'bulk2@example.com' },
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:BulkResponse']);
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual([
      '201',
      '201',
      '201',
    ]);
    const group = res.body.Operations[0];
    expect(group.location).toMatch(/\/Groups\//);
    const g = await scim.get(`/Groups/${group.location.split('/').pop()}`);
    expect(g.body.members).toHaveLength(2);
  });

  test('PATCH and DELETE by path with a bulkId-created resource', async () => {
    const res = await scim.post('/Bulk', {
      schemas: [BULK],
      Operations: [
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'x',
          data: { schemas: [USER], userName: 'bulk-x@example.com' },
        },
        {
          method: 'PATCH',
          path: '/Users/bulkId:x',
          data: {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [{ op: 'replace', path: 'active', value: false }],
          },
        },
        { method: 'DELETE', path: '/Users/bulkId:x' },
      ],
    });
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual([
      '201',
      '200',
      '204',
    ]);
  });

  test('each failure is reported in the SCIM error format; failOnErrors stops after that many', async () => {
    const res = await scim.post('/Bulk', {
      schemas: [BULK],
      failOnErrors: 1,
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'a', data: { schemas: [USER] } },
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'b',
          data: { schemas: [USER], userName: 'never@example.com' },
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.Operations).toHaveLength(1);
    expect(res.body.Operations[0]).toMatchObject({
      bulkId: 'a',
      status: '400',
      response: { status: '400', scimType: 'invalidValue' },
    });
    expect(
      (await scim.get(`/Users?filter=${encodeURIComponent('userName eq "never@example.com"')}`))
        .body.totalResults,
    ).toBe(0);
  });

  test('an unresolvable bulkId reference fails that operation only', async () => {
    const res = await scim.post('/Bulk', {
      schemas: [BULK],
      Operations: [
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'lonely',
          data: { schemas: [GROUP], displayName: 'Lonely', members: [{ value: 'bulkId:nobody' }] },
        },
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'ok',
          data: { schemas: [USER], userName: 'ok@example.com' },
        },
      ],
    });
    expect(res.body.Operations.find((o: { bulkId: string }) => o.bulkId === 'lonely').status).toBe(
      '409',
    );
    expect(res.body.Operations.find((o: { bulkId: string }) => o.bulkId === 'ok').status).toBe(
      '201',
    );
  });

  test('more than maxOperations is 413 before anything is written', async () => {
    const before = await count('directory_users');
    const ops = Array.from({ length: BULK_MAX_OPERATIONS + 1 }, (_, i) => ({
      method: 'POST',
      path: '/Users',
      bulkId: `n${i}`,
      data: { schemas: [USER], userName: `over${i}@example.com` },
    }));
    const res = await scim.post('/Bulk', { schemas: [BULK], Operations: ops });
    expect(res.status).toBe(413);
    expect(res.body.status).toBe('413');
    expect(await count('directory_users')).toBe(before);
  });

  test('a body over maxPayloadSize is 413 before anything is written', async () => {
    const before = await count('directory_users');
    const pad = 'x'.repeat(BULK_MAX_PAYLOAD_BYTES);
    const res = await scim.post('/Bulk', {
      schemas: [BULK],
      Operations: [
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'big',
          data: { schemas: [USER], userName: 'big@example.com', title: pad },
        },
      ],
    });
    expect(res.status).toBe(413);
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect(await count('directory_users')).toBe(before);
  });
});
