// Savings (issue 14, GET /api/v1/savings): per licence and month, what reclaimed seats
// saved (each seat's monthly cost prorated by day from its release to the month's end)
// and what there is still to save now (seats inactive now, and manual duplicates).
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { fixedClock } from '../../src/shared/clock.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, USER, type ScimClient } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let other: CreatedTenant;
let scim: ScimClient;
let api: ApiClient;
let otherApi: ApiClient;
const clock = fixedClock('2026-06-01T09:00:00.000Z');
const ids = {} as Record<'annual' | 'manual' | 'idler' | 'leaver' | 'otherLicence', string>;

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Savings');
  other = await newTenant(db.knex, 'Savings elsewhere');
  const app = testApp(db.knex, undefined, { clock });
  scim = scimClient(app, tenant.scimToken);
  api = apiClient(app, tenant.apiToken);
  otherApi = apiClient(app, other.apiToken);

  const user = async (name: string) =>
    (await scim.post('/Users', { schemas: [USER], userName: `${name}@example.com` }).expect(201))
      .body.id as string;
  ids.idler = await user('idler');
  ids.leaver = await user('leaver');
  const g = (
    await scim
      .post('/Groups', {
        schemas: [GROUP],
        displayName: 'Savers',
        members: [{ value: ids.idler }, { value: ids.leaver }],
      })
      .expect(201)
  ).body.id;
  const product = (await api.post('/products', { name: 'Saver' }).expect(201)).body.id;
  // 120 a year: 10.00 a month. Inactive after 10 days; a deprovisioned seat goes at once.
  ids.annual = (
    await api
      .post('/licenses', {
        productId: product,
        name: 'Annual',
        type: 'subscription',
        quantity: 10,
        cost: { unitCost: 120, currency: 'EUR' },
        inactivityDays: 10,
        reclaimGraceDays: 0,
      })
      .expect(201)
  ).body.item.id;
  await api.post('/rules', { licenseId: ids.annual, groupId: g }).expect(201);
  // A second licence of the same product, 240 a year, assigned by hand to a holder of
  // the first: a duplicate worth 20.00 a month.
  ids.manual = (
    await api
      .post('/licenses', {
        productId: product,
        name: 'By hand',
        type: 'subscription',
        quantity: 5,
        cost: { unitCost: 240, currency: 'EUR' },
      })
      .expect(201)
  ).body.item.id;
  await api.post('/seats', { licenseId: ids.manual, userId: ids.leaver }).expect(201);
  const otherProduct = (await otherApi.post('/products', { name: 'Theirs' }).expect(201)).body.id;
  ids.otherLicence = (
    await otherApi
      .post('/licenses', {
        productId: otherProduct,
        name: 'Theirs',
        type: 'perpetual',
        quantity: 1,
      })
      .expect(201)
  ).body.item.id;

  // 21 June: the leaver is deprovisioned and their seats are released at once.
  clock.set('2026-06-21T12:00:00.000Z');
  await scim
    .patchOps(`/Users/${ids.leaver}`, [{ op: 'replace', path: 'active', value: false }])
    .expect(200);
});
afterAll(() => db.close());

const june = '/savings?from=2026-06-01&to=2026-07-01';

test('a seat reclaimed on 21 June saved its monthly cost for the ten days left; seats idle or held twice are still to save', async () => {
  const res = await api.get(june).expect(200);
  expect(res.body.items).toEqual([
    // 10.00 × 10/30 (21 to 30 June, the 21st included); the idler (no activity since the
    // seat was granted on 1 June) is inactive now: 10.00 still to save.
    { licenseId: ids.annual, month: '2026-06', currency: 'EUR', realised: 3.33, potential: 10 },
    // The leaver's manual seat waits out the licence's default grace of 7 days
    // (deprovisioned): nothing realised yet, and with the other seat gone it is no
    // duplicate any more.
  ]);
});

test('licenseId narrows the answer; a month before anything happened saves nothing', async () => {
  const only = await api.get(`${june}&licenseId=${ids.annual}`).expect(200);
  expect(only.body.items.map((i: { licenseId: string }) => i.licenseId)).toEqual([ids.annual]);
  expect((await api.get('/savings?from=2026-05-01&to=2026-06-01').expect(200)).body.items).toEqual(
    [],
  );
});

test('potential is for the month in progress only: a later range has none until it comes', async () => {
  const later = await api.get('/savings?from=2026-07-01&to=2026-09-01').expect(200);
  expect(later.body.items).toEqual([]);
});

test('bad ranges are 400 problems; another tenant’s licence is 404', async () => {
  for (const q of [
    '/savings?to=2026-07-01',
    '/savings?from=2026-06-01',
    '/savings?from=2026-02-30&to=2026-07-01',
    '/savings?from=2026-06-01T00:00:00Z&to=2026-07-01',
    '/savings?from=2026-07-01&to=2026-07-01',
    '/savings?from=2020-01-01&to=2026-01-01',
  ]) {
    const res = await api.get(q);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  }
  await api.get(`${june}&licenseId=${ids.otherLicence}`).expect(404);
  await api.get(`${june}&licenseId=not-a-uuid`).expect(404);
});

test('a manual seat of a product the holder has another seat of is a duplicate still to save, counted once', async () => {
  const twice = (
    await scim.post('/Users', { schemas: [USER], userName: 'twice@example.com' }).expect(201)
  ).body.id;
  const rules = (await api.get('/rules').expect(200)).body.items as Array<{ groupId: string }>;
  await scim
    .patchOps(`/Groups/${rules[0]!.groupId}`, [
      { op: 'add', path: 'members', value: [{ value: twice }] },
    ])
    .expect(204);
  await api.post('/seats', { licenseId: ids.manual, userId: twice }).expect(201);
  const res = await api.get(`${june}&licenseId=${ids.manual}`).expect(200);
  expect(res.body.items).toEqual([
    { licenseId: ids.manual, month: '2026-06', currency: 'EUR', realised: 0, potential: 20 },
  ]);
});
