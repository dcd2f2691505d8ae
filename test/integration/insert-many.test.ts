// Bulk inserts (src/db/insert-many.ts): rows travel as JSON documents, chunk after chunk,
// each chunk's statement sent before the next chunk is built. What must hold: every row
// arrives with its types intact and in order, and a chunk that fails fails the whole call
// (never an unhandled rejection, never a later chunk written after it).
import { bulkInsert, insertMany } from '../../src/db/insert-many.js';
import { openTestDb, type TestDb } from '../support/db.js';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb({ migrate: false });
  await db.knex.raw(`CREATE TABLE bulk_rows (
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

test('12,001 rows in three chunks arrive complete, typed and in order', async () => {
  const at = new Date('2026-12-01T10:00:00.123Z');
  const rows = Array.from({ length: 12_001 }, (_, n) => ({
    n,
    label: n % 7 === 0 ? null : `row "${n}" \\ ünï`,
    raw: Buffer.from([n & 0xff, 0, 0xff]),
    doc: JSON.stringify({ n, list: [n, null], text: 'a\nb' }),
    at,
    flag: n % 2 === 0,
  }));
  await db.knex.transaction((trx) => insertMany(trx, 'bulk_rows', COLUMNS, rows));
  const back = await db.knex('bulk_rows').orderBy('arrival').select('*');
  expect(back.map((r) => r.n)).toEqual(rows.map((r) => r.n));
  expect(back[7]).toMatchObject({ label: null, flag: false });
  expect(back[12_000]).toMatchObject({
    n: 12_000,
    label: 'row "12000" \\ ünï',
    doc: { n: 12_000, list: [12_000, null], text: 'a\nb' },
    at,
    flag: true,
  });
  expect(back[12_000].raw).toEqual(Buffer.from([12_000 & 0xff, 0, 0xff]));
});

test('a chunk that fails fails the call, and the transaction writes nothing', async () => {
  const before = await db.knex('bulk_rows').count({ c: '*' });
  const fresh = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({ n: from + i, label: 'x' }));
  await expect(
    db.knex.transaction(async (trx) => {
      const bulk = bulkInsert(trx, 'bulk_rows', { n: 'integer', label: 'text' });
      await bulk.add(fresh(100_000, 10));
      await bulk.add(fresh(0, 10)); // n 0..9 exist: a primary-key violation
      // Give the failure time to land while more work is queued behind it.
      await new Promise((r) => setTimeout(r, 50));
      await expect(bulk.add(fresh(200_000, 10))).rejects.toMatchObject({ code: '23505' });
      await bulk.done();
    }),
  ).rejects.toMatchObject({ code: '23505' });
  expect(await db.knex('bulk_rows').count({ c: '*' })).toEqual(before);
});
