// Running a job for one tenant, and what it last did (issue 14). The schedule runs a job
// for every tenant, one after another, each tenant in transactions of its own, so one
// tenant's failure is recorded and the others still run; `POST /api/v1/jobs/{name}/run`
// and `seatkeeper jobs run` run it for one tenant within the request. Either way the
// run and its result (or failure) are recorded in job_runs.
import type { Knex } from 'knex';
import { z } from 'zod';
import { withTenant } from '../db/tenant-scope.js';
import type { Clock } from '../shared/clock.js';
import { AppError } from '../shared/errors.js';
import type { JobMetrics } from './metrics.js';

export const JOB_NAMES = [
  'inactivity-scan',
  'reclaim-expired',
  'license-expiry-alerts',
  'subscription-renewal',
  'trial-expiry',
  'compliance-scan',
  'audit-retention',
  'seat-reconcile',
  'audit-checkpoint',
  'lease-cull',
] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** A job's work for one tenant; its result is what the API shows. */
export type TenantWork = (tenantId: string) => Promise<Record<string, unknown>>;

export const JobRunRecord = z.object({
  name: z.enum(JOB_NAMES),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  result: z.record(z.string(), z.unknown()),
});
export type JobRun = z.infer<typeof JobRunRecord>;

export function jobNamed(name: string): JobName {
  if (!(JOB_NAMES as readonly string[]).includes(name))
    throw new AppError('not_found', `no job named ${name} (jobs: ${JOB_NAMES.join(', ')})`, {
      status: 404,
    });
  return name as JobName;
}

/**
 * Run `work` for the tenant and record the run (and its metrics); a failure is recorded,
 * then rethrown.
 */
export async function runForTenant(
  knex: Knex,
  clock: Clock,
  name: JobName,
  tenantId: string,
  work: TenantWork,
  metrics?: JobMetrics,
): Promise<JobRun> {
  const startedAt = clock.now().toISOString();
  // Durations by the process's monotonic clock: the injected clock may stand still.
  const t0 = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;
  let observed = false;
  const observe = (ok: boolean) => {
    if (!observed) metrics?.observe(name, { ok, seconds: seconds(), at: clock.now() });
    observed = true;
  };
  try {
    const result = await work(tenantId);
    observe(true);
    const finishedAt = clock.now().toISOString();
    await withTenant(knex, tenantId, (trx) =>
      trx.raw(
        `INSERT INTO job_runs (tenant_id, name, runs, last_started_at, last_finished_at, last_result)
         VALUES (?, ?, 1, ?, ?, ?::jsonb)
         ON CONFLICT (tenant_id, name) DO UPDATE SET runs = job_runs.runs + 1,
           last_started_at = EXCLUDED.last_started_at, last_finished_at = EXCLUDED.last_finished_at,
           last_result = EXCLUDED.last_result`,
        [tenantId, name, startedAt, finishedAt, JSON.stringify(result)],
      ),
    );
    return { name, startedAt, finishedAt, result };
  } catch (err) {
    // The work failed (a failure to record a finished run counts as that run's, not twice).
    observe(false);
    const error = err instanceof Error ? err.message : String(err);
    await withTenant(knex, tenantId, (trx) =>
      trx.raw(
        `INSERT INTO job_runs (tenant_id, name, failures, last_failure_at, last_error)
         VALUES (?, ?, 1, ?, ?)
         ON CONFLICT (tenant_id, name) DO UPDATE SET failures = job_runs.failures + 1,
           last_failure_at = EXCLUDED.last_failure_at, last_error = EXCLUDED.last_error`,
        [tenantId, name, clock.now().toISOString(), error.slice(0, 2000)],
      ),
    ).catch(() => undefined);
    throw err;
  }
}

export const JobStatusRecord = z.object({
  name: z.enum(JOB_NAMES),
  runs: z.number().int(),
  failures: z.number().int(),
  lastRun: z
    .object({
      startedAt: z.iso.datetime(),
      finishedAt: z.iso.datetime(),
      result: z.record(z.string(), z.unknown()),
    })
    .nullable(),
  lastFailure: z.object({ at: z.iso.datetime(), error: z.string() }).nullable(),
  /** When the schedule runs it next (for every tenant); null when jobs are off. */
  nextRunAt: z.iso.datetime().nullable(),
});
export type JobStatus = z.infer<typeof JobStatusRecord>;

/** Each job's record for the tenant, with its next scheduled run (agenda's, shared). */
export async function jobStatuses(knex: Knex, tenantId: string): Promise<JobStatus[]> {
  const rows = (await withTenant(knex, tenantId, (trx) =>
    trx('job_runs').where({ tenant_id: tenantId }).select('*'),
  )) as Array<Record<string, unknown> & { name: string }>;
  // agenda_jobs holds no tenant data (the scheduler's queue): read as is.
  const next = (await knex('agenda_jobs')
    .whereIn('name', [...JOB_NAMES])
    .select('name')
    .min({ at: 'next_run_at' })
    .groupBy('name')) as Array<{ name: string; at: Date | null }>;
  const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : null);
  return JOB_NAMES.map((name) => {
    const r = rows.find((x) => x.name === name);
    const finished = iso(r?.last_finished_at);
    return {
      name,
      runs: Number(r?.runs ?? 0),
      failures: Number(r?.failures ?? 0),
      lastRun:
        r && finished
          ? {
              startedAt: iso(r.last_started_at)!,
              finishedAt: finished,
              result: (r.last_result ?? {}) as Record<string, unknown>,
            }
          : null,
      lastFailure:
        r && r.last_failure_at
          ? { at: iso(r.last_failure_at)!, error: String(r.last_error ?? '') }
          : null,
      nextRunAt: iso(next.find((n) => n.name === name)?.at),
    };
  });
}
