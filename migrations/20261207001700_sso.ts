// Single sign-on (issue 15): a tenant's SSO connections (OIDC and SAML identity
// providers), the sign-ins in flight, the SAML assertions already used, and the sessions
// a sign-in opens. Every table holds one tenant's data, so each gets the tenant policy
// (tenantIsolationSql) and the service reaches it only through withTenant.
//
// The callback routes (/sso/oidc/{id}/callback, /sso/saml/{id}/acs) and /login?email=
// know a connection id or an email domain before they know the tenant: two SECURITY
// DEFINER functions map those to ids (and ids only, like seatkeeper_tenant_ids()), and
// everything else is read under that tenant's scope.
import type { Knex } from 'knex';
import { APP_ROLE } from './app-role.js';
import { tenantIsolationSql } from './20261207001000_tenant_isolation.js';

export const SSO_TABLES = [
  'sso_connections',
  'sso_login_requests',
  'sso_assertions',
  'sso_sessions',
];

export async function up(knex: Knex): Promise<void> {
  const { rows } = (await knex.raw('SELECT quote_ident(current_schema()) AS s')) as {
    rows: Array<{ s: string }>;
  };
  const definer = `SECURITY DEFINER SET search_path = ${rows[0]!.s}, pg_temp`;
  await knex.raw(`
    CREATE TABLE sso_connections (
      tenant_id       uuid NOT NULL REFERENCES tenants (tenant_id),
      connection_id   uuid NOT NULL,
      type            text NOT NULL CHECK (type IN ('oidc', 'saml')),
      -- What is not secret: issuer, client id, scopes; IdP entity id, SSO URL, certificates.
      settings        jsonb NOT NULL,
      -- The client secret or private key, encrypted (JWE, src/sso/secrets.ts); never returned.
      secret          text,
      link_by         text NOT NULL CHECK (link_by IN ('email', 'userName', 'externalId')),
      admin_group_ids uuid[] NOT NULL DEFAULT '{}',
      -- Lower-cased email domains /login?email= finds this connection by.
      domains         text[] NOT NULL DEFAULT '{}',
      idp_initiated   boolean NOT NULL DEFAULT false,
      created_at      timestamptz NOT NULL,
      updated_at      timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, connection_id)
    );
    CREATE INDEX sso_connections_id_idx ON sso_connections (connection_id);
    CREATE INDEX sso_connections_domains_idx ON sso_connections USING gin (domains);

    -- A sign-in in flight: an OIDC authorisation request (keyed by its state) or a SAML
    -- AuthnRequest (keyed by its ID, the InResponseTo the answer must carry). Shared by
    -- replicas; used once; short-lived.
    CREATE TABLE sso_login_requests (
      tenant_id     uuid NOT NULL,
      request_id    text NOT NULL,
      connection_id uuid NOT NULL,
      -- SHA-256 of the short-lived cookie of the browser that started it (OIDC).
      browser_hash  bytea,
      code_verifier text,
      nonce         text,
      return_to     text NOT NULL,
      created_at    timestamptz NOT NULL,
      expires_at    timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, request_id),
      FOREIGN KEY (tenant_id, connection_id) REFERENCES sso_connections (tenant_id, connection_id) ON DELETE CASCADE
    );

    -- SAML assertion IDs already accepted, kept until the assertion expires: a replay
    -- of one is refused (SAML 2.0 Profiles §4.1.4.5).
    CREATE TABLE sso_assertions (
      tenant_id     uuid NOT NULL,
      connection_id uuid NOT NULL,
      assertion_id  text NOT NULL,
      expires_at    timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, connection_id, assertion_id),
      FOREIGN KEY (tenant_id, connection_id) REFERENCES sso_connections (tenant_id, connection_id) ON DELETE CASCADE
    );

    -- Server-side sessions: the cookie carries the tenant, the session id and a secret
    -- whose SHA-256 is kept here. Revocable; idle and absolute expiry.
    CREATE TABLE sso_sessions (
      tenant_id     uuid NOT NULL,
      session_id    uuid NOT NULL,
      secret_hash   bytea NOT NULL,
      user_id       uuid NOT NULL,
      connection_id uuid,
      is_admin      boolean NOT NULL,
      -- The token the session's forms carry (CSRF); useless without the cookie.
      csrf_token    text NOT NULL,
      created_at    timestamptz NOT NULL,
      last_seen_at  timestamptz NOT NULL,
      expires_at    timestamptz NOT NULL,
      revoked_at    timestamptz,
      PRIMARY KEY (tenant_id, session_id),
      FOREIGN KEY (tenant_id, connection_id) REFERENCES sso_connections (tenant_id, connection_id) ON DELETE SET NULL (connection_id)
    );
    CREATE INDEX sso_sessions_user_idx ON sso_sessions (tenant_id, user_id);

    ${SSO_TABLES.map(tenantIsolationSql).join('\n')}

    -- The tenant a connection belongs to (callback routes). Ids only.
    CREATE FUNCTION sso_connection_tenant(p_connection_id uuid) RETURNS uuid
      LANGUAGE sql STABLE ${definer} AS $$
      SELECT tenant_id FROM sso_connections WHERE connection_id = p_connection_id
    $$;

    -- The connections that list an email domain (/login?email=). Ids only.
    CREATE FUNCTION sso_connections_for_domain(p_domain text)
      RETURNS TABLE (tenant_id uuid, connection_id uuid) LANGUAGE sql STABLE ${definer} AS $$
      SELECT tenant_id, connection_id FROM sso_connections
       WHERE domains @> ARRAY[lower(p_domain)] ORDER BY created_at, connection_id
    $$;

    REVOKE ALL ON FUNCTION sso_connection_tenant(uuid) FROM PUBLIC;
    REVOKE ALL ON FUNCTION sso_connections_for_domain(text) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION sso_connection_tenant(uuid) TO ${APP_ROLE};
    GRANT EXECUTE ON FUNCTION sso_connections_for_domain(text) TO ${APP_ROLE};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION sso_connections_for_domain(text);
    DROP FUNCTION sso_connection_tenant(uuid);
    DROP TABLE sso_sessions;
    DROP TABLE sso_assertions;
    DROP TABLE sso_login_requests;
    DROP TABLE sso_connections;
  `);
}
