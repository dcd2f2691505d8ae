// The service's scheduled jobs.
import type { Knex } from 'knex';
import { createCheckpoints, settleAudit, type SigningKey } from '../audit/index.js';
import { reconcileAllTenants } from '../licensing/index.js';
import type { Clock } from '../shared/clock.js';
import type { JobDefinition } from './scheduler.js';

export function serviceJobs(deps: {
  knex: Knex;
  signingKey: SigningKey;
  clock: Clock;
  checkpointEveryMs: number;
  reconcileEveryMs?: number;
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
  ];
}

export { createScheduler, type Scheduler } from './scheduler.js';
