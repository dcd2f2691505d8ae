// OAuth 2.0 clients (issue 15): an integration's client id and secret, for the
// client-credentials grant (RFC 6749 §4.4). The secret is shown once, at creation, and
// kept as its SHA-256. Each change is audited in its own transaction.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import { appendAuditEvent, type Actor } from '../audit/index.js';
import { withTenant } from '../db/tenant-scope.js';
import type { Clock } from '../shared/clock.js';
import { notFound } from '../shared/errors.js';
import { isUuid, newId } from '../shared/ids.js';

export const OAUTH_SCOPES = ['api:read', 'api:write', 'scim'] as const;
export type OAuthScope = (typeof OAUTH_SCOPES)[number];

export const OAuthClientInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  scopes: z.array(z.enum(OAUTH_SCOPES)).min(1),
});
export const OAuthClientRecord = z.object({
  clientId: z.uuid(),
  name: z.string(),
  scopes: z.array(z.enum(OAUTH_SCOPES)),
  createdAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
});
export type OAuthClient = z.infer<typeof OAuthClientRecord>;
export const CreatedOAuthClientRecord = OAuthClientRecord.extend({
  clientSecret: z.string().describe('Shown only now'),
});
export const OAuthClientListRecord = z.object({ items: z.array(OAuthClientRecord) });

const sha256 = (s: string) => createHash('sha256').update(s).digest();

interface Row {
  tenant_id: string;
  client_id: string;
  name: string;
  scopes: OAuthScope[];
  secret_hash: Buffer;
  created_at: Date;
  revoked_at: Date | null;
}
const toRecord = (r: Row): OAuthClient => ({
  clientId: r.client_id,
  name: r.name,
  scopes: r.scopes,
  createdAt: r.created_at.toISOString(),
  revokedAt: r.revoked_at?.toISOString() ?? null,
});

export interface ClientScope {
  knex: Knex;
  tenantId: string;
  actor: Actor;
  clock: Clock;
}

export async function createClient(
  ctx: ClientScope,
  body: unknown,
): Promise<OAuthClient & { clientSecret: string }> {
  const input = OAuthClientInput.parse(body);
  const clientId = newId();
  const clientSecret = randomBytes(32).toString('base64url');
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const [row] = (await trx('oauth_clients')
      .insert({
        tenant_id: ctx.tenantId,
        client_id: clientId,
        name: input.name,
        scopes: [...new Set(input.scopes)],
        secret_hash: sha256(clientSecret),
        created_at: ctx.clock.now(),
      })
      .returning('*')) as Row[];
    const record = toRecord(row!);
    await appendAuditEvent(
      trx,
      ctx.tenantId,
      {
        action: 'oauth_client.created',
        actor: ctx.actor,
        target: { type: 'oauth_client', id: clientId },
        payload: { name: record.name, scopes: record.scopes },
      },
      ctx.clock,
    );
    return { ...record, clientSecret };
  });
}

export async function listClients(knex: Knex, tenantId: string): Promise<{ items: OAuthClient[] }> {
  const rows = (await withTenant(knex, tenantId, (trx) =>
    trx('oauth_clients').where({ tenant_id: tenantId }).orderBy(['created_at', 'client_id']),
  )) as Row[];
  return { items: rows.map(toRecord) };
}

export async function revokeClient(ctx: ClientScope, clientId: string): Promise<OAuthClient> {
  if (!isUuid(clientId)) throw notFound('OAuth client');
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const [row] = (await trx('oauth_clients')
      .where({ tenant_id: ctx.tenantId, client_id: clientId })
      .update({ revoked_at: trx.raw('coalesce(revoked_at, ?)', [ctx.clock.now()]) })
      .returning('*')) as Row[];
    if (!row) throw notFound('OAuth client');
    await appendAuditEvent(
      trx,
      ctx.tenantId,
      {
        action: 'oauth_client.revoked',
        actor: ctx.actor,
        target: { type: 'oauth_client', id: clientId },
      },
      ctx.clock,
    );
    return toRecord(row);
  });
}

/** The client a token request names, if its secret matches (constant time). */
export async function authenticateClient(
  knex: Knex,
  clientId: string,
  secret: string,
): Promise<{ tenantId: string; clientId: string; scopes: OAuthScope[]; revoked: boolean } | null> {
  const row = await clientRow(knex, clientId);
  if (!row || !timingSafeEqual(row.secret_hash, sha256(secret))) return null;
  return {
    tenantId: row.tenant_id,
    clientId: row.client_id,
    scopes: row.scopes,
    revoked: row.revoked_at !== null,
  };
}

/** A client's row, found through the definer function that maps its id to its tenant. */
export async function clientRow(knex: Knex, clientId: string): Promise<Row | undefined> {
  if (!isUuid(clientId)) return undefined;
  const { rows } = (await knex.raw('SELECT oauth_client_tenant(?::uuid) AS t', [clientId])) as {
    rows: Array<{ t: string | null }>;
  };
  const tenantId = rows[0]?.t;
  if (!tenantId) return undefined;
  return (await withTenant(knex, tenantId, (trx) =>
    trx('oauth_clients').where({ tenant_id: tenantId, client_id: clientId }).first(),
  )) as Row | undefined;
}

/** Whether a client exists in a tenant and is not revoked (for tokens it was issued). */
export async function clientActive(
  knex: Knex,
  tenantId: string,
  clientId: string,
): Promise<boolean> {
  if (!isUuid(tenantId) || !isUuid(clientId)) return false;
  const row = (await withTenant(knex, tenantId, (trx) =>
    trx('oauth_clients').where({ tenant_id: tenantId, client_id: clientId }).first('revoked_at'),
  )) as { revoked_at: Date | null } | undefined;
  return !!row && row.revoked_at === null;
}
