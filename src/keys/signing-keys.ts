// Each tenant's licence signing keys: Ed25519 (RFC 8037), `kid` the RFC 7638 SHA-256
// thumbprint of the public key, made with jose. One signs at a time; the first is made
// on a tenant's first key issue. A rotation retires it and makes the next in one
// transaction; a retired key stays in the published set (RFC 7517 §5) until every key it
// signed has expired (`not_after`), so software verifying offline with a JWKS fetched
// later still accepts keys issued before the rotation.
import type { Knex } from 'knex';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import { appendAuditEvent } from '../audit/index.js';
import { withTenant } from '../db/tenant-scope.js';
import { notFound } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';
import { getTenant } from '../tenancy/index.js';
import { KEY_ALG, type KeysContext } from './context.js';
import { open, seal } from './sealing.js';

interface SigningKeyRow {
  kid: string;
  public_jwk: JWK;
  sealed_private_jwk: Buffer;
}

async function newSigningKey(ctx: KeysContext) {
  const { publicKey, privateKey } = await generateKeyPair(KEY_ALG, {
    crv: 'Ed25519',
    extractable: true,
  });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  const publicJwk: JWK = { ...pub, kid, alg: KEY_ALG, use: 'sig' };
  const privateJwk = await exportJWK(privateKey);
  return {
    tenant_id: ctx.tenantId,
    kid,
    public_jwk: JSON.stringify(publicJwk),
    sealed_private_jwk: seal(ctx.kek, ctx.tenantId, kid, JSON.stringify(privateJwk)),
    created_at: ctx.clock.now().toISOString(),
  };
}

/**
 * The key that signs now, made when the tenant has none. Two first issues at once both
 * try the insert; the partial unique index lets one win and the other reads its key.
 */
export async function currentSigningKey(
  trx: Knex.Transaction,
  ctx: KeysContext,
): Promise<{ kid: string; key: CryptoKey }> {
  const find = () =>
    trx('license_signing_keys')
      .where({ tenant_id: ctx.tenantId })
      .whereNull('retired_at')
      .first('kid', 'public_jwk', 'sealed_private_jwk') as Promise<SigningKeyRow | undefined>;
  let row = await find();
  if (!row) {
    const k = await newSigningKey(ctx);
    await trx.raw(
      `INSERT INTO license_signing_keys
         (tenant_id, kid, public_jwk, sealed_private_jwk, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id) WHERE retired_at IS NULL DO NOTHING`,
      [k.tenant_id, k.kid, k.public_jwk, k.sealed_private_jwk, k.created_at],
    );
    row = (await find())!;
  }
  const jwk = JSON.parse(open(ctx.kek, ctx.tenantId, row.kid, row.sealed_private_jwk)) as JWK;
  return { kid: row.kid, key: (await importJWK(jwk, KEY_ALG)) as CryptoKey };
}

/** Record that `kid` signed a key valid until `exp` (null: no expiry, published for good). */
export async function extendNotAfter(
  trx: Knex.Transaction,
  tenantId: string,
  kid: string,
  exp: Date | null,
): Promise<void> {
  await trx('license_signing_keys')
    .where({ tenant_id: tenantId, kid })
    .update({
      not_after: trx.raw(`GREATEST(not_after, ?::timestamptz)`, [
        exp ? exp.toISOString() : 'infinity',
      ]),
    });
}

/** Retire the signing key (if any) and make the next; audited. Returns the new kid. */
export async function rotateSigningKey(
  ctx: KeysContext,
): Promise<{ kid: string; retired: string | null }> {
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    // Two rotations at once would both retire the same key and both insert a current
    // one (a unique violation for the second): the tenant's rotations take turns.
    await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [
      `license-signing-keys:${ctx.tenantId}`,
    ]);
    const now = ctx.clock.now().toISOString();
    const [retired] = (await trx('license_signing_keys')
      .where({ tenant_id: ctx.tenantId })
      .whereNull('retired_at')
      .update({ retired_at: now })
      .returning('kid')) as Array<{ kid: string }>;
    const fresh = await newSigningKey(ctx);
    await trx('license_signing_keys').insert(fresh);
    await appendAuditEvent(
      trx,
      ctx.tenantId,
      {
        action: 'signing_key.rotated',
        actor: ctx.actor,
        target: { type: 'signing_key', id: fresh.kid },
        payload: { retired: retired?.kid ?? null },
      },
      ctx.clock,
    );
    return { kid: fresh.kid, retired: retired?.kid ?? null };
  });
}

/**
 * The published public keys: the current one and every retired one some unexpired key
 * still needs. A key signed with a retired key dropped from here stops verifying
 * offline, which is why `not_after` only ever grows.
 */
export async function publishedKeys(
  trx: Knex.Transaction,
  tenantId: string,
  now: Date,
): Promise<JWK[]> {
  const rows = (await trx('license_signing_keys')
    .where({ tenant_id: tenantId })
    .andWhere((q) => q.whereNull('retired_at').orWhere('not_after', '>', now.toISOString()))
    // The signing key first, then the most recently retired.
    .orderByRaw('retired_at DESC NULLS FIRST')
    .select('public_jwk')) as Array<{ public_jwk: JWK }>;
  return rows.map((r) => r.public_jwk);
}

/** Every public key the tenant ever had: online validation knows them all. */
export async function allPublicKeys(trx: Knex.Transaction, tenantId: string): Promise<JWK[]> {
  const rows = (await trx('license_signing_keys')
    .where({ tenant_id: tenantId })
    .select('public_jwk')) as Array<{ public_jwk: JWK }>;
  return rows.map((r) => r.public_jwk);
}

/** GET /keys/{tenantId}/jwks.json: the tenant's published set, or 404 for no such tenant. */
export async function publishedJwks(
  knex: Knex,
  tenantId: string,
  now: Date,
): Promise<{ keys: JWK[] }> {
  if (!isUuid(tenantId)) throw notFound('tenant');
  return withTenant(knex, tenantId, async (trx) => {
    await getTenant(trx, tenantId);
    return { keys: await publishedKeys(trx, tenantId, now) };
  });
}
