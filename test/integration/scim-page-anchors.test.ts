// Deep index pages served from remembered anchors must be exactly the pages OFFSET
// gives, before and after the list changes, and per tenant.
import { USER_COLUMNS } from '../../src/directory/users.js';
import { insertMany } from '../../src/db/insert-many.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { listRows } from '../../src/scim/list.js';
import type { ListQuery } from '../../src/scim/list-query.js';
import { STRIDE } from '../../src/scim/page-anchors.js';
import { fixedClock } from '../../src/shared/clock.js';
import { createTenant } from '../../src/tenancy/service.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { DIRECTORY_USER_COLUMNS, directoryUserRows } from '../support/fixtures.js';

const clock = fixedClock('2026-12-01T09:00:00.000Z');
let db: TestDb;

beforeAll(async () => {
  db = await openTestDb();
});
afterAll(async () => {
  await db.close();
});

const newTenant = async (name: string) =>
  (await createTenant(db.knex, name, { actor: { type: 'cli' }, clock })).id;

async function addUsers(tenantId: string, n: number): Promise<void> {
  const rows = directoryUserRows(tenantId, n, clock.now());
  await withTenant(db.knex, tenantId, (trx) =>
    insertMany(trx, 'directory_users', DIRECTORY_USER_COLUMNS, rows),
  );
}

const query = (startIndex: number, count: number): ListQuery => ({
  sortOrder: 'ascending',
  startIndex,
  count,
});

type Row = { user_id: string; user_name: string; created_at: Date };

/** A page as the service lists it: its role, in a transaction scoped to the tenant. */
const list = (tenantId: string, q: ListQuery) =>
  withTenant(db.knex, tenantId, (trx) => listRows<Row>(trx, tenantId, 'User', q, USER_COLUMNS));

/** The page as OFFSET computes it, the reference. */
async function offsetPage(tenantId: string, startIndex: number, count: number) {
  const ids = (await db
    .owner('directory_users')
    .where({ tenant_id: tenantId })
    .orderBy('user_id')
    .offset(startIndex - 1)
    .limit(count)
    .pluck('user_id')) as string[];
  const [{ n }] = (await db
    .owner('directory_users')
    .where({ tenant_id: tenantId })
    .count({ n: '*' })) as [{ n: number }];
  return { ids, total: Number(n) };
}

async function expectSamePages(tenantId: string, starts: number[], count = 7) {
  for (const s of starts) {
    const page = await list(tenantId, query(s, count));
    const expected = await offsetPage(tenantId, s, count);
    expect({ start: s, ids: page.rows.map((r) => r.user_id), total: page.total }).toEqual({
      start: s,
      ...expected,
    });
  }
}

const starts = (total: number) => [
  STRIDE + 1,
  STRIDE + 2,
  2 * STRIDE,
  2 * STRIDE + 1,
  Math.floor(total / 2),
  total - 3,
  total,
  total + 1,
  total + STRIDE * 3,
];

test('deep pages equal the pages OFFSET gives, rows and total, to the end and past it', async () => {
  const t = await newTenant('Anchored');
  await addUsers(t, 3 * STRIDE + 457);
  await expectSamePages(t, starts(3 * STRIDE + 457));
  // Served again from the anchors now remembered: the same pages.
  await expectSamePages(t, starts(3 * STRIDE + 457));
  // Whole rows, with the types the ordinary path returns.
  const [row] = (await list(t, query(STRIDE + 5, 1))).rows;
  expect(row!.created_at).toBeInstanceOf(Date);
  expect(row!.user_name).toMatch(/@example\.com$/);
});

test('after inserts and deletes the pages move with the list', async () => {
  const t = await newTenant('Moving');
  await addUsers(t, 2 * STRIDE + 100);
  await expectSamePages(t, [STRIDE + 1, 2 * STRIDE + 50]);
  await addUsers(t, 300);
  await expectSamePages(t, [STRIDE + 1, 2 * STRIDE + 50, 2 * STRIDE + 400]);
  const gone = await db
    .owner('directory_users')
    .where({ tenant_id: t })
    .orderBy('user_id')
    .limit(500)
    .pluck('user_id');
  await db.owner('directory_users').where({ tenant_id: t }).whereIn('user_id', gone).del();
  await expectSamePages(t, [STRIDE + 1, 2 * STRIDE - 100, 2 * STRIDE + 1]);
});

test("one tenant's anchors never answer for another's list", async () => {
  const a = await newTenant('Anchors A');
  const b = await newTenant('Anchors B');
  await addUsers(a, 2 * STRIDE + 10);
  await addUsers(b, STRIDE + 20);
  await expectSamePages(a, [STRIDE + 1, 2 * STRIDE + 5]);
  await expectSamePages(b, [STRIDE + 1, STRIDE + 15, STRIDE + 30]);
  await expectSamePages(a, [STRIDE + 1, 2 * STRIDE + 5]);
});
