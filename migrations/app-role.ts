// The service's least-privileged database role, and the one place that says what it may
// touch. Migrations run as the tables' owner (the role DATABASE_URL names); the service
// then serves as `seatkeeper_app` (src/db/database.ts sets it on every connection), which
// is no superuser, owns nothing, and cannot bypass row-level security.
//
// What it may do, per schema (tests migrate a schema per file):
// - every table: SELECT, INSERT, UPDATE, DELETE, granted by default privileges, so a
//   table a later migration creates is usable by the service with no grant of its own;
// - the audit trail's tables: SELECT only (revokeAppWrites below). Its writes go through
//   SECURITY DEFINER functions owned by the migration owner
//   (migrations/20261201000900_audit_definer.ts). A later migration that adds a table
//   the service must not write calls revokeAppWrites for it.
//
// Roles are cluster-wide: many schemas (test files) migrate at once on one cluster, so
// the role is created idempotently and a concurrent creator's win is not an error.
import type { Knex } from 'knex';

export const APP_ROLE = 'seatkeeper_app';

/** The schema this migration runs in (the connection's search_path decides it). */
export async function currentSchema(knex: Knex): Promise<string> {
  const { rows } = (await knex.raw('SELECT current_schema() AS s')) as {
    rows: Array<{ s: string }>;
  };
  return rows[0]!.s;
}

export async function ensureAppRole(knex: Knex): Promise<void> {
  await knex.raw(`
    DO $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
        BEGIN
          CREATE ROLE ${APP_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
          NULL; -- another migration on this cluster created it first
        END;
      END IF;
      -- The owner serves as the role (SET ROLE), so it must be a member of it; a
      -- superuser already is.
      IF NOT pg_has_role(current_user, '${APP_ROLE}', 'MEMBER') THEN
        BEGIN
          EXECUTE format('GRANT ${APP_ROLE} TO %I', current_user);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
          NULL;
        END;
      END IF;
    END $$;
  `);
}

/** Usage of this schema, and read-write on its tables, now and (by default) later. */
export async function grantAppAccess(knex: Knex): Promise<void> {
  const schema = await currentSchema(knex);
  await knex.raw(
    `GRANT USAGE ON SCHEMA ?? TO ${APP_ROLE};
     GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ?? TO ${APP_ROLE};
     GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ?? TO ${APP_ROLE};
     ALTER DEFAULT PRIVILEGES IN SCHEMA ?? GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${APP_ROLE};
     ALTER DEFAULT PRIVILEGES IN SCHEMA ?? GRANT USAGE, SELECT ON SEQUENCES TO ${APP_ROLE};`,
    [schema, schema, schema, schema, schema],
  );
}

/** Undo grantAppAccess in this schema (the role itself stays: other schemas use it). */
export async function revokeAppAccess(knex: Knex): Promise<void> {
  const schema = await currentSchema(knex);
  await knex.raw(
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ?? REVOKE ALL ON SEQUENCES FROM ${APP_ROLE};
     ALTER DEFAULT PRIVILEGES IN SCHEMA ?? REVOKE ALL ON TABLES FROM ${APP_ROLE};
     REVOKE ALL ON ALL SEQUENCES IN SCHEMA ?? FROM ${APP_ROLE};
     REVOKE ALL ON ALL TABLES IN SCHEMA ?? FROM ${APP_ROLE};
     REVOKE ALL ON SCHEMA ?? FROM ${APP_ROLE};`,
    [schema, schema, schema, schema, schema],
  );
}

/** Tables the service reads but never writes directly. */
export async function revokeAppWrites(knex: Knex, tables: string[]): Promise<void> {
  for (const table of tables) {
    await knex.raw(`REVOKE ALL ON ?? FROM ${APP_ROLE}; GRANT SELECT ON ?? TO ${APP_ROLE};`, [
      table,
      table,
    ]);
  }
}
