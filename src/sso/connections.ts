// SSO connections: each tenant's identity providers. Every change is one transaction
// with its audit event; secrets are sealed before they reach the database and never
// come back out through here (the sign-in code opens them, src/sso/oidc.ts).
import type { Knex } from 'knex';
import { importJWK, type JWK } from 'jose';
import { appendAuditEvent, type Actor } from '../audit/index.js';
import { withTenant } from '../db/tenant-scope.js';
import { AppError, invalidInput, notFound } from '../shared/errors.js';
import { isUuid, newId } from '../shared/ids.js';
import type { SsoContext } from './context.js';
import {
  ConnectionInput,
  ConnectionPatch,
  type ConnectionRecord,
  OidcConnectionPatch,
  type OidcSettings,
  IdpValues,
  SamlConnectionPatch,
  type SamlSettings,
  type StoredConnection,
} from './model.js';
import { readIdpMetadata } from './idp-metadata.js';
import { sealSecret } from './secrets.js';

export const DEFAULT_SCOPES = ['openid', 'email', 'profile'];

interface Row {
  tenant_id: string;
  connection_id: string;
  type: 'oidc' | 'saml';
  settings: Record<string, unknown>;
  secret: string | null;
  link_by: StoredConnection['linkBy'];
  admin_group_ids: string[];
  domains: string[];
  idp_initiated: boolean;
  created_at: Date;
  updated_at: Date;
}

