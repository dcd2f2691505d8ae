// Duplicate seats (issue 14): a user eligible for two licences of the same product holds
// one seat — the licence whose rule has the better priority, then the cheaper seat — and
// a seat held twice goes once the one that comes first is held. A manual second seat
// stays. Explain and the reconciler say the same (eligibility's check 7).
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { fixedClock } from '../../src/shared/clock.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, USER, type ScimClient } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;
let api: ApiClient;
const clock = fixedClock('2026-06-01T09:00:00.000Z');

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Duplicates');
  const app = testApp(db.knex, undefined, { clock });
  scim = scimClient(app, tenant.scimToken);
  api = apiClient(app, tenant.apiToken);
});
afterAll(() => db.close());

let n = 0;
const user = async () =>
  (await scim.post('/Users', { schemas: [USER], userName: `dup${++n}@example.com` }).expect(201))
    .body.id as string;
const group = async (members: string[]) =>
  (
    await scim
      .post('/Groups', {
        schemas: [GROUP],
        displayName: `Dup ${++n}`,
        members: members.map((value) => ({ value })),
      })
      .expect(201)
  ).body.id as string;
const product = async () =>
  (await api.post('/products', { name: `Product ${++n}` }).expect(201)).body.id as string;
const licence = async (productId: string, name: string, extra: Record<string, unknown> = {}) =>
  (
    await api
      .post('/licenses', { productId, name, type: 'subscription', quantity: 10, ...extra })
      .expect(201)
  ).body.item.id as string;
const rule = (licenseId: string, groupId: string, priority = 100) =>
  api.post('/rules', { licenseId, groupId, priority }).expect(201);
const live = async (licenseId: string) =>
  (await api.get(`/licenses/${licenseId}/seats?limit=100`).expect(200)).body.items
    .filter((s: { state: string }) => s.state !== 'released')
    .map((s: { userId: string; state: string }) => `${s.userId}:${s.state}`);

test('eligible for two licences of one product, a user holds the cheaper seat, and explain says why not the other', async () => {
  const p = await product();
  const dear = await licence(p, 'Dear', { cost: { unitCost: 600, currency: 'EUR' } });
  const cheap = await licence(p, 'Cheap', { cost: { unitCost: 120, currency: 'EUR' } });
  const u = await user();
  const g = await group([u]);
  await rule(dear, g);
  await rule(cheap, g);
  expect(await live(dear)).toEqual([]);
  expect(await live(cheap)).toEqual([`${u}:active`]);
  const explained = (await api.get(`/users/${u}/seats`).expect(200)).body;
  expect(explained.notSeated).toEqual([
    expect.objectContaining({
      licenseId: dear,
      reason: expect.stringMatching(/^duplicate: .*licence 'Cheap'/),
    }),
  ]);
});

test('a better rule priority wins over a cheaper seat; the seat held before is released once the new one is held', async () => {
  const p = await product();
  const cheap = await licence(p, 'Cheap', { cost: { unitCost: 10, currency: 'EUR' } });
  const preferred = await licence(p, 'Preferred', { cost: { unitCost: 50, currency: 'EUR' } });
  const u = await user();
  const g = await group([u]);
  await rule(cheap, g, 100);
  expect(await live(cheap)).toEqual([`${u}:active`]);
  // A rule with a better priority on the other licence of the product: the user is
  // seated there, and the first seat goes as a duplicate in the same reconcile.
  await rule(preferred, g, 10);
  expect(await live(preferred)).toEqual([`${u}:active`]);
  expect(await live(cheap)).toEqual([]);
  const released = (await api.get(`/licenses/${cheap}/seats?limit=10`).expect(200)).body.items;
  expect(released[0]).toMatchObject({ state: 'released', releaseReason: 'duplicate' });
});

test('while the licence that comes first is full, the user keeps the seat they hold', async () => {
  const p = await product();
  const other = await licence(p, 'Other', { quantity: 5 });
  const first = await licence(p, 'First', { quantity: 1 });
  const [holder, u] = [await user(), await user()];
  await rule(first, await group([holder]), 1);
  const g = await group([u]);
  await rule(other, g, 50);
  expect(await live(other)).toEqual([`${u}:active`]);
  await rule(first, g, 1);
  expect(await live(first)).toEqual([`${holder}:active`, `${u}:waitlisted`]);
  expect(await live(other)).toEqual([`${u}:active`]);
});

test('a manual second seat of the product stays', async () => {
  const p = await product();
  const viaRule = await licence(p, 'Via rule');
  const manual = await licence(p, 'Manual');
  const u = await user();
  await rule(viaRule, await group([u]));
  await api.post('/seats', { licenseId: manual, userId: u }).expect(201);
  expect(await live(viaRule)).toEqual([`${u}:active`]);
  expect(await live(manual)).toEqual([`${u}:active`]);
});
