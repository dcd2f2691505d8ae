import { migrations } from '../../migrations/index.js';
import { migrateDown, migrateUp, migrationStatus } from '../../src/db/migrate.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
});
afterAll(() => db.close());

async function tables(): Promise<string[]> {
  const rows = await db
    .owner('information_schema.tables')
    .where({ table_schema: db.schema, table_type: 'BASE TABLE' })
    .whereNotIn('table_name', ['knex_migrations', 'knex_migrations_lock'])
    .orderBy('table_name')
    .pluck('table_name');
  return rows as string[];
}

describe('migrations', () => {
  test('up, then down step by step to nothing, then up again, leaves the same schema', async () => {
    const all = migrations.map((m) => m.name);
    expect(await migrationStatus(db.owner)).toEqual({ applied: all, pending: [] });
    const before = await tables();
    expect(before).toEqual(
      expect.arrayContaining(['tenants', 'api_tokens', 'audit_events', 'agenda_jobs']),
    );

    for (let i = all.length - 1; i >= 0; i--) {
      expect(await migrateDown(db.owner)).toEqual([all[i]]);
    }
    expect(await tables()).toEqual([]);
    expect(await migrationStatus(db.owner)).toEqual({ applied: [], pending: all });

    expect(await migrateUp(db.owner)).toEqual(all);
    expect(await tables()).toEqual(before);
    // The schema works after the round trip.
    await newTenant(db.knex, 'after round trip');
  });

  test('down --all removes every migration at once, and up is idempotent', async () => {
    await migrateDown(db.owner, { all: true });
    expect((await migrationStatus(db.owner)).applied).toEqual([]);
    await migrateUp(db.owner);
    expect(await migrateUp(db.owner)).toEqual([]);
  });
});
