import type { Command } from 'commander';
import { migrateDown, migrateUp, migrationStatus } from '../../db/migrate.js';
import { printJson, withDatabase } from '../context.js';

export function migrateCommands(program: Command): void {
  const migrate = program.command('migrate').description('apply, undo or list database migrations');
  migrate
    .command('up')
    .description('apply every pending migration')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withDatabase(
        async ({ db }) => {
          const applied = await migrateUp(db.knex);
          if (opts.json) printJson({ applied });
          else
            console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
        },
        { requireCurrentSchema: false, as: 'owner' },
      ),
    );
  migrate
    .command('down')
    .description('undo the most recent migration (or all with --all)')
    .option('--all', 'undo every migration (drops all data)')
    .option('--json', 'print JSON')
    .action((opts: { all?: boolean; json?: boolean }) =>
      withDatabase(
        async ({ db }) => {
          const undone = await migrateDown(db.knex, { all: opts.all ?? false });
          if (opts.json) printJson({ undone });
          else console.log(undone.length ? `undone: ${undone.join(', ')}` : 'nothing to undo');
        },
        { requireCurrentSchema: false, as: 'owner' },
      ),
    );
  migrate
    .command('status')
    .description('list applied and pending migrations')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withDatabase(
        async ({ db }) => {
          const status = await migrationStatus(db.knex);
          if (opts.json) return printJson(status);
          for (const name of status.applied) console.log(`applied  ${name}`);
          for (const name of status.pending) console.log(`pending  ${name}`);
        },
        { requireCurrentSchema: false, as: 'owner' },
      ),
    );
}
