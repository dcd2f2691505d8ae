// Exact totalResults without counting: SCIM lists must say how many resources match, and
// count(*) over a tenant of 100,000 users costs ~9 ms on every page. Each INSERT or
// DELETE on the directory tables appends its net change here (a statement trigger over
// the transition table), in the writer's transaction, so the sum of a tenant's deltas is
// exactly what count(*) would see in the same snapshot. Appending, rather than updating
// one counter row, means concurrent writers never wait for each other's COMMIT;
// src/directory/counts.ts folds the deltas into one row from time to time.
import type { Knex } from 'knex';

const TABLES = [
  { table: 'directory_users', resource: 'User' },
  { table: 'directory_groups', resource: 'Group' },
];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE directory_counts (
      tenant_id uuid NOT NULL,
      resource  text NOT NULL CHECK (resource IN ('User', 'Group')),
      entry     bigint GENERATED ALWAYS AS IDENTITY,
      delta     bigint NOT NULL,
      PRIMARY KEY (tenant_id, resource, entry)
    );

    CREATE FUNCTION directory_count_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO directory_counts (tenant_id, resource, delta)
        SELECT tenant_id, TG_ARGV[0], count(*) FROM added GROUP BY tenant_id;
      RETURN NULL;
    END $$;
    CREATE FUNCTION directory_count_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO directory_counts (tenant_id, resource, delta)
        SELECT tenant_id, TG_ARGV[0], -count(*) FROM removed GROUP BY tenant_id;
      RETURN NULL;
    END $$;
  `);
  for (const { table, resource } of TABLES) {
    await knex.raw(`
      CREATE TRIGGER ${table}_count_added AFTER INSERT ON ${table}
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION directory_count_added('${resource}');
      CREATE TRIGGER ${table}_count_removed AFTER DELETE ON ${table}
        REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION directory_count_removed('${resource}');
      -- TRUNCATE would bypass the row counts: refuse it.
      CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
        FOR EACH STATEMENT EXECUTE FUNCTION seatkeeper_refuse_change();
      INSERT INTO directory_counts (tenant_id, resource, delta)
        SELECT tenant_id, '${resource}', count(*) FROM ${table} GROUP BY tenant_id;
    `);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const { table } of TABLES) {
    await knex.raw(`
      DROP TRIGGER ${table}_count_added ON ${table};
      DROP TRIGGER ${table}_count_removed ON ${table};
      DROP TRIGGER ${table}_no_truncate ON ${table};
    `);
  }
  await knex.raw(`
    DROP TABLE directory_counts;
    DROP FUNCTION directory_count_added();
    DROP FUNCTION directory_count_removed();
  `);
}
