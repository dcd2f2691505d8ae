// Listing (RFC 7644 §3.4.2): filtering, sorting, index and cursor (RFC 9865) pagination,
// projection, POST .search (§3.4.3), and tenant isolation, over HTTP.
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { ENTERPRISE, GROUP, LIST, scimClient, USER, type ScimClient } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let other: CreatedTenant;
let scim: ScimClient;
let otherScim: ScimClient;
const ids: Record<string, string> = {};

const people = [
  {
    userName: 'alice@acme.test',
    dept: 'Design',
    given: 'Alice',
    active: true,
    emails: [
      { value: 'alice@acme.test', type: 'work' },
      { value: 'alice@home.test', type: 'home' },
    ],
  },
  {
    userName: 'bob@acme.test',
    dept: 'Engineering',
    given: 'Bob',
    active: true,
    emails: [{ value: 'bob@home.test', type: 'work' }],
  },
  {
    userName: 'carol@acme.test',
    dept: 'Design',
    given: 'Carol',
    active: false,
    emails: [{ value: 'carol@acme.test', type: 'home' }],
  },
  { userName: 'dave@acme.test', dept: 'Sales', given: 'Dave', active: true, emails: [] },
  {
    userName: 'Eve@Acme.test',
    dept: 'Engineering',
    given: 'Eve',
    active: true,
    emails: [{ value: 'eve@acme.test', type: 'work' }],
  },
];

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'SCIM list');
  other = await newTenant(db.knex, 'Other tenant');
  const app = testApp(db.knex);
  scim = scimClient(app, tenant.scimToken);
  otherScim = scimClient(app, other.scimToken);
  for (const p of people) {
    const res = await scim
      .post('/Users', {
        schemas: [USER, ENTERPRISE],
        userName: p.userName,
        name: { givenName: p.given },
        active: p.active,
        emails: p.emails,
        [ENTERPRISE]: { department: p.dept },
      })
      .expect(201);
    ids[p.given] = res.body.id;
  }
  // The other tenant has a user with the same name: it must never show up here.
  await otherScim.post('/Users', { schemas: [USER], userName: 'alice@acme.test' }).expect(201);
  await scim
    .post('/Groups', {
      schemas: [GROUP],
      displayName: 'Designers',
      members: [{ value: ids.Alice }, { value: ids.Carol }],
    })
    .expect(201);
});
afterAll(() => db.close());

const names = (body: { Resources: Array<{ userName: string }> }) =>
  body.Resources.map((r) => r.userName).sort();
const list = async (query: string) => {
  const res = await scim.get(`/Users?${query}`);
  expect(res.status).toBe(200);
  return res.body;
};

describe('filtering over HTTP (§3.4.2.2)', () => {
  test.each([
    ['userName eq "alice@acme.test"', ['alice@acme.test']],
    ['userName eq "ALICE@ACME.TEST"', ['alice@acme.test']], // caseExact=false
    ['userName sw "e"', ['Eve@Acme.test']],
    ['active eq false', ['carol@acme.test']],
    [`${ENTERPRISE}:department eq "Design"`, ['alice@acme.test', 'carol@acme.test']],
    ['emails[type eq "work" and value co "@acme"]', ['Eve@Acme.test', 'alice@acme.test']],
    ['emails[type eq "work"] and emails.value co "@home"', ['alice@acme.test', 'bob@acme.test']],
    [
      'not (name.givenName eq "Alice" or name.givenName eq "Bob")',
      ['Eve@Acme.test', 'carol@acme.test', 'dave@acme.test'],
    ],
    ['emails pr and active eq true', ['Eve@Acme.test', 'alice@acme.test', 'bob@acme.test']],
    ['groups.display eq "Designers"', ['alice@acme.test', 'carol@acme.test']],
  ])('%s', async (filter, expected) => {
    const body = await list(`filter=${encodeURIComponent(filter)}`);
    expect(body.schemas).toEqual([LIST]);
    expect(names(body)).toEqual([...expected].sort());
    expect(body.totalResults).toBe(expected.length);
  });

  test('a filter on password is 403 sensitive (RFC 7644 §3.12, §7.5.2)', async () => {
    const res = await scim.get(`/Users?filter=${encodeURIComponent('password eq "hunter2"')}`);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ status: '403', scimType: 'sensitive' });
  });

  test('meta.lastModified comparisons', async () => {
    const body = await list(
      `filter=${encodeURIComponent('meta.lastModified gt "2000-01-01T00:00:00Z"')}`,
    );
    expect(body.totalResults).toBe(people.length);
    const none = await list(
      `filter=${encodeURIComponent('meta.lastModified gt "2999-01-01T00:00:00Z"')}`,
    );
    expect(none.totalResults).toBe(0);
  });

  test.each([
    ['userName eq', 'a missing value'],
    ['nosuch eq "x"', 'an unknown attribute'],
    ['active gt true', 'an ordering operator on a boolean'],
    ['userName eq "unterminated', 'an unterminated string'],
    [`${'('.repeat(1000)}userName eq "a"${')'.repeat(1000)}`, 'a 1,000-deep nesting'],
  ])('%s is 400 invalidFilter (%s)', async (filter) => {
    const res = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
  });
});

