// issue 12, item 4: Host and X-Forwarded-* were copied into the OpenAPI `servers` URL
// and SCIM `meta.location` (and `Location`, `$ref`), so anyone could make the service
// hand out links to a host of their choosing. Absolute URLs now come from PUBLIC_URL
// (default: the origin the service listens on), whatever the request says.
import request from 'supertest';
import { DirectoryHooks } from '../../src/directory/changes.js';
import { createApp } from '../../src/app.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { quietLogger } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, SCIM, userBody } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Hosts');
});
afterAll(() => db.close());

const PUBLIC = 'https://seats.example.com/sk';
const FORGED = {
  Host: 'evil.example',
  'X-Forwarded-Host': 'evil.example',
  'X-Forwarded-Proto': 'gopher',
  Forwarded: 'host=evil.example;proto=gopher',
};

const appWith = (trustProxy: boolean | string) =>
  createApp({
    knex: db.knex,
    logger: quietLogger,
    bodyLimit: 1 << 20,
    state: { shuttingDown: false },
    hooks: new DirectoryHooks(),
    publicUrl: PUBLIC,
    trustProxy,
  });

describe.each([
  ['without TRUST_PROXY', false],
  ['with TRUST_PROXY=loopback', 'loopback'],
])('issue 12: a forged Host / X-Forwarded-Host (%s)', (_name, trustProxy) => {
  const app = () => appWith(trustProxy);

  test('does not appear in the OpenAPI servers URL', async () => {
    const res = await request(app()).get('/api/v1/openapi.json').set(FORGED).expect(200);
    expect(res.body.servers).toEqual([expect.objectContaining({ url: `${PUBLIC}/api/v1` })]);
    expect(JSON.stringify(res.body)).not.toContain('evil.example');
  });

  test('does not appear in SCIM meta.location, Location or member $ref', async () => {
    const a = app();
    const auth = { Authorization: `Bearer ${tenant.scimToken}`, 'Content-Type': SCIM };
    const user = await request(a)
      .post('/scim/v2/Users')
      .set({ ...FORGED, ...auth })
      .send(JSON.stringify(userBody(`host-${String(trustProxy)}@example.com`)))
      .expect(201);
    expect(user.body.meta.location).toBe(`${PUBLIC}/scim/v2/Users/${user.body.id}`);
    expect(user.headers.location).toBe(user.body.meta.location);

    const group = await request(a)
      .post('/scim/v2/Groups')
      .set({ ...FORGED, ...auth })
      .send(
        JSON.stringify({
          schemas: [GROUP],
          displayName: `Hosts ${String(trustProxy)}`,
          members: [{ value: user.body.id }],
        }),
      )
      .expect(201);
    expect(group.body.meta.location.startsWith(`${PUBLIC}/scim/v2/Groups/`)).toBe(true);
    expect(JSON.stringify(group.body)).not.toContain('evil.example');
    const read = await request(a).get(`/scim/v2/Groups/${group.body.id}`).set(FORGED).set(auth);
    expect(JSON.stringify(read.body)).not.toContain('evil.example');
    const spc = await request(a).get('/scim/v2/ServiceProviderConfig').set(FORGED).set(auth);
    expect(JSON.stringify(spc.body)).not.toContain('evil.example');
    expect(JSON.stringify(spc.body)).not.toContain('gopher');
  });
});

test('TRUST_PROXY decides whether a proxy on loopback is believed (X-Forwarded-For)', () => {
  type TrustFn = (addr: string, hop: number) => boolean;
  expect((appWith(false).get('trust proxy fn') as TrustFn)('127.0.0.1', 0)).toBe(false);
  expect((appWith('loopback').get('trust proxy fn') as TrustFn)('127.0.0.1', 0)).toBe(true);
  expect((appWith('loopback').get('trust proxy fn') as TrustFn)('203.0.113.9', 0)).toBe(false);
});
