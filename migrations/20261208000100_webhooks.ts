// Webhooks (issue 14, Standard Webhooks): the endpoints a tenant subscribes, what each
// outbox message still owes each endpoint, and the log of every attempt.
//
// - webhook_endpoints: the URL, the event types it wants, and its signing secret sealed
//   with the service's secrets key (a JWE, src/notifications/webhook-secret.ts). The
//   secret cannot be a hash like an API token's: every attempt signs with it.
// - webhook_targets: one row per (message, endpoint), made when the worker first takes
//   the message (the endpoints subscribed then get it), carrying that endpoint's own
//   attempts, next attempt and claim, so one failing endpoint is retried without
//   resending to the others. Gone with its endpoint or its message.
// - webhook_deliveries: one row per attempt (the deliveries log of the API).
// The outbox gains `fanned_out_at`: when its targets were made; a webhook message is
// delivered once every target is done.
import type { Knex } from 'knex';
import { tenantIsolationSql } from './20261207001000_tenant_isolation.js';

export const WEBHOOK_TENANT_TABLES = ['webhook_endpoints', 'webhook_targets', 'webhook_deliveries'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE webhook_endpoints (
      tenant_id     uuid NOT NULL REFERENCES tenants (tenant_id),
      endpoint_id   uuid NOT NULL,
      url           text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
      events        text[] NOT NULL CHECK (cardinality(events) >= 1),
      description   text CHECK (length(description) <= 200),
      secret_sealed text NOT NULL,
      -- After a rotation the old secret signs too, until then (receivers switch over).
      previous_secret_sealed text,
      previous_secret_until  timestamptz,
      disabled      boolean NOT NULL DEFAULT false,
      created_at    timestamptz NOT NULL,
      updated_at    timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, endpoint_id)
    );
    ${tenantIsolationSql('webhook_endpoints')}

    ALTER TABLE outbox ADD COLUMN fanned_out_at timestamptz;
    -- The worker's fan-out and settling read a tenant's undelivered webhook messages.
    CREATE INDEX outbox_webhook_pending_idx ON outbox (tenant_id, created_at)
      WHERE channel = 'webhook' AND delivered_at IS NULL;

    CREATE TABLE webhook_targets (
      tenant_id       uuid NOT NULL,
      message_id      uuid NOT NULL,
      endpoint_id     uuid NOT NULL,
      attempts        integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL,
      claimed_until   timestamptz,
      done_at         timestamptz,
      outcome         text CHECK (outcome IN ('delivered', 'exhausted', 'abandoned')),
      PRIMARY KEY (tenant_id, message_id, endpoint_id),
      FOREIGN KEY (tenant_id, message_id) REFERENCES outbox (tenant_id, message_id) ON DELETE CASCADE,
      FOREIGN KEY (tenant_id, endpoint_id)
        REFERENCES webhook_endpoints (tenant_id, endpoint_id) ON DELETE CASCADE,
      CHECK ((done_at IS NULL) = (outcome IS NULL))
    );
    CREATE INDEX webhook_targets_due_idx ON webhook_targets (tenant_id, next_attempt_at)
      WHERE done_at IS NULL;
    CREATE INDEX webhook_targets_endpoint_idx ON webhook_targets (tenant_id, endpoint_id);
    ${tenantIsolationSql('webhook_targets')}

    CREATE TABLE webhook_deliveries (
      tenant_id   uuid NOT NULL,
      delivery_id uuid NOT NULL,
      endpoint_id uuid NOT NULL,
      message_id  uuid NOT NULL,
      type        text NOT NULL,
      attempt     integer NOT NULL CHECK (attempt >= 1),
      status      integer CHECK (status BETWEEN 100 AND 599),
      error       text CHECK (length(error) <= 500),
      at          timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, delivery_id),
      FOREIGN KEY (tenant_id, endpoint_id)
        REFERENCES webhook_endpoints (tenant_id, endpoint_id) ON DELETE CASCADE
    );
    CREATE INDEX webhook_deliveries_endpoint_idx
      ON webhook_deliveries (tenant_id, endpoint_id, at DESC, delivery_id DESC);
    ${tenantIsolationSql('webhook_deliveries')}
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE webhook_deliveries;
    DROP TABLE webhook_targets;
    DROP INDEX outbox_webhook_pending_idx;
    ALTER TABLE outbox DROP COLUMN fanned_out_at;
    DROP TABLE webhook_endpoints;
  `);
}
