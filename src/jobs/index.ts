// The service's scheduled jobs (issue 14). Each is work for one tenant; the schedule runs
// it for every tenant in turn (jobs/runs.ts records each run), and the admin API and the
// CLI run it for one tenant on demand, with JOBS_ENABLED=false too.
import type { Knex } from 'knex';
import {
  createCheckpoints,
  eraseExpiredPayloads,
  settleAudit,
  type SigningKey,
} from '../audit/index.js';
import { allTenantIds } from '../db/tenant-scope.js';
import { cullLeases, DEFAULT_LEASE_TTL_SECONDS } from '../keys/index.js';
import {
  expireTrials,
  licenceExpiryAlerts,
  reclaimExpired,
  reconcileTenant,
  renewSubscriptions,
  scanCompliance,
  scanInactivity,
} from '../licensing/index.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../shared/clock.js';
import { getTenant } from '../tenancy/index.js';
import type { JobMetrics } from './metrics.js';
import {
  jobNamed,
  JOB_NAMES,
  runForTenant,
  type JobName,
  type JobRun,
  type TenantWork,
} from './runs.js';
import type { JobDefinition } from './scheduler.js';

export interface JobDeps {
  knex: Knex;
  clock: Clock;
  /** The checkpoint key; without it audit-checkpoint settles the queue and signs nothing. */
  signingKey?: SigningKey | undefined;
  /** Where runs are counted for /metrics (the app's registry holds them). */
  metrics?: JobMetrics | undefined;
  /** LEASE_TTL_SECONDS: what a lease served from the queue by lease-cull lives. */
  leaseTtlSeconds?: number | undefined;
}

const DAY_MS = 86_400_000;

/** What each job does for one tenant, and the result it reports. */
function work(deps: JobDeps): Record<JobName, TenantWork> {
  const actor = (name: JobName) => ({ type: 'job' as const, id: name });
  const ctx = (tenantId: string, name: JobName) => ({
    knex: deps.knex,
    tenantId,
    clock: deps.clock,
    actor: actor(name),
  });
  return {
    'inactivity-scan': async (t) => {
      const items = await scanInactivity(ctx(t, 'inactivity-scan'));
      return {
        scheduled: items.filter((i) => i.action === 'reclaim_scheduled').length,
        released: items.filter((i) => i.action === 'release').length,
      };
    },
    // Graces that ran out: released, and their places given to the first in line.
    'reclaim-expired': (t) => reclaimExpired(ctx(t, 'reclaim-expired')),
    // Lead-time alerts before fixed terms end, and the end itself.
    'license-expiry-alerts': (t) => licenceExpiryAlerts(ctx(t, 'license-expiry-alerts')),
    // Auto-renewing subscriptions whose term ended: the next term stored and announced.
    'subscription-renewal': (t) => renewSubscriptions(ctx(t, 'subscription-renewal')),
    // Trials past their end and grace give back every seat.
    'trial-expiry': (t) => expireTrials(ctx(t, 'trial-expiry')),
    // Utilisation thresholds crossed without a reconcile noticing, and the tenant's score.
    'compliance-scan': (t) => scanCompliance(ctx(t, 'compliance-scan')),
    // Payloads past the tenant's auditRetentionDays, erased as `audit erase` does.
    'audit-retention': async (t) => {
      const days = (await getTenant(deps.knex, t)).auditRetentionDays;
      if (days === null) return { retentionDays: null, erased: 0, more: false };
      const before = new Date(deps.clock.now().getTime() - days * DAY_MS);
      const done = await eraseExpiredPayloads(deps.knex, t, {
        before,
        actor: actor('audit-retention'),
        clock: deps.clock,
      });
      return { retentionDays: days, before: before.toISOString(), ...done };
    },
    // The safety net behind the in-transaction reconciles.
    'seat-reconcile': async (t) => ({
      changes: (
        await reconcileTenant(deps.knex, t, { clock: deps.clock, actor: actor('seat-reconcile') })
      ).length,
    }),
    // Sign what has committed, including events still waiting to be chained.
    'audit-checkpoint': async (t) => {
      const settled = await settleAudit(deps.knex, { tenantId: t, wait: true });
      const signed = deps.signingKey
        ? await createCheckpoints(deps.knex, deps.signingKey, { clock: deps.clock, tenantId: t })
        : [];
      return { settled, checkpoints: signed.length };
    },
    // Leases and queued requests whose heartbeats stopped, expired; the queues served.
    'lease-cull': (t) =>
      cullLeases({
        ...ctx(t, 'lease-cull'),
        leaseTtlSeconds: deps.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS,
      }),
  };
}

/** Run one job for one tenant now, recorded like a scheduled run. */
export interface JobRunner {
  run(name: string, tenantId: string): Promise<JobRun>;
}

export function jobRunner(deps: JobDeps): JobRunner {
  const jobs = work(deps);
  return {
    run: (name, tenantId) => {
      const job = jobNamed(name);
      return runForTenant(deps.knex, deps.clock, job, tenantId, jobs[job], deps.metrics);
    },
  };
}

export function serviceJobs(
  deps: JobDeps & {
    logger: Logger;
    checkpointEveryMs: number;
    reconcileEveryMs?: number;
    inactivityScanEveryMs?: number;
    reclaimExpiredEveryMs?: number;
    /** license-expiry-alerts, subscription-renewal, trial-expiry (default daily). */
    licenceSchedulesEveryMs?: number;
    complianceScanEveryMs?: number;
    auditRetentionEveryMs?: number;
    leaseCullEveryMs?: number;
  },
): JobDefinition[] {
  const jobs = work(deps);
  const daily = deps.licenceSchedulesEveryMs ?? DAY_MS;
  const every: Record<JobName, number> = {
    'inactivity-scan': deps.inactivityScanEveryMs ?? 3_600_000,
    'reclaim-expired': deps.reclaimExpiredEveryMs ?? 300_000,
    'license-expiry-alerts': daily,
    'subscription-renewal': daily,
    'trial-expiry': daily,
    'compliance-scan': deps.complianceScanEveryMs ?? 3_600_000,
    'audit-retention': deps.auditRetentionEveryMs ?? DAY_MS,
    'seat-reconcile': deps.reconcileEveryMs ?? 3_600_000,
    'audit-checkpoint': deps.checkpointEveryMs,
    'lease-cull': deps.leaseCullEveryMs ?? 60_000,
  };
  return JOB_NAMES.map((name) => ({
    name,
    everyMs: every[name],
    // Every tenant in turn; one tenant's failure is recorded and logged, the rest run.
    run: async () => {
      for (const tenantId of await allTenantIds(deps.knex)) {
        await runForTenant(deps.knex, deps.clock, name, tenantId, jobs[name], deps.metrics).catch(
          (err: unknown) =>
            deps.logger.error('job failed for a tenant', { job: name, tenantId, error: err }),
        );
      }
    },
  }));
}

export { createJobMetrics, type JobMetrics } from './metrics.js';
export { createScheduler, type Scheduler } from './scheduler.js';
export {
  JOB_NAMES,
  JobRunRecord,
  JobStatusRecord,
  jobStatuses,
  type JobName,
  type JobRun,
  type JobStatus,
} from './runs.js';
