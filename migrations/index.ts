// The ordered list of migrations. Listed in code rather than discovered on disk so that
// the service, the CLI and jest (native ESM) all load them the same way.
import type { Knex } from 'knex';
import * as foundation from './20261201000000_foundation.js';
import * as jobs from './20261201000100_jobs.js';
import * as directory from './20261201000200_directory.js';
import * as licensing from './20261201000300_licensing.js';
import * as auditPending from './20261201000400_audit_pending.js';
import * as directoryCounts from './20261201000500_directory_counts.js';
import * as auditPayloadInline from './20261201000600_audit_payload_inline.js';
import * as auditSubjectHash from './20261201000700_audit_subject_hash_index.js';
import * as appRole from './20261201000800_app_role.js';
import * as auditDefiner from './20261201000900_audit_definer.js';
import * as authFailures from './20261207000900_auth_failures.js';
import * as tenantIsolation from './20261207001000_tenant_isolation.js';
import * as foldedNames from './20261207001100_folded_names.js';
import * as reclamation from './20261207001300_reclamation.js';
import * as jobRuns from './20261207001400_job_runs.js';
import * as outbox from './20261207001500_outbox.js';
import * as auditStagedAppend from './20261207001600_audit_staged_append.js';
import * as sso from './20261207001700_sso.js';
import * as oauthClients from './20261207001800_oauth_clients.js';
import * as outboxEvents from './20261208000000_outbox_events.js';
import * as webhooks from './20261208000100_webhooks.js';
import * as licenseSchedules from './20261208000200_license_schedules.js';
import * as licenseKeys from './20261208000300_license_keys.js';
import * as machinesLeases from './20261208000400_machines_leases.js';
import * as ssoFlowPreviousSession from './20261208000500_sso_flow_previous_session.js';

export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: Migration[] = [
  { name: '20261201000000_foundation', ...foundation },
  { name: '20261201000100_jobs', ...jobs },
  { name: '20261201000200_directory', ...directory },
  { name: '20261201000300_licensing', ...licensing },
  { name: '20261201000400_audit_pending', ...auditPending },
  { name: '20261201000500_directory_counts', ...directoryCounts },
  { name: '20261201000600_audit_payload_inline', ...auditPayloadInline },
  { name: '20261201000700_audit_subject_hash_index', ...auditSubjectHash },
  { name: '20261201000800_app_role', ...appRole },
  { name: '20261201000900_audit_definer', ...auditDefiner },
  { name: '20261207000900_auth_failures', ...authFailures },
  { name: '20261207001000_tenant_isolation', ...tenantIsolation },
  { name: '20261207001100_folded_names', ...foldedNames },
  { name: '20261207001300_reclamation', ...reclamation },
  { name: '20261207001400_job_runs', ...jobRuns },
  { name: '20261207001500_outbox', ...outbox },
  { name: '20261207001600_audit_staged_append', ...auditStagedAppend },
  { name: '20261207001700_sso', ...sso },
  { name: '20261207001800_oauth_clients', ...oauthClients },
  { name: '20261208000000_outbox_events', ...outboxEvents },
  { name: '20261208000100_webhooks', ...webhooks },
  { name: '20261208000200_license_schedules', ...licenseSchedules },
  { name: '20261208000300_license_keys', ...licenseKeys },
  { name: '20261208000400_machines_leases', ...machinesLeases },
  { name: '20261208000500_sso_flow_previous_session', ...ssoFlowPreviousSession },
];
