// Seat reclamation (issue 14): the licence's reclaim policy, the reason a seat waits in
// its grace, and what the service knows of each user's activity.
//
// - licenses: inactivity_days (NULL: no inactivity reclaim), reclaim_grace_days (the
//   grace of an inactivity or deprovisioning reclaim), reclaim_exempt ({userIds,
//   groupIds}: never reclaimed for inactivity). tenants.reclaim_defaults: what licences
//   created afterwards start with.
// - seats.reclaim_reason: why a pending_reclaim seat waits (deprovisioned,
//   removed_from_group, inactive); a seat released for inactivity keeps its row, and the
//   index below lets eligibility find it (its holder is not seated again until active).
// - user_activity: the last activity per user and product; directory_users.last_active_at
//   (already there) holds activity for every product. activity_events: the ids of
//   events received, so a retried batch is counted once.
import type { Knex } from 'knex';
import { tenantIsolationSql } from './20261207001000_tenant_isolation.js';

/** The tables with tenant data this migration adds (row-level security like the rest). */
export const RECLAMATION_TENANT_TABLES = ['user_activity', 'activity_events'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE tenants
      ADD COLUMN reclaim_defaults jsonb NOT NULL
        DEFAULT '{"inactivityDays": null, "reclaimGraceDays": 7}';
    ALTER TABLE licenses
      ADD COLUMN inactivity_days integer CHECK (inactivity_days >= 1),
      ADD COLUMN reclaim_grace_days integer NOT NULL DEFAULT 7
        CHECK (reclaim_grace_days BETWEEN 0 AND 3650),
      ADD COLUMN reclaim_exempt jsonb NOT NULL DEFAULT '{"userIds": [], "groupIds": []}';
    ALTER TABLE seats
      ADD COLUMN reclaim_reason text
        CHECK (reclaim_reason IN ('deprovisioned', 'removed_from_group', 'inactive'));
    -- Seats in their grace before this migration left a rule's group (the only grace then).
    UPDATE seats SET reclaim_reason = 'removed_from_group' WHERE state = 'pending_reclaim';
    CREATE INDEX seats_reclaimed_inactive_idx ON seats (tenant_id, license_id, user_id)
      WHERE release_reason = 'inactive';

    CREATE TABLE user_activity (
      tenant_id      uuid NOT NULL,
      user_id        uuid NOT NULL,
      product_id     uuid NOT NULL,
      last_active_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, user_id, product_id),
      FOREIGN KEY (tenant_id, user_id) REFERENCES directory_users (tenant_id, user_id) ON DELETE CASCADE,
      FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, product_id) ON DELETE CASCADE
    );
    CREATE TABLE activity_events (
      tenant_id   uuid NOT NULL,
      event_id    text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 200),
      received_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, event_id)
    );
    ${tenantIsolationSql('user_activity')}
    ${tenantIsolationSql('activity_events')}
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE activity_events;
    DROP TABLE user_activity;
    DROP INDEX seats_reclaimed_inactive_idx;
    ALTER TABLE seats DROP COLUMN reclaim_reason;
    ALTER TABLE licenses DROP COLUMN reclaim_exempt, DROP COLUMN reclaim_grace_days,
      DROP COLUMN inactivity_days;
    ALTER TABLE tenants DROP COLUMN reclaim_defaults;
  `);
}
