// Products, licences, group rules and seats. Seats are derived state (the reconciler
// computes them from directory + rules + licences) except manual assignments.
//
// One live seat per user and licence: a partial unique index over the states that hold
// or wait for a seat. Pools never over-allocate because every change to a licence's
// seats happens with that licence's row locked (src/licensing/reconcile.ts).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE products (
      tenant_id  uuid NOT NULL REFERENCES tenants (tenant_id),
      product_id uuid NOT NULL,
      name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      vendor     text,
      features   jsonb NOT NULL DEFAULT '[]',
      versions   jsonb NOT NULL DEFAULT '[]',
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, product_id)
    );

    CREATE TABLE licenses (
      tenant_id            uuid NOT NULL,
      license_id           uuid NOT NULL,
      product_id           uuid NOT NULL,
      name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      type                 text NOT NULL CHECK (type IN ('perpetual', 'subscription', 'trial', 'floating', 'node-locked', 'site')),
      category             text,
      -- NULL: unlimited. Site licences cover everyone in scope whatever the quantity.
      quantity             integer CHECK (quantity IS NULL OR quantity >= 0),
      starts_at            timestamptz,
      ends_at              timestamptz,
      grace_days           integer NOT NULL DEFAULT 0 CHECK (grace_days >= 0),
      auto_renew           boolean NOT NULL DEFAULT false,
      renewal_lead_days    integer NOT NULL DEFAULT 30 CHECK (renewal_lead_days >= 0),
      maintenance_ends_at  timestamptz,
      max_version          text,
      entitlements         jsonb NOT NULL DEFAULT '[]',
      restrictions         jsonb NOT NULL DEFAULT '{}',
      cost                 jsonb NOT NULL DEFAULT '{}',
      -- A full pool waitlists, or allows a recorded over-deployment up to a limit.
      full_policy          text NOT NULL DEFAULT 'waitlist' CHECK (full_policy IN ('waitlist', 'overdeploy')),
      overdeploy_limit     integer NOT NULL DEFAULT 0 CHECK (overdeploy_limit >= 0),
      alert_thresholds     jsonb NOT NULL DEFAULT '[80, 90, 100]',
      -- The highest utilisation threshold already alerted (audited) for this pool.
      alerted_threshold    integer NOT NULL DEFAULT 0,
      -- Deleted licences stay as rows: their released seats keep pointing at them.
      deleted_at           timestamptz,
      created_at           timestamptz NOT NULL,
      updated_at           timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, license_id),
      FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, product_id)
    );

    CREATE TABLE license_rules (
      tenant_id          uuid NOT NULL,
      rule_id            uuid NOT NULL,
      license_id         uuid NOT NULL,
      -- A SCIM group id; a rule whose group is gone simply matches nobody.
      group_id           uuid NOT NULL,
      filter             text,
      priority           integer NOT NULL DEFAULT 100,
      removal_grace_days integer NOT NULL DEFAULT 0 CHECK (removal_grace_days >= 0),
      name               text,
      created_at         timestamptz NOT NULL,
      updated_at         timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, rule_id),
      FOREIGN KEY (tenant_id, license_id) REFERENCES licenses (tenant_id, license_id) ON DELETE CASCADE
    );
    CREATE INDEX license_rules_group_idx ON license_rules (tenant_id, group_id);

    CREATE TABLE seats (
      tenant_id      uuid NOT NULL,
      seat_id        uuid NOT NULL,
      license_id     uuid NOT NULL,
      user_id        uuid NOT NULL,
      state          text NOT NULL CHECK (state IN ('active', 'waitlisted', 'pending_reclaim', 'released')),
      source         text NOT NULL CHECK (source IN ('rule', 'manual')),
      rule_id        uuid,
      assigned_by    text,
      -- Waitlist order: first eligible, first served; rule priority breaks ties.
      eligible_since timestamptz NOT NULL,
      queue_priority integer NOT NULL DEFAULT 100,
      granted_at     timestamptz,
      overdeployed   boolean NOT NULL DEFAULT false,
      reclaim_after  timestamptz,
      released_at    timestamptz,
      release_reason text,
      created_at     timestamptz NOT NULL,
      updated_at     timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, seat_id),
      FOREIGN KEY (tenant_id, license_id) REFERENCES licenses (tenant_id, license_id)
    );
    CREATE UNIQUE INDEX seats_one_live_per_user_key ON seats (tenant_id, license_id, user_id) WHERE state <> 'released';
    CREATE INDEX seats_user_idx ON seats (tenant_id, user_id) WHERE state <> 'released';
    CREATE INDEX seats_queue_idx ON seats (tenant_id, license_id, eligible_since, queue_priority, seat_id) WHERE state = 'waitlisted';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE seats;
    DROP TABLE license_rules;
    DROP TABLE licenses;
    DROP TABLE products;
  `);
}
