// Online validation (POST /api/v1/validate): the key and its licence (key-auth.ts), then
// what the request asks about — entitlements, a version, a machine's fingerprint, a
// lease. The answer is `{valid, code}`; a refusal is audited.
import type { Knex } from 'knex';
import { appendAuditEvent } from '../audit/index.js';
import { isProductVersion, licenceForKeys, versionCovered } from '../licensing/index.js';
import type { Clock } from '../shared/clock.js';
import { invalidInput } from '../shared/errors.js';
import { standingOf, withLicenseKey } from './key-auth.js';
import { leaseStanding } from './leases.js';
import { machineStanding } from './machines.js';
import { ValidateInput, type Validation, type ValidationCode } from './records.js';

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
  return withLicenseKey(deps, raw, async (scope) => {
    const { trx, key, now } = scope;
    const tenantId = key.tenantId;
    const input = parseRequest(body);
    const licence = await licenceForKeys(trx, tenantId, key.licenseId, { includeDeleted: true });
    const missing = (input.entitlements ?? []).filter((e) => !licence.entitlements.includes(e));
    // The first refusal wins: the key and licence, then the request's claims, cheapest first.
    let code: ValidationCode = await standingOf(trx, key, licence, now);
    if (code === 'valid' && missing.length > 0) code = 'entitlement_missing';
    if (
      code === 'valid' &&
      input.version !== undefined &&
      !versionCovered(input.version, licence.maxVersion)
    )
      code = 'version_not_covered';
    if (code === 'valid' && input.fingerprint !== undefined)
      code = await machineStanding(trx, tenantId, licence, input.fingerprint);
    if (code === 'valid' && input.lease !== undefined)
      code = await leaseStanding(trx, tenantId, licence, input.lease, now);
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
