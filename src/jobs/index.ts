// The service's scheduled jobs.
import type { Knex } from 'knex';
import { createCheckpoints, settleAudit, type SigningKey } from '../audit/index.js';
import { reconcileAllTenants, scanInactivity } from '../licensing/index.js';
import { allTenantIds } from '../db/tenant-scope.js';
import type { Clock } from '../shared/clock.js';
import type { JobDefinition } from './scheduler.js';

export function serviceJobs(deps: {
  knex: Knex;
  signingKey: SigningKey;
  clock: Clock;
  checkpointEveryMs: number;
  reconcileEveryMs?: number;
  inactivityScanEveryMs?: number;
}): JobDefinition[] {
  return [
    {
      name: 'audit-checkpoint',
      everyMs: deps.checkpointEveryMs,
      run: async () => {
        // Sign what has committed, including events still waiting to be chained.
        await settleAudit(deps.knex, { wait: true });
        await createCheckpoints(deps.knex, deps.signingKey, { clock: deps.clock });
      },
    },
    {
      // The safety net behind in-transaction reconciles; also reclaims seats whose grace ran out.
      name: 'seat-reconcile',
      everyMs: deps.reconcileEveryMs ?? 3_600_000,
      run: async () => {
        await reconcileAllTenants(deps.knex, {
          clock: deps.clock,
          actor: { type: 'job', id: 'seat-reconcile' },
        });
      },
    },
    {
      // Inactive seats start their reclaim grace (issue 14); the grace's end is the
      // seat-reconcile's. One tenant at a time, each in its own transaction.
      name: 'inactivity-scan',
      everyMs: deps.inactivityScanEveryMs ?? 3_600_000,
      run: async () => {
        for (const tenantId of await allTenantIds(deps.knex))
          await scanInactivity({
            knex: deps.knex,
            tenantId,
            clock: deps.clock,
            actor: { type: 'job', id: 'inactivity-scan' },
          });
      },
    },
  ];
}

export { createScheduler, type Scheduler } from './scheduler.js';
