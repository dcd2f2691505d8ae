// Who presents a licence key (`Authorization: License <key>`): validation, machines and
// leases all start here.
//
// 1. Is this one of our keys? The unverified `iss` names the tenant whose keys may have
//    signed it; jose's jwtVerify then checks the signature with the key `kid` names (an
//    unknown kid fails), EdDSA only (an `alg: none`, or HS256 keyed with the public key's
//    bytes, is refused before any key is used: RFC 8725 §3.1), the explicit `typ`
//    (RFC 8725 §3.11), and `iss`. Its `jti` must be a key we issued for its `sub`. Any
//    failure is 401 `invalid_key`: nothing about a key we did not make is worth more.
// 2. Is the licence usable, as the database says now (a key states the licence as it was
//    at issue; suspension, revocation and a shortened term happen after)? `exp` and `nbf`
//    are RFC 7519 §4.1.4/4.1.5: jose compares signatures before claims, so an expired
//    key is known to be ours.
import type { Knex } from 'knex';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { withTenant } from '../db/tenant-scope.js';
import { keyedTermAt, licenceForKeys, type KeyedLicence } from '../licensing/index.js';
import type { Clock } from '../shared/clock.js';
import { AppError } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';
import { KEY_ALG, KEY_TYP } from './context.js';
import type { ValidationCode } from './records.js';
import { allPublicKeys } from './signing-keys.js';

export const invalidKey = (why: string) =>
  new AppError('invalid_key', `the licence key is not valid: ${why}`, {
    status: 401,
    headers: { 'WWW-Authenticate': 'License' },
  });

export interface AuthenticKey {
  tenantId: string;
  keyId: string;
  licenseId: string;
  /** Set when the signature holds but `exp` or `nbf` does not. */
  timing: 'expired' | 'not_started' | null;
}

/** Step 1, in the transaction of the tenant `iss` names: the key is ours, or 401 invalid_key. */
async function authenticate(
  trx: Knex.Transaction,
  tenantId: string,
  raw: string,
  now: Date,
): Promise<AuthenticKey> {
  const jwks = createLocalJWKSet({ keys: await allPublicKeys(trx, tenantId) });
  let payload: JWTPayload;
  let timing: AuthenticKey['timing'] = null;
  try {
    ({ payload } = await jwtVerify(raw, jwks, {
      algorithms: [KEY_ALG],
      typ: KEY_TYP,
      issuer: tenantId,
      currentDate: now,
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) {
      timing = 'expired';
      payload = err.payload;
    } else if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf') {
      timing = 'not_started';
      payload = err.payload;
    } else throw invalidKey((err as { code?: string }).code ?? 'refused');
  }
  const keyId = payload.jti;
  const licenseId = payload.sub;
  if (!isUuid(keyId) || !isUuid(licenseId)) throw invalidKey('no key id');
  const row = await trx('license_keys')
    .where({ tenant_id: tenantId, key_id: keyId, license_id: licenseId })
    .first('key_id');
  if (!row) throw invalidKey('not issued here');
  return { tenantId, keyId, licenseId, timing };
}

/** Step 2: the key's and the licence's own standing, before anything the request asks. */
export async function standingOf(
  trx: Knex.Transaction,
  key: AuthenticKey,
  licence: KeyedLicence,
  now: Date,
): Promise<ValidationCode> {
  const revoked = await trx('license_keys')
    .where({ tenant_id: key.tenantId, key_id: key.keyId })
    .whereNotNull('revoked_at')
    .first('key_id');
  const phase = keyedTermAt(licence, now).phase;
  return revoked || licence.deletedAt
    ? 'revoked'
    : licence.suspendedAt
      ? 'suspended'
      : key.timing === 'expired' || phase === 'expired'
        ? 'expired'
        : key.timing === 'not_started' || phase === 'not_started'
          ? 'not_started'
          : 'valid';
}

export interface KeyScope {
  trx: Knex.Transaction;
  key: AuthenticKey;
  now: Date;
}

/** Run `fn` in one transaction of the tenant whose key `raw` is, once the key is ours. */
export async function withLicenseKey<T>(
  deps: { knex: Knex; clock: Clock },
  raw: string,
  fn: (scope: KeyScope) => Promise<T>,
): Promise<T> {
  const now = deps.clock.now();
  let tenantId: unknown;
  try {
    tenantId = decodeJwt(raw).iss;
  } catch {
    throw invalidKey('not a compact JWS');
  }
  if (!isUuid(tenantId)) throw invalidKey('no issuer');
  return withTenant(deps.knex, tenantId, async (trx) =>
    fn({ trx, key: await authenticate(trx, tenantId, raw, now), now }),
  );
}

/**
 * For machines and leases: the key's licence, locked (SELECT … FOR UPDATE: every change
 * to its machines or pool is counted under this lock), and usable; otherwise 403 with
 * the validation code that says why (`suspended`, `expired`…).
 */
export async function usableLicence(scope: KeyScope): Promise<KeyedLicence> {
  const licence = await licenceForKeys(scope.trx, scope.key.tenantId, scope.key.licenseId, {
    includeDeleted: true,
    forUpdate: true,
  });
  const code = await standingOf(scope.trx, scope.key, licence, scope.now);
  if (code !== 'valid')
    throw new AppError(code, `the licence key cannot be used: ${code.replace('_', ' ')}`, {
      status: 403,
    });
  return licence;
}
