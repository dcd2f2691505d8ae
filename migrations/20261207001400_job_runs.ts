// What each scheduled job last did for each tenant (issue 14: GET /api/v1/jobs shows a
// job's last run, its result, and its last failure). agenda's own table says when a job
// runs next; this one says what it did, per tenant, under row-level security.
import type { Knex } from 'knex';
import { tenantIsolationSql } from './20261207001000_tenant_isolation.js';

export const JOB_RUNS_TENANT_TABLES = ['job_runs'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE job_runs (
      tenant_id        uuid NOT NULL REFERENCES tenants (tenant_id),
      name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      runs             integer NOT NULL DEFAULT 0,
      failures         integer NOT NULL DEFAULT 0,
      last_started_at  timestamptz,
      last_finished_at timestamptz,
      last_result      jsonb,
      last_failure_at  timestamptz,
      last_error       text,
      PRIMARY KEY (tenant_id, name)
    );
    ${tenantIsolationSql('job_runs')}
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE job_runs');
}
