// OAuth 2.0 clients for integrations (issue 15): a tenant's client-credentials clients
// (RFC 6749 §4.4). The secret is kept as its SHA-256, like the API tokens'. The token
// endpoint (/oauth/token) knows a client id before it knows the tenant: a definer
// function maps the id to its tenant (ids only), and the row is read under that scope.
import type { Knex } from 'knex';
import { APP_ROLE } from './app-role.js';
import { tenantIsolationSql } from './20261207001000_tenant_isolation.js';

export const OAUTH_TABLES = ['oauth_clients'];

export async function up(knex: Knex): Promise<void> {
  const { rows } = (await knex.raw('SELECT quote_ident(current_schema()) AS s')) as {
    rows: Array<{ s: string }>;
  };
  const definer = `SECURITY DEFINER SET search_path = ${rows[0]!.s}, pg_temp`;
  await knex.raw(`
    CREATE TABLE oauth_clients (
      tenant_id   uuid NOT NULL REFERENCES tenants (tenant_id),
      client_id   uuid NOT NULL,
      name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      scopes      text[] NOT NULL,
      secret_hash bytea NOT NULL,
      created_at  timestamptz NOT NULL,
      revoked_at  timestamptz,
      PRIMARY KEY (tenant_id, client_id)
    );
    CREATE INDEX oauth_clients_id_idx ON oauth_clients (client_id);
    ${OAUTH_TABLES.map(tenantIsolationSql).join('\n')}

    CREATE FUNCTION oauth_client_tenant(p_client_id uuid) RETURNS uuid
      LANGUAGE sql STABLE ${definer} AS $$
      SELECT tenant_id FROM oauth_clients WHERE client_id = p_client_id
    $$;
    REVOKE ALL ON FUNCTION oauth_client_tenant(uuid) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION oauth_client_tenant(uuid) TO ${APP_ROLE};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION oauth_client_tenant(uuid);
    DROP TABLE oauth_clients;
  `);
}
