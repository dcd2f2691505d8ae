// The Citus rule (../shared/DESIGN.md, "Scale-out"): every table carries tenant_id, and
// every primary key, unique constraint, unique index and foreign key includes it, so
// all tables can be distributed by tenant_id and co-located. Checked over the live schema.
import { openTestDb, type TestDb } from '../support/db.js';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
});
afterAll(() => db.close());

// Infrastructure tables that hold no tenant data (knex's bookkeeping, agenda's queue).
// auth_failures: per address / token id, no tenant data (migrations/20261207000900).
const EXEMPT = new Set(['knex_migrations', 'knex_migrations_lock', 'agenda_jobs', 'auth_failures']);

async function query<T>(sql: string): Promise<T[]> {
  return (await db.owner.raw(sql, [db.schema])).rows as T[];
}

describe('every table is keyed by tenant', () => {
  test('every table has a NOT NULL tenant_id column', async () => {
    const rows = await query<{ table_name: string; has: boolean }>(`
      SELECT t.table_name,
             EXISTS (SELECT 1 FROM information_schema.columns c
                     WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name
                       AND c.column_name = 'tenant_id' AND c.is_nullable = 'NO') AS has
      FROM information_schema.tables t
      WHERE t.table_schema = ? AND t.table_type = 'BASE TABLE'`);
    const tables = rows.filter((r) => !EXEMPT.has(r.table_name));
    expect(tables.length).toBeGreaterThanOrEqual(6);
    expect(tables.filter((r) => !r.has).map((r) => r.table_name)).toEqual([]);
  });

  test('every primary key, unique constraint and foreign key includes tenant_id on both sides', async () => {
    const rows = await query<{
      table_name: string;
      conname: string;
      contype: string;
      local: boolean;
      referenced: boolean | null;
    }>(`
      SELECT cl.relname AS table_name, co.conname, co.contype,
             EXISTS (SELECT 1 FROM unnest(co.conkey) k JOIN pg_attribute a
                     ON a.attrelid = co.conrelid AND a.attnum = k WHERE a.attname = 'tenant_id') AS local,
             CASE WHEN co.contype = 'f' THEN
               EXISTS (SELECT 1 FROM unnest(co.confkey) k JOIN pg_attribute a
                       ON a.attrelid = co.confrelid AND a.attnum = k WHERE a.attname = 'tenant_id')
             END AS referenced
      FROM pg_constraint co
      JOIN pg_class cl ON cl.oid = co.conrelid
      JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE n.nspname = ? AND co.contype IN ('p', 'u', 'f')`);
    const checked = rows.filter((r) => !EXEMPT.has(r.table_name));
    expect(checked.some((r) => r.contype === 'f')).toBe(true);
    const offenders = checked
      .filter((r) => !r.local || r.referenced === false)
      .map((r) => `${r.table_name}.${r.conname}`);
    expect(offenders).toEqual([]);
  });

  test('every unique index includes tenant_id', async () => {
    const rows = await query<{ table_name: string; index_name: string; has: boolean }>(`
      SELECT t.relname AS table_name, i.relname AS index_name,
             EXISTS (SELECT 1 FROM unnest(ix.indkey) k JOIN pg_attribute a
                     ON a.attrelid = ix.indrelid AND a.attnum = k WHERE a.attname = 'tenant_id') AS has
      FROM pg_index ix
      JOIN pg_class i ON i.oid = ix.indexrelid
      JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = ? AND ix.indisunique`);
    const offenders = rows
      .filter((r) => !EXEMPT.has(r.table_name) && !r.has)
      .map((r) => `${r.table_name}.${r.index_name}`);
    expect(offenders).toEqual([]);
  });
});
