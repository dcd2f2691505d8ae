// Attack (issue 12, lower): inputs at or past a limit answered 500, or held the
// embedded database for seconds. Each is a 400 (or 413) in the door's own format now,
// with the limit advertised where a client can read it.
import type { CreatedTenant } from '../../src/tenancy/service.js';
import {
  LIMITS_SCHEMA,
  MAX_INDEXED_TEXT_LENGTH,
  PATCH_MAX_OPERATIONS,
} from '../../src/scim/limits.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, userBody, type ScimClient } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;
let api: ApiClient;
let productId: string;

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex);
  const app = testApp(db.knex);
  scim = scimClient(app, tenant.scimToken);
  api = apiClient(app, tenant.apiToken);
  productId = (await api.post('/products', { name: 'P', vendor: 'V' }).expect(201)).body.id;
});
afterAll(() => db.close());

const scimBody = (res: { text: string }) => JSON.parse(res.text) as Record<string, unknown>;

describe('SCIM (issue 12)', () => {
  test('the limits are advertised in ServiceProviderConfig', async () => {
    const spc = scimBody(await scim.get('/ServiceProviderConfig').expect(200));
    expect(spc.schemas).toContain(LIMITS_SCHEMA);
    expect(spc[LIMITS_SCHEMA]).toMatchObject({
      patchMaxOperations: PATCH_MAX_OPERATIONS,
      userNameMaxLength: MAX_INDEXED_TEXT_LENGTH,
    });
  });

  test.each([
    ['userName', (s: string) => userBody(`${s}@x`)],
    ['externalId', (s: string) => userBody(undefined, { externalId: s })],
  ])('a %s over the limit is 400 invalidValue, not 500', async (_name, body) => {
    const long = 'a'.repeat(10_000);
    const res = await scim.post('/Users', body(long));
    expect(res.status).toBe(400);
    expect(scimBody(res)).toMatchObject({ scimType: 'invalidValue' });
    // At the limit (in characters, not bytes: 4-byte UTF-8 included) it is stored.
    const atLimit = '\u{1F600}'.repeat(MAX_INDEXED_TEXT_LENGTH - 2);
    expect((await scim.post('/Users', body(atLimit))).status).toBe(201);
  });

  test("a group's displayName over the limit is 400 invalidValue", async () => {
    const res = await scim.post('/Groups', { schemas: [GROUP], displayName: 'g'.repeat(5000) });
    expect(res.status).toBe(400);
    expect(scimBody(res)).toMatchObject({ scimType: 'invalidValue' });
  });

  test('a PATCH over the operation limit is refused whole (413), nothing written', async () => {
    const group = scimBody(
      await scim.post('/Groups', { schemas: [GROUP], displayName: 'Big' }).expect(201),
    );
    const ops = Array.from({ length: PATCH_MAX_OPERATIONS + 1 }, (_, i) => ({
      op: 'replace',
      path: 'displayName',
      value: `Big ${i}`,
    }));
    const res = await scim.patchOps(`/Groups/${group.id as string}`, ops);
    expect(res.status).toBe(413);
    const after = scimBody(await scim.get(`/Groups/${group.id as string}`).expect(200));
    expect(after.displayName).toBe('Big');
  });

  test.each([
    'startIndex=1e20&sortBy=userName',
    `startIndex=1e20&filter=${encodeURIComponent('userName sw "a"')}`,
    'startIndex=100000000000000000000',
    'startIndex=9007199254740993&sortBy=userName',
  ])('GET /Users?%s answers, never 500', async (query) => {
    const res = await scim.get(`/Users?${query}`);
    expect([200, 400]).toContain(res.status);
    if (res.status === 200) expect(scimBody(res).Resources).toEqual([]);
    else expect(scimBody(res)).toMatchObject({ scimType: 'invalidValue' });
  });
});

describe('REST (issue 12)', () => {
  test.each([
    ['startsAt', '0000-01-01'],
    ['endsAt', '9999-12-31T23:59:59-23:59'],
    ['endsAt', '+275760-09-13T00:00:00Z'],
    ['startsAt', '-000001-01-01T00:00:00Z'],
  ])('a licence %s of %s is 400, not 500', async (field, value) => {
    const res = await api.post('/licenses', {
      productId,
      name: `Dated ${field} ${value}`,
      type: 'subscription',
      quantity: 1,
      [field]: value,
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalid_input' });
  });

  test('the last representable instant is accepted', async () => {
    const res = await api.post('/licenses', {
      productId,
      name: 'Until the end',
      type: 'subscription',
      quantity: 1,
      endsAt: '9999-12-31T23:59:59Z',
    });
    expect(res.status).toBe(201);
  });
});

describe('CSV import body (issue 12)', () => {
  // It had its own 50 MB limit and parsed in one synchronous call (a 10 MiB body held
  // the event loop for 1.8 s); now BODY_LIMIT_BYTES (1 MiB in tests) and a stream.
  const header = 'product,license,type,quantity,category\n';
  // Few rows, each long: the size is what is tested, not the row count.
  const csv = (rows: number, product: string) =>
    header +
    Array.from({ length: rows }, (_, i) => `${product},L${i},trial,1,${'c'.repeat(1900)}`).join(
      '\n',
    );

  test('a CSV larger than BODY_LIMIT_BYTES is 413, nothing written', async () => {
    const licences = async () =>
      Number((await db.owner('licenses').where({ tenant_id: tenant.id }).count({ n: '*' }))[0]!.n);
    const before = await licences();
    const body = csv(600, 'Big');
    expect(Buffer.byteLength(body)).toBeGreaterThan(1024 * 1024);
    const res = await api.postCsv('/imports/licenses', body);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'payload_too_large' });
    expect(await licences()).toBe(before);
  });

  test('a CSV just under the limit is parsed and imported', async () => {
    const body = csv(500, 'Fits');
    expect(Buffer.byteLength(body)).toBeLessThan(1024 * 1024);
    const res = await api.postCsv('/imports/licenses?dryRun=true', body);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dryRun: true, licenses: 500 });
  });

  test('a JSON body is 415, and a non-UTF-8 charset too', async () => {
    const json = await api.post('/imports/licenses', { product: 'x' });
    expect(json.status).toBe(415);
    const latin1 = await api
      .postCsv('/imports/licenses', header)
      .set('Content-Type', 'text/csv; charset=iso-8859-1');
    expect(latin1.status).toBe(415);
  });
});
