// Machines and floating leases (issue 18, second slice).
//
// - machines: node-locked activations of a licence. Only the SHA-256 digest of the
//   fingerprint is stored (a fingerprint may be a MAC address or a serial number: not
//   ours to keep). One active machine per fingerprint and licence (a partial unique
//   index), so a retried activation can never make a second row.
// - leases: floating check-outs. `seq` is the arrival order (a check-out holds the
//   licence row's lock while it inserts, so seq order is arrival order, even when two
//   arrive within the same millisecond); `expires_at` is the heartbeat deadline of an
//   active lease and of a queued request alike.
import type { Knex } from 'knex';
import { tenantIsolationSql } from './20261207001000_tenant_isolation.js';

export const MACHINE_LEASE_TENANT_TABLES = ['machines', 'leases'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE machines (
      tenant_id      uuid NOT NULL,
      machine_id     uuid NOT NULL,
      license_id     uuid NOT NULL,
      fingerprint_sha256 bytea NOT NULL CHECK (length(fingerprint_sha256) = 32),
      name           text,
      activated_at   timestamptz NOT NULL,
      deactivated_at timestamptz,
      PRIMARY KEY (tenant_id, machine_id),
      FOREIGN KEY (tenant_id, license_id) REFERENCES licenses (tenant_id, license_id)
    );
    CREATE UNIQUE INDEX machines_active_fingerprint_idx
      ON machines (tenant_id, license_id, fingerprint_sha256) WHERE deactivated_at IS NULL;
    CREATE INDEX machines_license_idx ON machines (tenant_id, license_id, machine_id);

    CREATE TABLE leases (
      tenant_id   uuid NOT NULL,
      lease_id    uuid NOT NULL,
      license_id  uuid NOT NULL,
      key_id      uuid NOT NULL,
      seq         bigint GENERATED ALWAYS AS IDENTITY,
      status      text NOT NULL CHECK (status IN ('active', 'queued', 'released', 'expired')),
      user_name   text,
      fingerprint_sha256 bytea CHECK (length(fingerprint_sha256) = 32),
      requested_at timestamptz NOT NULL,
      granted_at  timestamptz,
      expires_at  timestamptz NOT NULL,
      ended_at    timestamptz,
      PRIMARY KEY (tenant_id, lease_id),
      FOREIGN KEY (tenant_id, license_id) REFERENCES licenses (tenant_id, license_id),
      FOREIGN KEY (tenant_id, key_id) REFERENCES license_keys (tenant_id, key_id)
    );
    CREATE INDEX leases_live_idx ON leases (tenant_id, license_id, status, seq)
      WHERE status IN ('active', 'queued');
    CREATE INDEX leases_deadline_idx ON leases (tenant_id, expires_at)
      WHERE status IN ('active', 'queued');
    ${MACHINE_LEASE_TENANT_TABLES.map(tenantIsolationSql).join('\n')}
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE leases; DROP TABLE machines;`);
}
