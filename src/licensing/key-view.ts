// What signed licence keys (src/keys) need of a licence: its terms as a key states them,
// read in the caller's tenant-scoped transaction, and its suspension, which is a licence
// state (an admin suspends the licence, every key of it answers `suspended`).
import type { Knex } from 'knex';
import { notFound } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';
import { audit } from './catalog.js';
import { inTenant, type LicensingContext } from './context.js';
import { licenseRecord, type License } from './records.js';
import { licenseRow } from './catalog.js';
import { termAt, termOfRow, type LicenseTerm, type TermState } from './term.js';

export interface KeyedLicence {
  id: string;
  productId: string;
  type: string;
  /** null: unlimited. */
  seats: number | null;
  entitlements: string[];
  maxVersion: string | null;
  maintenanceEndsAt: Date | null;
  term: LicenseTerm;
  suspendedAt: Date | null;
  deletedAt: Date | null;
}

/**
 * A licence as keys see it, or 404. `includeDeleted`: validation still finds a deleted
 * licence (its keys then answer `revoked`); issuing does not.
 */
export async function licenceForKeys(
  trx: Knex.Transaction,
  tenantId: string,
  id: string,
  opts: { forUpdate?: boolean; includeDeleted?: boolean } = {},
): Promise<KeyedLicence> {
  if (!isUuid(id)) throw notFound('licence');
  const q = trx('licenses').where({ tenant_id: tenantId, license_id: id }).first();
  if (!opts.includeDeleted) q.whereNull('deleted_at');
  if (opts.forUpdate) q.forUpdate();
  const r = await q;
  if (!r) throw notFound('licence');
  return {
    id: r.license_id,
    productId: r.product_id,
    type: r.type,
    seats: r.quantity,
    entitlements: r.entitlements,
    maxVersion: r.max_version,
    maintenanceEndsAt: r.maintenance_ends_at,
    term: termOfRow(r),
    suspendedAt: r.suspended_at,
    deletedAt: r.deleted_at,
  };
}

/** The licence's term now (one rule for expiry: term.ts). */
export const keyedTermAt = (l: KeyedLicence, now: Date): TermState => termAt(l.term, now);

/**
 * Suspend (or resume) a licence: its keys validate as `suspended` meanwhile. Suspending
 * a suspended licence keeps the first time; either way the change is audited only when
 * it is one.
 */
export async function setLicenceSuspended(
  ctx: LicensingContext,
  id: string,
  suspended: boolean,
): Promise<License> {
  return inTenant(ctx, async (trx) => {
    const row = await licenseRow(trx, ctx, id, true);
    if ((row.suspended_at !== null) === suspended) return licenseRecord(row);
    const [updated] = await trx('licenses')
      .where({ tenant_id: ctx.tenantId, license_id: id })
      .update({ suspended_at: suspended ? ctx.clock.now().toISOString() : null })
      .returning('*');
    await audit(trx, ctx, suspended ? 'license.suspended' : 'license.resumed', 'license', id, {});
    return licenseRecord(updated);
  });
}
