// Tenants and their tokens. Every change appends its audit event in the same
// transaction. Tokens are returned in clear exactly once, from create.
import type { Knex } from 'knex';
import { z } from 'zod';
import {
  type Actor,
  appendAuditEvents,
  type AuditEventInput,
  type AuditAction,
} from '../audit/index.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { AppError, invalidInput, notFound } from '../shared/errors.js';
import type { TokenCache, VerifiedToken } from './token-cache.js';
import {
  hashSecret,
  mintToken,
  parseToken,
  secretMatches,
  SCOPES,
  type ParsedToken,
  type Scope,
} from './tokens.js';
import { isUuid, newId } from '../shared/ids.js';
import { allTenantIds, scopeToTenant, withTenant } from '../db/tenant-scope.js';

/** A tenant as the admin API shows it (GET /api/v1/tenant; its OpenAPI schema too). */
export const ReclaimDefaultsRecord = z.object({
  inactivityDays: z.number().int().nullable(),
  reclaimGraceDays: z.number().int(),
});
export type ReclaimDefaults = z.infer<typeof ReclaimDefaultsRecord>;

export const TenantRecord = z.object({
  id: z.uuid(),
  name: z.string(),
  createdAt: z.iso.datetime(),
  /** The reclaim policy new licences start with (issue 14). */
  reclaimDefaults: ReclaimDefaultsRecord,
  /** Audit payloads older than this many days are erased (issue 14); null: kept forever. */
  auditRetentionDays: z.number().int().min(1).nullable(),
});

/** PATCH /tenant: what an admin may change. */
export const TenantPatch = z
  .object({
    reclaimDefaults: z
      .object({
        inactivityDays: z.number().int().min(1).max(3650).nullable().optional(),
        reclaimGraceDays: z.number().int().min(0).max(3650).optional(),
      })
      .strict()
      .optional(),
    auditRetentionDays: z.number().int().min(1).max(36_500).nullable().optional(),
  })
  .strict();
export type Tenant = z.infer<typeof TenantRecord>;

export interface TokenInfo {
  id: string;
  tenantId: string;
  scope: Scope;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface CreatedTenant extends Tenant {
  scimToken: string;
  apiToken: string;
}

export interface Principal {
  tenantId: string;
  tokenId: string;
  scope: Scope;
}

interface Ctx {
  clock?: Clock;
  actor: Actor;
}

const MAX_NAME = 200;

function checkName(name: string, what: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_NAME) {
    throw invalidInput(`${what} must be 1 to ${MAX_NAME} characters`);
  }
  return trimmed;
}

export function checkScope(scope: string): Scope {
  if (!(SCOPES as readonly string[]).includes(scope)) {
    throw invalidInput(`scope must be one of ${SCOPES.join(', ')} (got "${scope}")`);
  }
  return scope as Scope;
}

async function insertToken(
  trx: Knex.Transaction,
  tenantId: string,
  scope: Scope,
  name: string,
  now: Date,
): Promise<{ info: TokenInfo; token: string }> {
  const tokenId = newId();
  const { token, secretHash } = mintToken(tenantId, tokenId, scope);
  await trx('api_tokens').insert({
    tenant_id: tenantId,
    token_id: tokenId,
    scope,
    name,
    secret_hash: secretHash,
    created_at: now.toISOString(),
  });
  return {
    token,
    info: { id: tokenId, tenantId, scope, name, createdAt: now.toISOString(), revokedAt: null },
  };
}

const tokenEvent = (action: AuditAction, t: TokenInfo, actor: Actor): AuditEventInput => ({
  action,
  actor,
  target: { type: 'token', id: t.id },
  payload: { scope: t.scope, name: t.name },
});

/** A new tenant with one SCIM and one API token. */
export async function createTenant(knex: Knex, name: string, ctx: Ctx): Promise<CreatedTenant> {
  const clean = checkName(name, 'tenant name');
  const clock = ctx.clock ?? systemClock;
  const id = newId();
  return withTenant(knex, id, async (trx) => {
    const now = clock.now();
    await trx('tenants').insert({ tenant_id: id, name: clean, created_at: now.toISOString() });
    // Its audit chain head comes with it (trigger tenants_open_audit_chain).
    const scim = await insertToken(trx, id, 'scim', 'SCIM provisioning', now);
    const api = await insertToken(trx, id, 'api', 'Admin API', now);
    await appendAuditEvents(
      trx,
      id,
      [
        {
          action: 'tenant.created',
          actor: ctx.actor,
          target: { type: 'tenant', id },
          payload: { name: clean },
        },
        tokenEvent('token.created', scim.info, ctx.actor),
        tokenEvent('token.created', api.info, ctx.actor),
      ],
      clock,
    );
    return {
      id,
      name: clean,
      createdAt: now.toISOString(),
      reclaimDefaults: { inactivityDays: null, reclaimGraceDays: 7 },
      auditRetentionDays: null,
      scimToken: scim.token,
      apiToken: api.token,
    };
  });
}