describe('sorting and pagination (§3.4.2.3, §3.4.2.4)', () => {
  test('sortBy userName ascending and descending', async () => {
    const asc = await list('sortBy=userName');
    expect(asc.Resources.map((r: { userName: string }) => r.userName.toLowerCase())).toEqual(
      people.map((p) => p.userName.toLowerCase()).sort(),
    );
    const desc = await list('sortBy=userName&sortOrder=descending');
    expect(desc.Resources.map((r: { userName: string }) => r.userName.toLowerCase())).toEqual(
      people
        .map((p) => p.userName.toLowerCase())
        .sort()
        .reverse(),
    );
  });

  test('startIndex and count page through a stable order with an exact total', async () => {
    const all = await list('count=100');
    const seen: string[] = [];
    for (let start = 1; start <= people.length; start += 2) {
      const page = await list(`startIndex=${start}&count=2`);
      expect(page.totalResults).toBe(people.length);
      expect(page.startIndex).toBe(start);
      expect(page.itemsPerPage).toBe(page.Resources.length);
      seen.push(...page.Resources.map((r: { id: string }) => r.id));
    }
    expect(seen).toEqual(all.Resources.map((r: { id: string }) => r.id));
  });

  test('count=0 returns only the total; startIndex below 1 means 1; a count above the maximum is capped', async () => {
    const zero = await list('count=0');
    expect(zero).toMatchObject({ totalResults: people.length, itemsPerPage: 0, Resources: [] });
    expect((await list('startIndex=-4&count=1')).startIndex).toBe(1);
    expect((await list('count=100000')).itemsPerPage).toBe(people.length);
  });

  test('a non-numeric count is 400 invalidValue', async () => {
    const res = await scim.get('/Users?count=many');
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
  });

  test('cursor pagination (RFC 9865) visits every user once', async () => {
    const seen: string[] = [];
    let cursor = '';
    for (let i = 0; i < 10; i++) {
      const page = await list(`cursor=${encodeURIComponent(cursor)}&count=2`);
      expect(page.totalResults).toBe(people.length);
      seen.push(...page.Resources.map((r: { id: string }) => r.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(seen.sort()).toEqual(Object.values(ids).sort());
    const bad = await scim.get('/Users?cursor=garbage!!');
    expect(bad.status).toBe(400);
    expect(bad.body.scimType).toBe('invalidCursor');
  });

  test('cursor pagination also works under sortBy', async () => {
    const first = await list('cursor=&count=3&sortBy=userName');
    const second = await list(`cursor=${first.nextCursor}&count=3&sortBy=userName`);
    expect(
      [...first.Resources, ...second.Resources].map((r: { userName: string }) =>
        r.userName.toLowerCase(),
      ),
    ).toEqual(people.map((p) => p.userName.toLowerCase()).sort());
    expect(second.nextCursor).toBeUndefined();
  });
});

describe('projection and search', () => {
  test('attributes=userName returns only id, schemas and userName', async () => {
    const body = await list('attributes=userName&count=1');
    expect(Object.keys(body.Resources[0]).sort()).toEqual(['id', 'schemas', 'userName']);
  });

  test('an enterprise attribute by full URN', async () => {
    const body = await list(
      `attributes=${ENTERPRISE}:department&filter=${encodeURIComponent('userName eq "bob@acme.test"')}`,
    );
    expect(body.Resources[0][ENTERPRISE]).toEqual({ department: 'Engineering' });
    expect(body.Resources[0].userName).toBeUndefined();
  });

  test('POST /Users/.search takes the same parameters in the body', async () => {
    const res = await scim.post('/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'active eq true',
      sortBy: 'userName',
      startIndex: 1,
      count: 2,
      attributes: ['userName'],
    });
    expect(res.status).toBe(200);
    expect(res.body.totalResults).toBe(4);
    expect(res.body.Resources).toHaveLength(2);
  });

  test('POST /.search at the root searches users and groups', async () => {
    const res = await scim.post('/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      count: 100,
    });
    expect(res.status).toBe(200);
    expect(res.body.totalResults).toBe(people.length + 1);
  });

  test('Groups can be filtered by displayName and by member', async () => {
    const res = await scim.get(
      `/Groups?filter=${encodeURIComponent(`members.value eq "${ids.Carol}"`)}&excludedAttributes=members`,
    );
    expect(res.body.Resources.map((g: { displayName: string }) => g.displayName)).toEqual([
      'Designers',
    ]);
    expect(res.body.Resources[0].members).toBeUndefined();
  });
});

describe('tenant isolation', () => {
  test("another tenant's token sees only its own users", async () => {
    const res = await otherScim.get('/Users');
    expect(res.body.totalResults).toBe(1);
    expect(
      (await otherScim.get(`/Users?filter=${encodeURIComponent('userName eq "bob@acme.test"')}`))
        .body.totalResults,
    ).toBe(0);
  });

  test('an id from another tenant is 404 for read, replace, patch and delete', async () => {
    const id = ids.Alice!;
    expect((await otherScim.get(`/Users/${id}`)).status).toBe(404);
    expect(
      (await otherScim.put(`/Users/${id}`, { schemas: [USER], userName: 'hijack@x.test' })).status,
    ).toBe(404);
    expect(
      (await otherScim.patchOps(`/Users/${id}`, [{ op: 'replace', path: 'active', value: false }]))
        .status,
    ).toBe(404);
    expect((await otherScim.delete(`/Users/${id}`)).status).toBe(404);
    expect((await scim.get(`/Users/${id}`)).body.active).toBe(true);
  });

  test("a group cannot take another tenant's user as a member", async () => {
    const res = await otherScim.post('/Groups', {
      schemas: [GROUP],
      displayName: 'Steal',
      members: [{ value: ids.Bob }],
    });
    expect(res.status).toBe(400);
  });
});
