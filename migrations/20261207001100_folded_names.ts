// Case-insensitive names under row-level security (issue 13). userName and a group's
// displayName compare case-insensitively (RFC 7643 §4.1.1, §4.2), and they were indexed
// as expressions, lower(user_name). But a policy's condition must run before any
// condition that could leak what it hides, so PostgreSQL uses an index for a query's
// own condition only when every function in it is leakproof, and lower() is not: as the
// service role, `userName eq "…"`, the filter every IdP sends before each create, read
// every user of the tenant. The folded names are now stored columns, generated from the
// names, and indexed: `user_name_lower = lower(?)` is a plain text equality (leakproof),
// and lower() applies to the value, not the column.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE directory_users
      ADD COLUMN user_name_lower text GENERATED ALWAYS AS (lower(user_name)) STORED NOT NULL;
    DROP INDEX directory_users_user_name_key;
    CREATE UNIQUE INDEX directory_users_user_name_key ON directory_users (tenant_id, user_name_lower);

    ALTER TABLE directory_groups
      ADD COLUMN display_name_lower text GENERATED ALWAYS AS (lower(display_name)) STORED NOT NULL;
    DROP INDEX directory_groups_display_name_idx;
    CREATE INDEX directory_groups_display_name_idx ON directory_groups (tenant_id, display_name_lower);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX directory_groups_display_name_idx;
    ALTER TABLE directory_groups DROP COLUMN display_name_lower;
    CREATE INDEX directory_groups_display_name_idx ON directory_groups (tenant_id, lower(display_name));
    DROP INDEX directory_users_user_name_key;
    ALTER TABLE directory_users DROP COLUMN user_name_lower;
    CREATE UNIQUE INDEX directory_users_user_name_key ON directory_users (tenant_id, lower(user_name));
  `);
}
