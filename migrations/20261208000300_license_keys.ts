// Signed licence keys (issue 18): each tenant's Ed25519 signing keys, the licence keys
// they signed, and a licence's suspension.
//
// - license_signing_keys: the public JWK as published, the private half sealed with
//   AES-256-GCM under KEY_ENCRYPTION_KEY (src/keys/sealing.ts), never stored in clear.
//   One key per tenant signs (retired_at IS NULL, a partial unique index); a rotation
//   retires it and adds the next. `not_after` is the latest `exp` of any key it signed
//   ('infinity' once it signed a key without one): a retired key stays published until
//   then, so keys it signed keep verifying offline (the overlap).
// - license_keys: one row per issued key (its `jti`), so that a key can be revoked and
//   listed without ever storing its text.
// - licenses.suspended_at: validation answers `suspended` while it is set.
//
// The boot check that KEY_ENCRYPTION_KEY opens the stored keys needs one tenant that has
// any: a definer function returns that id (ids only), the row is read under its scope.
import type { Knex } from 'knex';
import { APP_ROLE } from './app-role.js';
import { tenantIsolationSql } from './20261207001000_tenant_isolation.js';

export const LICENSE_KEY_TENANT_TABLES = ['license_signing_keys', 'license_keys'];

export async function up(knex: Knex): Promise<void> {
  const { rows } = (await knex.raw('SELECT quote_ident(current_schema()) AS s')) as {
    rows: Array<{ s: string }>;
  };
  const definer = `SECURITY DEFINER SET search_path = ${rows[0]!.s}, pg_temp`;
  await knex.raw(`
    ALTER TABLE licenses ADD COLUMN suspended_at timestamptz;

    CREATE TABLE license_signing_keys (
      tenant_id   uuid NOT NULL REFERENCES tenants (tenant_id),
      -- RFC 7638 SHA-256 thumbprint of the public key.
      kid         text NOT NULL CHECK (length(kid) = 43),
      public_jwk  jsonb NOT NULL,
      -- iv (12 bytes) || tag (16 bytes) || AES-256-GCM ciphertext of the private JWK.
      sealed_private_jwk bytea NOT NULL,
      created_at  timestamptz NOT NULL,
      retired_at  timestamptz,
      not_after   timestamptz,
      PRIMARY KEY (tenant_id, kid)
    );
    CREATE UNIQUE INDEX license_signing_keys_current_idx
      ON license_signing_keys (tenant_id) WHERE retired_at IS NULL;

    CREATE TABLE license_keys (
      tenant_id   uuid NOT NULL,
      key_id      uuid NOT NULL,
      license_id  uuid NOT NULL,
      kid         text NOT NULL,
      issued_at   timestamptz NOT NULL,
      expires_at  timestamptz,
      revoked_at  timestamptz,
      PRIMARY KEY (tenant_id, key_id),
      FOREIGN KEY (tenant_id, license_id) REFERENCES licenses (tenant_id, license_id),
      FOREIGN KEY (tenant_id, kid) REFERENCES license_signing_keys (tenant_id, kid)
    );
    CREATE INDEX license_keys_license_idx ON license_keys (tenant_id, license_id, key_id);
    ${LICENSE_KEY_TENANT_TABLES.map(tenantIsolationSql).join('\n')}

    CREATE FUNCTION license_signing_key_tenant() RETURNS uuid
      LANGUAGE sql STABLE ${definer} AS $$
      SELECT tenant_id FROM license_signing_keys LIMIT 1
    $$;
    REVOKE ALL ON FUNCTION license_signing_key_tenant() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION license_signing_key_tenant() TO ${APP_ROLE};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION license_signing_key_tenant();
    DROP TABLE license_keys;
    DROP TABLE license_signing_keys;
    ALTER TABLE licenses DROP COLUMN suspended_at;
  `);
}
