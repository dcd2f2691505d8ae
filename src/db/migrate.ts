// The schema changes only through migrations/ (listed in migrations/index.ts).
import type { Knex } from 'knex';
import { migrations, type Migration } from '../../migrations/index.js';

const source: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};

const options = { migrationSource: source };

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

/**
 * Apply pending migrations. Replicas starting together race for knex's migration lock;
 * the losers wait for the winner and then find nothing left to do.
 */
export async function migrateUp(knex: Knex, opts: { lockWaitMs?: number } = {}): Promise<string[]> {
  const deadline = Date.now() + (opts.lockWaitMs ?? 60_000);
  for (;;) {
    try {
      const [, names] = (await knex.migrate.latest(options)) as [number, string[]];
      return names;
    } catch (err) {
      if ((err as Error).name !== 'MigrationLocked' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Undo the last migration, or all of them. */
export async function migrateDown(knex: Knex, opts: { all?: boolean } = {}): Promise<string[]> {
  if (opts.all) {
    const [, names] = (await knex.migrate.rollback(options, true)) as [number, string[]];
    return names;
  }
  const [, names] = (await knex.migrate.down(options)) as [number, string[]];
  return names;
}

export async function migrationStatus(knex: Knex): Promise<MigrationStatus> {
  const [done, pending] = (await knex.migrate.list(options)) as [
    Array<{ name: string }>,
    Migration[],
  ];
  return { applied: done.map((m) => m.name), pending: pending.map((m) => m.name) };
}
