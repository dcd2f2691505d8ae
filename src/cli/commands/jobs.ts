// `seatkeeper jobs run <name> [--tenant <id>] [--json]`: a scheduled job now, for one
// tenant or every tenant, recorded like a scheduled run (issue 14).
import type { Command } from 'commander';
import { loadSigningKey } from '../../audit/index.js';
import { allTenantIds } from '../../db/tenant-scope.js';
import { JOB_NAMES, jobRunner, type JobRun } from '../../jobs/index.js';
import { systemClock } from '../../shared/clock.js';
import { getTenant } from '../../tenancy/index.js';
import { printJson, withDatabase } from '../context.js';

export function jobCommands(program: Command): void {
  const jobs = program.command('jobs').description('the scheduled jobs');
  jobs
    .command('run <name>')
    .description(`run a job now (${JOB_NAMES.join(', ')}) for one tenant or every tenant`)
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'print JSON')
    .action((name: string, opts: { tenant?: string; json?: boolean }) =>
      withDatabase(async ({ db, config }) => {
        const runner = jobRunner({
          knex: db.knex,
          clock: systemClock,
          leaseTtlSeconds: config.LEASE_TTL_SECONDS,
          signingKey: loadSigningKey(config.AUDIT_SIGNING_KEY_FILE, { create: false }) ?? undefined,
        });
        const tenants = opts.tenant
          ? [(await getTenant(db.knex, opts.tenant)).id]
          : await allTenantIds(db.knex);
        const runs: Array<JobRun & { tenantId: string }> = [];
        for (const tenantId of tenants)
          runs.push({ tenantId, ...(await runner.run(name, tenantId)) });
        if (opts.json) return printJson({ runs });
        for (const r of runs) console.log(`${r.tenantId}  ${r.name}  ${JSON.stringify(r.result)}`);
        if (runs.length === 0) console.log('no tenants');
      }),
    );
}
