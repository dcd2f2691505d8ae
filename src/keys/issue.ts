// Issuing, listing and revoking a licence's keys. A key is a compact JWS (RFC 7515)
// signed with the tenant's current Ed25519 key by jose's SignJWT: `iss` the tenant,
// `sub` the licence, `aud` its product, `jti` the key's row, `nbf` the licence's start
// (or the issue), `exp` its end plus grace days (none for a licence without an end or
// one that renews itself), and `lic` what the software needs offline. The key text is
// never stored: a lost key is revoked and a new one issued.
import { SignJWT } from 'jose';
import { appendAuditEvent } from '../audit/index.js';
import { withTenant } from '../db/tenant-scope.js';
import {
  DAY_MS,
  keyedTermAt,
  licenceForKeys,
  page,
  type KeyedLicence,
  type Page,
  type PageRequest,
} from '../licensing/index.js';
import { AppError, notFound } from '../shared/errors.js';
import { isUuid, newId } from '../shared/ids.js';
import { KEY_ALG, KEY_TYP, type KeysContext } from './context.js';
import { IssueKeyInput, type IssuedKey, type LicenseKey } from './records.js';
import { currentSigningKey, extendNotAfter } from './signing-keys.js';

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** When a key for this licence stops: its end plus grace; null when it has no end. */
export function keyExpiry(l: KeyedLicence): Date | null {
  if (l.term.endsAt === null || l.term.autoRenew) return null;
  return new Date(l.term.endsAt.getTime() + l.term.graceDays * DAY_MS);
}

/** The `lic` claim, version 1: what the software enforces without asking. */
export const licClaim = (l: KeyedLicence, offlineGraceSeconds: number) => ({
  v: 1,
  type: l.type,
  seats: l.seats,
  entitlements: l.entitlements,
  maxVersion: l.maxVersion,
  maintenanceEndsAt: iso(l.maintenanceEndsAt),
  offlineGraceSeconds,
});

export async function issueKey(
  ctx: KeysContext,
  licenseId: string,
  body: unknown,
): Promise<IssuedKey> {
  const input = IssueKeyInput.parse(body ?? {});
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const licence = await licenceForKeys(trx, ctx.tenantId, licenseId);
    const now = ctx.clock.now();
    if (keyedTermAt(licence, now).phase === 'expired') {
      throw new AppError('license_ended', 'the licence has ended: no key can be issued for it', {
        status: 409,
      });
    }
    const signer = await currentSigningKey(trx, ctx);
    const keyId = newId();
    const exp = keyExpiry(licence);
    // Whole seconds, as the claims carry them (RFC 7519 §2 NumericDate).
    const expiresAt = exp ? new Date(seconds(exp) * 1000) : null;
    const jwt = new SignJWT({ lic: licClaim(licence, input.offlineGraceSeconds) })
      .setProtectedHeader({ alg: KEY_ALG, typ: KEY_TYP, kid: signer.kid })
      .setIssuer(ctx.tenantId)
      .setSubject(licence.id)
      .setAudience(licence.productId)
      .setJti(keyId)
      .setIssuedAt(seconds(now))
      .setNotBefore(seconds(licence.term.startsAt ?? now));
    if (expiresAt) jwt.setExpirationTime(seconds(expiresAt));
    const key = await jwt.sign(signer.key);
    await trx('license_keys').insert({
      tenant_id: ctx.tenantId,
      key_id: keyId,
      license_id: licence.id,
      kid: signer.kid,
      issued_at: now.toISOString(),
      expires_at: iso(expiresAt),
    });
    await extendNotAfter(trx, ctx.tenantId, signer.kid, expiresAt);
    await appendAuditEvent(
      trx,
      ctx.tenantId,
      {
        action: 'license_key.issued',
        actor: ctx.actor,
        target: { type: 'license_key', id: keyId },
        payload: { licenseId: licence.id, kid: signer.kid, expiresAt: iso(expiresAt) },
      },
      ctx.clock,
    );
    return { id: keyId, key, expiresAt: iso(expiresAt) };
  });
}

const keyRecord = (r: Record<string, unknown>): LicenseKey => ({
  id: r.key_id as string,
  licenseId: r.license_id as string,
  kid: r.kid as string,
  issuedAt: (r.issued_at as Date).toISOString(),
  expiresAt: iso(r.expires_at as Date | null),
  revokedAt: iso(r.revoked_at as Date | null),
});

export async function listKeys(
  ctx: KeysContext,
  licenseId: string,
  req: PageRequest,
): Promise<Page<LicenseKey>> {
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    // A deleted licence's keys stay listed: they answer `revoked` and an admin may ask why.
    await licenceForKeys(trx, ctx.tenantId, licenseId, { includeDeleted: true });
    return page(
      trx('license_keys').where({ tenant_id: ctx.tenantId, license_id: licenseId }),
      'key_id',
      req,
      keyRecord,
    );
  });
}

/** Revoke a key: validation answers `revoked` from now on. Revoking twice is a no-op. */
export async function revokeKey(ctx: KeysContext, keyId: string): Promise<LicenseKey> {
  if (!isUuid(keyId)) throw notFound('key');
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const row = await trx('license_keys')
      .where({ tenant_id: ctx.tenantId, key_id: keyId })
      .forUpdate()
      .first();
    if (!row) throw notFound('key');
    if (row.revoked_at) return keyRecord(row);
    const [updated] = await trx('license_keys')
      .where({ tenant_id: ctx.tenantId, key_id: keyId })
      .update({ revoked_at: ctx.clock.now().toISOString() })
      .returning('*');
    await appendAuditEvent(
      trx,
      ctx.tenantId,
      {
        action: 'license_key.revoked',
        actor: ctx.actor,
        target: { type: 'license_key', id: keyId },
        payload: { licenseId: row.license_id },
      },
      ctx.clock,
    );
    return keyRecord(updated);
  });
}
