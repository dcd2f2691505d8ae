// Bulk inserts (src/db/insert-many.ts): up to 5,000 rows as one JSON document, more
// through COPY into a temporary staging table and one INSERT … SELECT; copyRows through
// COPY, chunk after chunk, each written while the next is built. What
// must hold, either way: every row arrives with its types intact and in order; a row the
// server refuses fails the whole call and writes nothing; and a failure while building
// the rows cancels the COPY, so the transaction is usable to roll back (it never hangs
// behind the COPY). Many rows reach a table under row-level security too, where
// PostgreSQL refuses COPY FROM to the service's role: they are staged, then checked by
// the table's policy on the way in.
import { copyRows, insertMany } from '../../src/db/insert-many.js';
import { APP_ROLE, ensureAppRole, grantAppAccess } from '../../migrations/app-role.js';
import { openTestDb, type TestDb } from '../support/db.js';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb({ migrate: false });
  await db.owner.raw(`CREATE TABLE bulk_rows (
    n       integer PRIMARY KEY,
    arrival bigint GENERATED ALWAYS AS IDENTITY,
    label   text,
    raw     bytea,
    doc     jsonb,
    at      timestamptz,
    flag    boolean
  )`);
});
afterAll(() => db.close());

const COLUMNS = {
  n: 'integer',
  label: 'text',
  raw: 'bytea',
  doc: 'jsonb',
  at: 'timestamptz',
  flag: 'boolean',
};

const AT = new Date('2026-12-01T10:00:00.123Z');
// Every value that needs care in either format: NULL and '', quotes, backslashes, tabs,
// newlines and carriage returns, non-ASCII, bytes, JSON text holding escapes.
const awkward = (n: number) => ({
  n,
  label: n % 7 === 0 ? null : n % 7 === 1 ? '' : `row "${n}" \\ \t ünï\r\n\\N \\.`,
  raw: Buffer.from([n & 0xff, 0, 0xff, 0x5c]),
  doc: JSON.stringify({ n, list: [n, null], text: 'a\nb\t"c"\\' }),
  at: AT,
  flag: n % 2 === 0,
});

async function roundTrip(count: number) {
  await db.owner('bulk_rows').del();
  const rows = Array.from({ length: count }, (_, n) => awkward(n));
  await db.knex.transaction((trx) => insertMany(trx, 'bulk_rows', COLUMNS, rows));
  const back = await db.owner('bulk_rows').orderBy('arrival').select('*');
  expect(back.map((r) => r.n)).toEqual(rows.map((r) => r.n));
  for (const i of [0, 1, 2, count - 1]) {
    const want = awkward(i);
    expect(back[i]).toMatchObject({
      n: i,
      label: want.label,
      doc: JSON.parse(want.doc),
      at: AT,
      flag: want.flag,
    });
    expect(back[i].raw).toEqual(want.raw);
  }
}

test('a few rows go in as one statement, values intact', async () => {
  await roundTrip(20);
});

test('12,001 rows go in through a staging table, complete, typed and in order', async () => {
  await roundTrip(12_001);
});

test('12,001 rows into a table under row-level security, as the service role (a reconcile of that many seats)', async () => {
  await db.owner.raw(`
    CREATE TABLE policed_rows (tenant text NOT NULL, n integer PRIMARY KEY);
    ALTER TABLE policed_rows ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON policed_rows
      USING (tenant = current_setting('test.tenant', true))
      WITH CHECK (tenant = current_setting('test.tenant', true))`);
  await ensureAppRole(db.owner);
  await grantAppAccess(db.owner);
  const rows = Array.from({ length: 12_001 }, (_, n) => ({ tenant: 't1', n }));
  await db.knex.transaction(async (trx) => {
    await trx.raw(`SET LOCAL ROLE ${APP_ROLE}`);
    await trx.raw("SELECT set_config('test.tenant', 't1', true)");
    await insertMany(trx, 'policed_rows', { tenant: 'text', n: 'integer' }, rows);
  });
  expect(await db.owner('policed_rows').count({ c: '*' })).toEqual([{ c: 12_001 }]);

  // The staging table has no policy, but the move out of it does: one row for another
  // tenant among them, and nothing goes in.
  const stray = Array.from({ length: 6_000 }, (_, n) => ({
    tenant: n === 5_999 ? 't2' : 't1',
    n: 20_000 + n,
  }));
  await expect(
    db.knex.transaction(async (trx) => {
      await trx.raw(`SET LOCAL ROLE ${APP_ROLE}`);
      await trx.raw("SELECT set_config('test.tenant', 't1', true)");
      await insertMany(trx, 'policed_rows', { tenant: 'text', n: 'integer' }, stray);
    }),
  ).rejects.toMatchObject({ code: '42501' });
  expect(await db.owner('policed_rows').count({ c: '*' })).toEqual([{ c: 12_001 }]);
});

test('a row the server refuses fails the COPY, and the transaction writes nothing', async () => {
  await db.owner('bulk_rows').del();
  await db.owner('bulk_rows').insert(Array.from({ length: 10 }, (_, n) => ({ n })));
  const fresh = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({ n: from + i, label: 'x' }));
  await expect(
    db.knex.transaction((trx) =>
      copyRows(
        trx,
        'bulk_rows',
        ['n', 'label'],
        [fresh(100_000, 10), fresh(0, 10), fresh(200_000, 10)],
      ),
    ),
  ).rejects.toMatchObject({ code: '23505' });
  expect(await db.owner('bulk_rows').count({ c: '*' })).toEqual([{ c: 10 }]);
});

test('a failure while building the rows cancels the COPY: the error goes on, the transaction rolls back', async () => {
  await db.owner('bulk_rows').del();
  function* failing() {
    yield [{ n: 1, label: 'a' }];
    throw new Error('the producer broke');
  }
  await expect(
    db.knex.transaction((trx) => copyRows(trx, 'bulk_rows', ['n', 'label'], failing())),
  ).rejects.toThrow('the producer broke');
  expect(await db.owner('bulk_rows').count({ c: '*' })).toEqual([{ c: 0 }]);
});

test('the transaction goes on after a COPY, and sees its rows', async () => {
  await db.owner('bulk_rows').del();
  const seen = await db.knex.transaction(async (trx) => {
    await copyRows(trx, 'bulk_rows', ['n'], [[{ n: 1 }, { n: 2 }]]);
    return trx('bulk_rows').count({ c: '*' });
  });
  expect(seen).toEqual([{ c: 2 }]);
});
