// Scheduled jobs on agenda v6 with its PostgreSQL backend, on either database. Replicas
// coordinate through the jobs table (a job runs on one replica at a time).
// - The embedded database never delivers NOTIFY to another socket connection, so there
//   the scheduler polls (job start latency ≈ the poll interval).
// - processEvery must be a number: agenda parses '200 milliseconds' as 200 s.
// - stop() leaves a lockLifetime/2 timer behind; drain() then stop() at shutdown, and
//   the process exits explicitly.
import { Agenda } from 'agenda';
import { PostgresBackend } from '@agendajs/postgres-backend';
import pg from 'pg';
import type { Logger } from '../log/logger.js';

export interface JobDefinition {
  name: string;
  /** Run every this many milliseconds. */
  everyMs: number;
  run(): Promise<void>;
}

export interface Scheduler {
  agenda: Agenda;
  start(): Promise<void>;
  /** Let running jobs finish (up to timeoutMs), then stop polling and close the pool. */
  stop(timeoutMs: number): Promise<void>;
}

export function createScheduler(opts: {
  connection: pg.PoolConfig;
  embedded: boolean;
  pollMs: number;
  lockLifetimeMs: number;
  logger: Logger;
  jobs: JobDefinition[];
}): Scheduler {
  const pool = new pg.Pool({ ...opts.connection, max: 3 });
  pool.on('error', (err) => opts.logger.warn('job pool connection error', { error: err.message }));
  const agenda = new Agenda({
    backend: new PostgresBackend({
      pool,
      tableName: 'agenda_jobs',
      ensureSchema: false,
      disableNotifications: opts.embedded,
    }),
    processEvery: opts.pollMs,
    defaultLockLifetime: opts.lockLifetimeMs,
  });
  agenda.on('error', (err: Error) => opts.logger.error('scheduler error', { error: err.message }));
  for (const job of opts.jobs) {
    agenda.define(job.name, async () => {
      const start = Date.now();
      try {
        await job.run();
        opts.logger.debug('job finished', { job: job.name, ms: Date.now() - start });
      } catch (err) {
        opts.logger.error('job failed', { job: job.name, error: err });
        throw err;
      }
    });
  }
  let started = false;
  return {
    agenda,
    async start() {
      await agenda.start();
      started = true;
      for (const job of opts.jobs) await agenda.every(job.everyMs, job.name);
    },
    async stop(timeoutMs) {
      if (started) {
        await agenda.drain({ timeout: timeoutMs, closeConnection: false });
        await agenda.stop(false);
      }
      await pool.end();
    },
  };
}
