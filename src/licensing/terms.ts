// The renewals a licence has stored (issue 14: subscription-renewal writes each new term
// of an auto-renewing subscription): its term history, for GET /licenses/{id}/terms, in
// the order they were renewed.
import { z } from 'zod';
import { notFound } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';
import { inTenant, type LicensingContext } from './context.js';
import { page, type Page, type PageRequest } from './paging.js';

export const RenewedTermRecord = z.object({
  id: z.uuid(),
  licenseId: z.uuid(),
  startsAt: z.iso.datetime(),
  endsAt: z.iso.datetime(),
  /** When the renewal was stored (the job's run). */
  renewedAt: z.iso.datetime(),
});
export type RenewedTerm = z.infer<typeof RenewedTermRecord>;

const termRecord = (r: Record<string, unknown>): RenewedTerm => ({
  id: r.term_id as string,
  licenseId: r.license_id as string,
  startsAt: (r.starts_at as Date).toISOString(),
  endsAt: (r.ends_at as Date).toISOString(),
  renewedAt: (r.renewed_at as Date).toISOString(),
});

/** A page of the licence's stored renewals, oldest first (term ids are time-ordered). */
export async function listRenewedTerms(
  ctx: LicensingContext,
  licenseId: string,
  req: PageRequest,
): Promise<Page<RenewedTerm>> {
  if (!isUuid(licenseId)) throw notFound('licence');
  return inTenant(ctx, async (trx) => {
    const licence = await trx('licenses')
      .where({ tenant_id: ctx.tenantId, license_id: licenseId })
      .whereNull('deleted_at')
      .first('license_id');
    if (!licence) throw notFound('licence');
    return page(
      trx('license_terms').where({ tenant_id: ctx.tenantId, license_id: licenseId }),
      'term_id',
      req,
      termRecord,
    );
  });
}