const TENANT_COLUMNS = [
  'tenant_id',
  'name',
  'created_at',
  'reclaim_defaults',
  'audit_retention_days',
];
const toTenant = (r: {
  tenant_id: string;
  name: string;
  created_at: Date;
  reclaim_defaults: ReclaimDefaults;
  audit_retention_days: number | null;
}): Tenant => ({
  id: r.tenant_id,
  name: r.name,
  createdAt: r.created_at.toISOString(),
  reclaimDefaults: r.reclaim_defaults,
  auditRetentionDays: r.audit_retention_days,
});

/** Every tenant (the operator's list): each read under its own scope, in one transaction. */
export async function listTenants(knex: Knex): Promise<Tenant[]> {
  const ids = await allTenantIds(knex);
  const tenants = await knex.transaction(async (trx) => {
    const found: Tenant[] = [];
    for (const id of ids) {
      await scopeToTenant(trx, id);
      const row = await trx('tenants').where({ tenant_id: id }).first(TENANT_COLUMNS);
      if (row) found.push(toTenant(row));
    }
    return found;
  });
  return tenants.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

export async function getTenant(knex: Knex, tenantId: string): Promise<Tenant> {
  if (!isUuid(tenantId)) throw notFound('tenant');
  const row = await withTenant(knex, tenantId, (trx) =>
    trx('tenants').where({ tenant_id: tenantId }).first(TENANT_COLUMNS),
  );
  if (!row) throw notFound('tenant');
  return toTenant(row);
}

/** The reclaim policy the tenant's new licences start with. */
export async function reclaimDefaultsOf(knex: Knex, tenantId: string): Promise<ReclaimDefaults> {
  return (await getTenant(knex, tenantId)).reclaimDefaults;
}

/** PATCH /tenant: change what an admin may change, audited. */
export async function updateTenant(
  knex: Knex,
  tenantId: string,
  body: unknown,
  ctx: Ctx,
): Promise<Tenant> {
  const patch = TenantPatch.parse(body);
  const clock = ctx.clock ?? systemClock;
  return withTenant(knex, tenantId, async (trx) => {
    const row = await trx('tenants')
      .where({ tenant_id: tenantId })
      .forUpdate()
      .first(TENANT_COLUMNS);
    if (!row) throw notFound('tenant');
    const before = toTenant(row);
    const reclaimDefaults = { ...before.reclaimDefaults, ...(patch.reclaimDefaults ?? {}) };
    const auditRetentionDays =
      patch.auditRetentionDays === undefined ? before.auditRetentionDays : patch.auditRetentionDays;
    const [updated] = await trx('tenants')
      .where({ tenant_id: tenantId })
      .update({
        reclaim_defaults: JSON.stringify(reclaimDefaults),
        audit_retention_days: auditRetentionDays,
      })
      .returning(TENANT_COLUMNS);
    await appendAuditEvents(
      trx,
      tenantId,
      [
        {
          action: 'tenant.updated',
          actor: ctx.actor,
          target: { type: 'tenant', id: tenantId },
          payload: { reclaimDefaults, auditRetentionDays },
        },
      ],
      clock,
    );
    return toTenant(updated);
  });
}

export async function createToken(
  knex: Knex,
  tenantId: string,
  input: { scope: string; name?: string | undefined },
  ctx: Ctx,
): Promise<TokenInfo & { token: string }> {
  const scope = checkScope(input.scope);
  const name = checkName(input.name ?? `${scope} token`, 'token name');
  await getTenant(knex, tenantId);
  const clock = ctx.clock ?? systemClock;
  return withTenant(knex, tenantId, async (trx) => {
    const created = await insertToken(trx, tenantId, scope, name, clock.now());
    await appendAuditEvents(
      trx,
      tenantId,
      [tokenEvent('token.created', created.info, ctx.actor)],
      clock,
    );
    return { ...created.info, token: created.token };
  });
}

const toTokenInfo = (r: {
  token_id: string;
  tenant_id: string;
  scope: Scope;
  name: string;
  created_at: Date;
  revoked_at: Date | null;
}): TokenInfo => ({
  id: r.token_id,
  tenantId: r.tenant_id,
  scope: r.scope,
  name: r.name,
  createdAt: r.created_at.toISOString(),
  revokedAt: r.revoked_at ? r.revoked_at.toISOString() : null,
});

export async function listTokens(knex: Knex, tenantId: string): Promise<TokenInfo[]> {
  await getTenant(knex, tenantId);
  const rows = await withTenant(knex, tenantId, (trx) =>
    trx('api_tokens')
      .where({ tenant_id: tenantId })
      .select('token_id', 'tenant_id', 'scope', 'name', 'created_at', 'revoked_at')
      .orderBy(['created_at', 'token_id']),
  );
  return rows.map(toTokenInfo);
}

export async function revokeToken(
  knex: Knex,
  tenantId: string,
  tokenId: string,
  ctx: Ctx,
): Promise<TokenInfo> {
  if (!isUuid(tenantId) || !isUuid(tokenId)) throw notFound('token');
  const clock = ctx.clock ?? systemClock;
  return withTenant(knex, tenantId, async (trx) => {
    const row = await trx('api_tokens')
      .where({ tenant_id: tenantId, token_id: tokenId })
      .forUpdate()
      .first();
    if (!row) throw notFound('token');
    // Revoking twice is not an error, and not a second event.
    if (row.revoked_at) return toTokenInfo(row);
    const [updated] = await trx('api_tokens')
      .where({ tenant_id: tenantId, token_id: tokenId })
      .update({ revoked_at: clock.now().toISOString() })
      .returning('*');
    const info = toTokenInfo(updated);
    await appendAuditEvents(trx, tenantId, [tokenEvent('token.revoked', info, ctx.actor)], clock);
    return info;
  });
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'insufficient_scope';

export class AuthError extends AppError {
  constructor(
    readonly reason: AuthFailure,
    requiredScope: Scope,
  ) {
    const scopeError = reason === 'insufficient_scope';
    super(
      scopeError ? 'insufficient_scope' : 'invalid_token',
      scopeError
        ? `this token cannot be used here: the ${requiredScope} scope is required`
        : reason === 'missing'
          ? 'a bearer token is required'
          : 'the bearer token is invalid or revoked',
      {
        status: scopeError ? 403 : 401,
        // RFC 6750 §3: say which scheme, and why the token was refused.
        headers: {
          'WWW-Authenticate':
            reason === 'missing'
              ? 'Bearer realm="seatkeeper"'
              : `Bearer realm="seatkeeper", error="${scopeError ? 'insufficient_scope' : 'invalid_token'}"${scopeError ? `, scope="${requiredScope}"` : ''}`,
        },
      },
    );
  }
}

/**
 * The stored facts of a presented token whose secret matched its row; undefined when
 * there is no such row or the secret is wrong. Cached by the hash of the whole token
 * (src/tenancy/token-cache.ts), so a hit means these exact bytes were verified.
 */
async function verifiedToken(
  knex: Knex,
  raw: string,
  parsed: ParsedToken,
  cache: TokenCache | undefined,
): Promise<VerifiedToken | undefined> {
  const key = cache && cache.ttlMs > 0 ? hashSecret(raw).toString('hex') : undefined;
  const hit = key ? cache!.get(key) : undefined;
  if (hit) return hit;
  const readAt = cache?.clock() ?? 0;
  // Read under the tenant the token claims: a forged tenant part finds no row at all.
  const row = (await withTenant(knex, parsed.tenantId, (trx) =>
    trx('api_tokens')
      .where({ tenant_id: parsed.tenantId, token_id: parsed.tokenId })
      .first('tenant_id', 'token_id', 'scope', 'secret_hash', 'revoked_at'),
  )) as
    | {
        tenant_id: string;
        token_id: string;
        scope: Scope;
        secret_hash: Buffer;
        revoked_at: Date | null;
      }
    | undefined;
  // The scope named in the string must be the row's: a token re-labelled sk_api_ from
  // sk_scim_ names no token at all.
  if (!row || !secretMatches(parsed.secret, row.secret_hash) || row.scope !== parsed.scope) {
    return undefined;
  }
  const verified: VerifiedToken = {
    tenantId: row.tenant_id,
    tokenId: row.token_id,
    scope: row.scope,
    revokedAt: row.revoked_at,
  };
  if (key) cache!.set(key, verified, readAt);
  return verified;
}

/**
 * Resolve a bearer token to its tenant. An empty, malformed, unknown, revoked or
 * wrong-scope token is refused; the secret is compared in constant time. The principal
 * is built from the stored row alone, never from the presented string.
 */
export async function authenticate(
  knex: Knex,
  raw: string | undefined,
  required: Scope,
  cache?: TokenCache,
): Promise<Principal> {
  if (!raw) throw new AuthError('missing', required);
  const parsed = parseToken(raw);
  if (!parsed) throw new AuthError('malformed', required);
  const token = await verifiedToken(knex, raw, parsed, cache);
  if (!token) throw new AuthError('unknown', required);
  if (token.revokedAt) throw new AuthError('revoked', required);
  if (token.scope !== required) throw new AuthError('insufficient_scope', required);
  return { tenantId: token.tenantId, tokenId: token.tokenId, scope: token.scope };
}
