// Failed authentications per client address and per presented token id, counted in
// fixed one-minute windows (issue 12). The database is the state the replicas share,
// so an attacker spreading guesses over replicas is counted once. Only failures write
// here: a genuine request never touches this table.
//
// It holds no tenant data (an address, or a token id whose tenant is unverified), so
// it has no tenant_id and stays local to a Citus coordinator like agenda_jobs. A plain
// table the service writes: no row-level security, no triggers; the service's role
// needs SELECT, INSERT, UPDATE, DELETE on it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE auth_failures (
      key          text PRIMARY KEY CHECK (length(key) <= 200),
      window_start timestamptz NOT NULL,
      hits         integer NOT NULL CHECK (hits >= 0)
    );
    CREATE INDEX auth_failures_window_idx ON auth_failures (window_start);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE auth_failures');
}
