import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { importLicences, reconcileAllTenants, reconcileTenant } from '../../licensing/index.js';
import { AppError } from '../../shared/errors.js';
import { systemClock } from '../../shared/clock.js';
import { getTenant } from '../../tenancy/index.js';
import { printJson, withDatabase } from '../context.js';
import { progressBar } from '../progress.js';

export function licensingCommands(program: Command): void {
  program
    .command('reconcile')
    .description(
      'recompute every seat from directory, rules and licences (a second run changes nothing)',
    )
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'print JSON')
    .action((opts: { tenant?: string; json?: boolean }) =>
      withDatabase(async ({ db, actor }) => {
        const ctx = { clock: systemClock, actor };
        const results = opts.tenant
          ? new Map([
              [
                (await getTenant(db.knex, opts.tenant)).id,
                await reconcileTenant(db.knex, opts.tenant, ctx),
              ],
            ])
          : await reconcileAllTenants(db.knex, ctx);
        const summary = [...results].map(([tenantId, changes]) => ({
          tenantId,
          changes: changes.length,
        }));
        if (opts.json) return printJson({ tenants: summary });
        for (const s of summary)
          console.log(`${s.tenantId}  ${s.changes} seat change${s.changes === 1 ? '' : 's'}`);
        if (summary.length === 0) console.log('no licences to reconcile');
      }),
    );

  const imports = program.command('import').description('import existing records');
  imports
    .command('licences')
    .alias('licenses')
    .description('import licences and seat assignments from CSV (all or nothing)')
    .argument(
      '<file>',
      `CSV with a header row: product,vendor,license,type,quantity,startsAt,endsAt,category,unitCost,currency,assignee`,
    )
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--dry-run', 'check everything and report, writing nothing')
    .option('--json', 'print JSON')
    .action((file: string, opts: { tenant: string; dryRun?: boolean; json?: boolean }) =>
      withDatabase(async ({ db, actor }) => {
        await getTenant(db.knex, opts.tenant);
        await access(file); // a missing file is named before anything else
        const csv = createReadStream(file);
        let bar: ReturnType<typeof progressBar> | undefined;
        try {
          const report = await importLicences(
            { knex: db.knex, tenantId: opts.tenant, actor, clock: systemClock },
            csv,
            {
              dryRun: opts.dryRun ?? false,
              onProgress: (done, total) => {
                bar ??= progressBar(total, 'importing');
                bar.tick();
                if (done === total) bar.stop();
              },
            },
          );
          if (opts.json) return printJson(report);
          console.log(
            `${report.dryRun ? 'would import' : 'imported'} ${report.licenses} licences (${report.products} new products) and ${report.seats} seats from ${report.rows} rows`,
          );
        } catch (err) {
          bar?.stop();
          if (err instanceof AppError && Array.isArray(err.detail?.errors)) {
            if (opts.json) printJson({ error: err.message, errors: err.detail.errors });
            else
              for (const e of err.detail.errors as Array<{ line: number; message: string }>)
                console.error(`${file}:${e.line}: ${e.message}`);
            throw new AppError(err.code, err.message, { status: err.status });
          }
          throw err;
        }
      }),
    );
}
