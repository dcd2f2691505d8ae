// The service serves as the least-privileged role seatkeeper_app (migrations/app-role.ts
// says what it may do). Here: the role, its access to this schema's tables, and the audit
// trail's tables made read-only to it; the next migration gives it the functions through
// which it writes the trail. knex's own migration tables are read-only to it as well
// (the CLI checks the schema is current; only `migrate` changes it, as the owner).
import type { Knex } from 'knex';
import { ensureAppRole, grantAppAccess, revokeAppAccess, revokeAppWrites } from './app-role.js';

export const AUDIT_TABLES = ['audit_events', 'audit_pending', 'audit_heads', 'audit_checkpoints'];

export async function up(knex: Knex): Promise<void> {
  await ensureAppRole(knex);
  await grantAppAccess(knex);
  await revokeAppWrites(knex, [...AUDIT_TABLES, 'knex_migrations', 'knex_migrations_lock']);
}

export async function down(knex: Knex): Promise<void> {
  await revokeAppAccess(knex);
}
