// Licensing's data-access contract (issue 13, STYLE.md convention 7): every operation of
// src/licensing's public module, made as another tenant with the victim's ids, answers
// "not found" or finds nothing, and changes nothing of the victim's catalogue, rules and
// seats; a full reconcile of the other tenant touches none of them either.
import type { Knex } from 'knex';
import {
  assignSeat,
  catalog,
  complianceOf,
  explainUser,
  listSeats,
  reconcileTenant,
  releaseSeat,
  rules,
  transferSeat,
  type LicensingContext,
} from '../../src/licensing/index.js';
import { systemClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, userBody } from '../support/scim.js';

let db: TestDb;
let victim: CreatedTenant;
let other: CreatedTenant;
const ids = { product: '', licence: '', rule: '', user: '', second: '', seat: '' };

beforeAll(async () => {
  db = await openTestDb();
  victim = await newTenant(db.knex, 'Victim');
  other = await newTenant(db.knex, 'Other');
  const app = testApp(db.knex);
  const scim = scimClient(app, victim.scimToken);
  const api = apiClient(app, victim.apiToken);
  ids.user = (await scim.post('/Users', userBody('alice@victim.example')).expect(201)).body.id;
  ids.second = (await scim.post('/Users', userBody('bob@victim.example')).expect(201)).body.id;
  const group = (
    await scim
      .post('/Groups', { schemas: [GROUP], displayName: 'Design', members: [{ value: ids.user }] })
      .expect(201)
  ).body.id;
  ids.product = (
    await api.post('/products', { name: 'Figma', vendor: 'Figma' }).expect(201)
  ).body.id;
  ids.licence = (
    await api
      .post('/licenses', {
        productId: ids.product,
        name: 'Pool',
        type: 'subscription',
        quantity: 5,
      })
      .expect(201)
  ).body.item.id;
  ids.rule = (
    await api.post('/rules', { licenseId: ids.licence, groupId: group }).expect(201)
  ).body.item.id;
  ids.seat = (
    await api.post('/seats', { licenseId: ids.licence, userId: ids.second }).expect(201)
  ).body.id;
});
afterAll(() => db.close());

const asOther = (): LicensingContext => ({
  knex: db.knex,
  tenantId: other.id,
  actor: { type: 'token', id: 'other' },
  clock: systemClock,
});

/** The victim's licensing data as stored: what no call made as another tenant may change. */
async function victimState(knex: Knex) {
  const rows = (table: string) =>
    knex(table).where({ tenant_id: victim.id }).orderByRaw('1').select('*');
  return {
    products: await rows('products'),
    licences: await rows('licenses'),
    rules: await rows('license_rules'),
    seats: await rows('seats'),
  };
}

const notFound = { status: 404 };

describe("another tenant sees nothing of licensing's data (issue 13)", () => {
  test('the catalogue: products, licences and rules by id, and the lists', async () => {
    const ctx = asOther();
    await expect(catalog.getProduct(ctx, ids.product)).rejects.toMatchObject(notFound);
    await expect(catalog.getLicense(ctx, ids.licence)).rejects.toMatchObject(notFound);
    await expect(rules.getRule(ctx, ids.rule)).rejects.toMatchObject(notFound);
    expect((await catalog.listProducts(ctx, {})).items).toEqual([]);
    expect((await catalog.listLicenses(ctx, {})).items).toEqual([]);
    expect((await rules.listRules(ctx, {})).items).toEqual([]);
  });

  test("seats, a user's explanation and a licence's compliance", async () => {
    const ctx = asOther();
    await expect(listSeats(ctx, ids.licence, undefined, {})).rejects.toMatchObject(notFound);
    await expect(explainUser(ctx, ids.user)).rejects.toMatchObject(notFound);
    await expect(complianceOf(ctx, ids.licence)).rejects.toMatchObject(notFound);
  });
});

describe("another tenant changes nothing of licensing's data (issue 13)", () => {
  test('every write aimed at its ids is refused, and nothing is written', async () => {
    const before = await victimState(db.owner);
    const ctx = asOther();
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['update product', () => catalog.updateProduct(ctx, ids.product, { vendor: 'x' })],
      ['delete product', () => catalog.deleteProduct(ctx, ids.product)],
      [
        'update licence',
        () => catalog.updateLicense(ctx, ids.licence, { quantity: 0 }, { dryRun: false }),
      ],
      ['delete licence', () => catalog.deleteLicense(ctx, ids.licence, { dryRun: false })],
      ['update rule', () => rules.updateRule(ctx, ids.rule, { priority: 1 }, { dryRun: false })],
      ['delete rule', () => rules.deleteRule(ctx, ids.rule, { dryRun: false })],
      ['assign seat', () => assignSeat(ctx, { licenseId: ids.licence, userId: ids.user })],
      ['release seat', () => releaseSeat(ctx, ids.seat)],
      ['transfer seat', () => transferSeat(ctx, ids.seat, { userId: ids.user })],
    ];
    for (const [what, attempt] of attempts) {
      const outcome = await attempt().then(
        () => 'written',
        (err: { status?: number }) => err.status,
      );
      expect({ what, outcome }).toEqual({ what, outcome: 404 });
    }
    await reconcileTenant(db.knex, other.id, { clock: systemClock, actor: { type: 'job' } });
    expect(await victimState(db.owner)).toEqual(before);
  });

  test('and the victim, asking the same, finds its own (the fixture is real)', async () => {
    const ctx = { ...asOther(), tenantId: victim.id };
    expect((await catalog.getLicense(ctx, ids.licence)).id).toBe(ids.licence);
    expect((await listSeats(ctx, ids.licence, undefined, {})).items).toHaveLength(2);
  });
});