const toStored = (r: Row): StoredConnection => ({
  tenantId: r.tenant_id,
  id: r.connection_id,
  type: r.type,
  settings: r.settings as unknown as OidcSettings | SamlSettings,
  sealedSecret: r.secret,
  linkBy: r.link_by,
  adminGroupIds: r.admin_group_ids,
  domains: r.domains,
  idpInitiated: r.idp_initiated,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Where the IdP sends its answers, and what the admin registers there. */
export const ssoUrls = (publicUrl: string, id: string) => ({
  redirectUri: `${publicUrl}/sso/oidc/${id}/callback`,
  spEntityId: `${publicUrl}/sso/saml/${id}/metadata`,
  acsUrl: `${publicUrl}/sso/saml/${id}/acs`,
  metadataUrl: `${publicUrl}/sso/saml/${id}/metadata`,
});

export function toRecord(c: StoredConnection, publicUrl: string): ConnectionRecord {
  const urls = ssoUrls(publicUrl, c.id);
  const base = {
    id: c.id,
    linkBy: c.linkBy,
    adminGroupIds: c.adminGroupIds,
    domains: c.domains,
    idpInitiated: c.idpInitiated,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
  if (c.type === 'oidc') {
    const s = c.settings as OidcSettings;
    return {
      type: 'oidc',
      issuer: s.issuer,
      clientId: s.clientId,
      clientAuth: s.clientAuth,
      scopes: s.scopes,
      hasClientSecret: c.sealedSecret !== null,
      redirectUri: urls.redirectUri,
      ...base,
    };
  }
  const s = c.settings as SamlSettings;
  return {
    type: 'saml',
    idpEntityId: s.idpEntityId,
    idpSsoUrl: s.idpSsoUrl,
    idpCertificates: s.idpCertificates,
    signed: s.signed,
    wantEncryptedAssertions: s.wantEncryptedAssertions,
    spEntityId: urls.spEntityId,
    acsUrl: urls.acsUrl,
    metadataUrl: urls.metadataUrl,
    ...base,
  };
}

/** The JWS algorithm a private JWK signs client assertions with. */
export function jwkAlg(jwk: JWK): string {
  if (typeof jwk.alg === 'string') return jwk.alg;
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  throw invalidInput('privateKeyJwk: give its "alg" (RS256, ES256 or EdDSA)');
}

async function checkPrivateJwk(jwk: Record<string, unknown>): Promise<string> {
  if (typeof jwk.d !== 'string') throw invalidInput('privateKeyJwk must be a private key');
  try {
    await importJWK(jwk as JWK, jwkAlg(jwk as JWK));
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw invalidInput(`privateKeyJwk is not a usable key: ${(err as Error).message}`);
  }
  return JSON.stringify(jwk);
}

function checkUrl(ctx: SsoContext, field: string, value: string): void {
  if (!URL.canParse(value)) throw invalidInput(`${field} is not a URL`);
  if (new URL(value).protocol !== 'https:' && !ctx.settings.allowInsecureHttp) {
    throw invalidInput(
      `${field} must be https (plain http is allowed only with SSO_ALLOW_INSECURE_HTTP=true)`,
    );
  }
}

/** The row's columns for a validated, merged connection, with its secret sealed. */
async function columns(
  ctx: SsoContext,
  tenantId: string,
  id: string,
  type: 'oidc' | 'saml',
  merged: Record<string, unknown>,
  previousSecret: string | null,
) {
  let settings: OidcSettings | SamlSettings;
  let secret = previousSecret;
  if (type === 'oidc') {
    const issuer = String(merged.issuer);
    checkUrl(ctx, 'issuer', issuer);
    const jwk = merged.privateKeyJwk as Record<string, unknown> | undefined;
    const clientAuth = (merged.clientAuth ??
      (jwk ? 'private_key_jwt' : 'client_secret_basic')) as OidcSettings['clientAuth'];
    if (jwk) {
      if (clientAuth !== 'private_key_jwt')
        throw invalidInput('privateKeyJwk goes with clientAuth private_key_jwt');
      secret = await sealSecret(ctx.secretKey, tenantId, id, await checkPrivateJwk(jwk));
    } else if (typeof merged.clientSecret === 'string') {
      if (clientAuth === 'private_key_jwt')
        throw invalidInput('clientAuth private_key_jwt takes privateKeyJwk, not clientSecret');
      secret = await sealSecret(ctx.secretKey, tenantId, id, merged.clientSecret);
    }
    if (secret === null) {
      throw invalidInput(
        clientAuth === 'private_key_jwt'
          ? 'clientAuth private_key_jwt needs privateKeyJwk'
          : `clientAuth ${clientAuth} needs clientSecret`,
      );
    }
    const scopes = (merged.scopes as string[] | undefined) ?? DEFAULT_SCOPES;
    if (!scopes.includes('openid')) throw invalidInput('scopes must include openid');
    settings = { issuer, clientId: String(merged.clientId), clientAuth, scopes };
  } else {
    if (typeof merged.metadataXml === 'string') {
      Object.assign(merged, IdpValues.parse(readIdpMetadata(merged.metadataXml)));
      delete merged.metadataXml;
    }
    checkUrl(ctx, 'idpSsoUrl', String(merged.idpSsoUrl));
    if (merged.wantEncryptedAssertions === true) {
      throw new AppError(
        'not_implemented',
        'encrypted SAML assertions are not supported yet: leave wantEncryptedAssertions false',
        { status: 422 },
      );
    }
    settings = {
      idpEntityId: String(merged.idpEntityId),
      idpSsoUrl: String(merged.idpSsoUrl),
      idpCertificates: merged.idpCertificates as string[],
      signed: (merged.signed as SamlSettings['signed'] | undefined) ?? 'assertion',
      wantEncryptedAssertions: false,
    };
    secret = null;
  }
  return {
    settings: JSON.stringify(settings),
    secret,
    link_by: merged.linkBy,
    admin_group_ids: [...new Set((merged.adminGroupIds as string[] | undefined) ?? [])],
    domains: [...new Set((merged.domains as string[] | undefined) ?? [])].sort(),
    idp_initiated: (merged.idpInitiated as boolean | undefined) ?? false,
  };
}

/** What an audit event says about a connection: never its secret. */
const auditPayload = (c: ConnectionRecord) => {
  const { createdAt: _c, updatedAt: _u, ...rest } = c;
  return rest as Record<string, unknown>;
};

export interface ConnectionScope {
  tenantId: string;
  actor: Actor;
}

export async function createConnection(
  ctx: SsoContext,
  scope: ConnectionScope,
  body: unknown,
): Promise<ConnectionRecord> {
  const input = ConnectionInput.parse(body);
  const id = newId();
  return withTenant(ctx.knex, scope.tenantId, async (trx) => {
    const now = ctx.clock.now();
    const cols = await columns(ctx, scope.tenantId, id, input.type, { ...input }, null);
    const [row] = (await trx('sso_connections')
      .insert({
        tenant_id: scope.tenantId,
        connection_id: id,
        type: input.type,
        ...cols,
        created_at: now,
        updated_at: now,
      })
      .returning('*')) as Row[];
    const record = toRecord(toStored(row!), ctx.publicUrl());
    await appendAuditEvent(
      trx,
      scope.tenantId,
      {
        action: 'sso.connection_created',
        actor: scope.actor,
        target: { type: 'sso_connection', id },
        payload: auditPayload(record),
      },
      ctx.clock,
    );
    return record;
  });
}

async function findRow(trx: Knex.Transaction, tenantId: string, id: string) {
  if (!isUuid(id)) return undefined;
  return (await trx('sso_connections')
    .where({ tenant_id: tenantId, connection_id: id })
    .first()) as Row | undefined;
}

export async function listConnections(
  ctx: SsoContext,
  tenantId: string,
): Promise<{ items: ConnectionRecord[] }> {
  const rows = (await withTenant(ctx.knex, tenantId, (trx) =>
    trx('sso_connections').where({ tenant_id: tenantId }).orderBy(['created_at', 'connection_id']),
  )) as Row[];
  return { items: rows.map((r) => toRecord(toStored(r), ctx.publicUrl())) };
}

export async function getConnection(
  ctx: SsoContext,
  tenantId: string,
  id: string,
): Promise<ConnectionRecord> {
  const row = await withTenant(ctx.knex, tenantId, (trx) => findRow(trx, tenantId, id));
  if (!row) throw notFound('SSO connection');
  return toRecord(toStored(row), ctx.publicUrl());
}

export async function updateConnection(
  ctx: SsoContext,
  scope: ConnectionScope,
  id: string,
  body: unknown,
): Promise<ConnectionRecord> {
  ConnectionPatch.parse(body);
  return withTenant(ctx.knex, scope.tenantId, async (trx) => {
    const row = await findRow(trx, scope.tenantId, id);
    if (!row) throw notFound('SSO connection');
    if ((body as { type?: unknown }).type !== undefined) {
      throw invalidInput('a connection keeps its type: delete it and create another');
    }
    const patch = (row.type === 'oidc' ? OidcConnectionPatch : SamlConnectionPatch).parse(body);
    const current = toStored(row);
    const merged = {
      ...current.settings,
      linkBy: current.linkBy,
      adminGroupIds: current.adminGroupIds,
      domains: current.domains,
      idpInitiated: current.idpInitiated,
      ...patch,
    };
    const cols = await columns(ctx, scope.tenantId, id, row.type, merged, row.secret);
    const [updated] = (await trx('sso_connections')
      .where({ tenant_id: scope.tenantId, connection_id: id })
      .update({ ...cols, updated_at: ctx.clock.now() })
      .returning('*')) as Row[];
    const record = toRecord(toStored(updated!), ctx.publicUrl());
    const changed = Object.keys(patch).map((k) =>
      k === 'clientSecret' || k === 'privateKeyJwk' ? `${k} (replaced)` : k,
    );
    await appendAuditEvent(
      trx,
      scope.tenantId,
      {
        action: 'sso.connection_updated',
        actor: scope.actor,
        target: { type: 'sso_connection', id },
        payload: { changed, connection: auditPayload(record) },
      },
      ctx.clock,
    );
    return record;
  });
}

/** Delete a connection; its sign-ins in flight go with it, its sessions stay until they end. */
export async function deleteConnection(
  ctx: SsoContext,
  scope: ConnectionScope,
  id: string,
): Promise<void> {
  await withTenant(ctx.knex, scope.tenantId, async (trx) => {
    const row = await findRow(trx, scope.tenantId, id);
    if (!row) throw notFound('SSO connection');
    await trx('sso_connections').where({ tenant_id: scope.tenantId, connection_id: id }).del();
    await appendAuditEvent(
      trx,
      scope.tenantId,
      {
        action: 'sso.connection_deleted',
        actor: scope.actor,
        target: { type: 'sso_connection', id },
        payload: { type: row.type },
      },
      ctx.clock,
    );
  });
}

/**
 * The connection a callback names, with its tenant (a definer function maps the id to
 * its tenant; the row is then read under that tenant's scope). Undefined when none.
 */
export async function connectionById(
  knex: Knex,
  id: string,
): Promise<StoredConnection | undefined> {
  if (!isUuid(id)) return undefined;
  const { rows } = (await knex.raw('SELECT sso_connection_tenant(?::uuid) AS t', [id])) as {
    rows: Array<{ t: string | null }>;
  };
  const tenantId = rows[0]?.t;
  if (!tenantId) return undefined;
  const row = await withTenant(knex, tenantId, (trx) => findRow(trx, tenantId, id));
  return row ? toStored(row) : undefined;
}

/** The connections that list the domain of an email address (/login?email=), ids only. */
export async function connectionsForEmail(
  knex: Knex,
  email: string,
): Promise<Array<{ tenantId: string; connectionId: string }>> {
  const at = email.lastIndexOf('@');
  const domainPart =
    at < 0
      ? ''
      : email
          .slice(at + 1)
          .trim()
          .toLowerCase();
  if (!domainPart || domainPart.length > 253) return [];
  const { rows } = (await knex.raw(
    'SELECT tenant_id, connection_id FROM sso_connections_for_domain(?)',
    [domainPart],
  )) as { rows: Array<{ tenant_id: string; connection_id: string }> };
  return rows.map((r) => ({ tenantId: r.tenant_id, connectionId: r.connection_id }));
}
