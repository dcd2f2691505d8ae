// Online validation (`Authorization: License <key>`, POST /api/v1/validate). Two steps:
//
// 1. Is this one of our keys? The unverified `iss` names the tenant whose keys may have
//    signed it; jose's jwtVerify then checks the signature with the key `kid` names (an
//    unknown kid fails), EdDSA only (an `alg: none`, or HS256 keyed with the public key's
//    bytes, is refused before any key is used: RFC 8725 §3.1), the explicit `typ`
//    (RFC 8725 §3.11), and `iss`. Its `jti` must be a key we issued for its `sub`. Any
//    failure is 401 `invalid_key`: nothing about a key we did not make is worth more.
// 2. Is the licence usable, as the database says now (a key states the licence as it was
//    at issue; suspension, revocation and a shortened term happen after)? The answer is
//    `{valid, code}`, and a refusal is audited. `exp` and `nbf` are RFC 7519 §4.1.4/4.1.5:
//    jose compares signatures before claims, so an expired key is known to be ours.
import type { Knex } from 'knex';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { appendAuditEvent } from '../audit/index.js';
import { withTenant } from '../db/tenant-scope.js';
import {
  isProductVersion,
  keyedTermAt,
  licenceForKeys,
  versionCovered,
} from '../licensing/index.js';
import type { Clock } from '../shared/clock.js';
import { AppError, invalidInput } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';
import { KEY_ALG, KEY_TYP } from './context.js';
import { ValidateInput, type Validation, type ValidationCode } from './records.js';
import { allPublicKeys } from './signing-keys.js';

export const invalidKey = (why: string) =>
  new AppError('invalid_key', `the licence key is not valid: ${why}`, {
    status: 401,
    headers: { 'WWW-Authenticate': 'License' },
  });

interface Authentic {
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
): Promise<Authentic> {
  const jwks = createLocalJWKSet({ keys: await allPublicKeys(trx, tenantId) });
  let payload: JWTPayload;
  let timing: Authentic['timing'] = null;
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

/** The request's body, or 400. */
function parseRequest(body: unknown) {
  const input = ValidateInput.parse(body ?? {});
  if (input.version !== undefined && !isProductVersion(input.version))
    throw invalidInput('version must be a semver version, e.g. 2.3.1');
  return input;
}

export async function validateKey(
  deps: { knex: Knex; clock: Clock },
  raw: string,
  body: unknown,
): Promise<Validation> {
  const now = deps.clock.now();
  let tenantId: unknown;
  try {
    tenantId = decodeJwt(raw).iss;
  } catch {
    throw invalidKey('not a compact JWS');
  }
  if (!isUuid(tenantId)) throw invalidKey('no issuer');
  return withTenant(deps.knex, tenantId, async (trx) => {
    const key = await authenticate(trx, tenantId, raw, now);
    const input = parseRequest(body);
    const licence = await licenceForKeys(trx, tenantId, key.licenseId, { includeDeleted: true });
    const revoked = await trx('license_keys')
      .where({ tenant_id: tenantId, key_id: key.keyId })
      .whereNotNull('revoked_at')
      .first('key_id');
    const phase = keyedTermAt(licence, now).phase;
    const missing = (input.entitlements ?? []).filter((e) => !licence.entitlements.includes(e));
    const code: ValidationCode =
      revoked || licence.deletedAt
        ? 'revoked'
        : licence.suspendedAt
          ? 'suspended'
          : key.timing === 'expired' || phase === 'expired'
            ? 'expired'
            : key.timing === 'not_started' || phase === 'not_started'
              ? 'not_started'
              : missing.length > 0
                ? 'entitlement_missing'
                : input.version !== undefined && !versionCovered(input.version, licence.maxVersion)
                  ? 'version_not_covered'
                  : 'valid';
    if (code !== 'valid') {
      await appendAuditEvent(
        trx,
        tenantId,
        {
          action: 'license_key.refused',
          actor: { type: 'system', id: `license_key:${key.keyId}` },
          target: { type: 'license', id: licence.id },
          payload: {
            keyId: key.keyId,
            code,
            ...(missing.length ? { missing } : {}),
            ...(input.version !== undefined ? { version: input.version } : {}),
          },
        },
        deps.clock,
      );
    }
    return { valid: code === 'valid', code };
  });
}
