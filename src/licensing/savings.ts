// Savings (issue 14, `GET /api/v1/savings`): per licence and calendar month (UTC), what
// reclaiming seats saved and what is still there to save.
//
// - Realised: every seat reclaimed in the month — released because its holder went
//   inactive, was deprovisioned, left the granting group, was deleted, or held it twice
//   (a duplicate) — at one seat's monthly cost (cost.ts), prorated by day from the day of
//   its release (that day included) to the month's end. Admin releases, transfers and
//   the ends of licences are not reclamation, and count for nothing.
// - Potential, for the month in progress only (it is a count of seats held now): seats
//   inactive now (in their inactivity grace, or what the next scan would schedule, as
//   the reclamation preview says) and manual seats of a product the holder has another
//   live seat of, each at its monthly cost.
// A licence without a cost has nothing to count and is left out; amounts are rounded to
// the cent once, per item.
import type { Knex } from 'knex';
import { z } from 'zod';
import { inTenant, type LicensingContext } from './context.js';
import { seatMonthlyCost, type LicenceCost } from './cost.js';
import { parseLicenceDate } from './dates.js';
import { inactiveSeats } from './reclamation.js';
import { AppError, notFound } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';

/** The release reasons that are reclamation. */
const RECLAIMED = ['inactive', 'deprovisioned', 'no_longer_eligible', 'user_deleted', 'duplicate'];
/** The widest range one request may ask for, in months: bounds the answer. */
export const MAX_SAVINGS_MONTHS = 36;

export const SavingsItemRecord = z.object({
  licenseId: z.uuid(),
  month: z.string().describe('YYYY-MM (UTC)'),
  currency: z.string().nullable(),
  realised: z.number().describe('Saved by seats reclaimed in the month, prorated by day'),
  potential: z.number().describe('Seats inactive or duplicate now, at their monthly cost'),
});
export type SavingsItem = z.infer<typeof SavingsItemRecord>;
export const SavingsRecord = z.object({ items: z.array(SavingsItemRecord) });

export interface SavingsQuery {
  from?: unknown;
  to?: unknown;
  licenseId?: unknown;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const invalid = (message: string) => new AppError('invalid_input', message, { status: 400 });

function day(name: string, value: unknown): Date {
  const d = typeof value === 'string' && DAY.test(value) ? parseLicenceDate(value) : null;
  if (!d) throw invalid(`${name} must be a date, YYYY-MM-DD (got ${JSON.stringify(value)})`);
  return d;
}

const monthOf = (d: Date) => d.toISOString().slice(0, 7);
const daysIn = (d: Date) =>
  new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
const cents = (n: number) => Math.round(n * 100) / 100;

interface Costed {
  license_id: string;
  cost: LicenceCost;
  quantity: number | null;
}

export async function savings(
  ctx: LicensingContext,
  q: SavingsQuery,
): Promise<{ items: SavingsItem[] }> {
  const from = day('from', q.from);
  const to = day('to', q.to);
  if (to <= from) throw invalid('to must be after from (it is exclusive)');
  const months =
    (to.getUTCFullYear() - from.getUTCFullYear()) * 12 + to.getUTCMonth() - from.getUTCMonth();
  if (months > MAX_SAVINGS_MONTHS)
    throw invalid(`a range spans at most ${MAX_SAVINGS_MONTHS} months`);
  const licenseId = q.licenseId === undefined ? undefined : q.licenseId;
  if (licenseId !== undefined && !isUuid(licenseId)) throw notFound('licence');
  const now = ctx.clock.now();

  return inTenant(ctx, async (trx) => {
    if (licenseId !== undefined) {
      const found = await trx('licenses')
        .where({ tenant_id: ctx.tenantId, license_id: licenseId })
        .first('license_id');
      if (!found) throw notFound('licence');
    }
    const items = new Map<string, SavingsItem>();
    const add = (l: Costed, month: string, field: 'realised' | 'potential', share: number) => {
      const monthly = seatMonthlyCost(l.cost, l.quantity);
      if (!monthly) return;
      const key = `${month} ${l.license_id}`;
      const item = items.get(key) ?? {
        licenseId: l.license_id,
        month,
        currency: monthly.currency,
        realised: 0,
        potential: 0,
      };
      item[field] += monthly.amount * share;
      items.set(key, item);
    };

    for (const r of await reclaimed(trx, ctx.tenantId, from, to, licenseId)) {
      const at = r.released_at;
      add(r, monthOf(at), 'realised', (daysIn(at) - at.getUTCDate() + 1) / daysIn(at));
    }
    if (now >= from && now < to) {
      for (const r of await potential(trx, ctx.tenantId, now, licenseId))
        add(r, monthOf(now), 'potential', 1);
    }
    return {
      items: [...items.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, i]) => ({ ...i, realised: cents(i.realised), potential: cents(i.potential) })),
    };
  });
}

/** Seats reclaimed in [from, to), with their licence's cost. */
function reclaimed(
  trx: Knex.Transaction,
  tenantId: string,
  from: Date,
  to: Date,
  licenseId: string | undefined,
): Promise<Array<Costed & { released_at: Date }>> {
  const q = trx('seats as s')
    .join('licenses as l', function () {
      this.on('l.tenant_id', 's.tenant_id').andOn('l.license_id', 's.license_id');
    })
    .where('s.tenant_id', tenantId)
    .where('s.state', 'released')
    .whereIn('s.release_reason', RECLAIMED)
    .where('s.released_at', '>=', from.toISOString())
    .where('s.released_at', '<', to.toISOString())
    .select('s.license_id', 's.released_at', 'l.cost', 'l.quantity');
  if (licenseId) q.where('s.license_id', licenseId);
  return q;
}

/** Seats there is still something to save on now: inactive ones, and manual duplicates. */
async function potential(
  trx: Knex.Transaction,
  tenantId: string,
  now: Date,
  licenseId: string | undefined,
): Promise<Costed[]> {
  const scheduled = (await trx('seats as s')
    .join('licenses as l', function () {
      this.on('l.tenant_id', 's.tenant_id').andOn('l.license_id', 's.license_id');
    })
    .where({
      's.tenant_id': tenantId,
      's.state': 'pending_reclaim',
      's.reclaim_reason': 'inactive',
    })
    .modify((q) => void (licenseId && q.where('s.license_id', licenseId)))
    .select('s.license_id', 'l.cost', 'l.quantity')) as Costed[];
  const idle = await inactiveSeats(trx, tenantId, now, licenseId);
  const { rows: duplicates } = (await trx.raw(
    `SELECT s.license_id, l.cost, l.quantity
       FROM seats s
       JOIN licenses l ON l.tenant_id = s.tenant_id AND l.license_id = s.license_id
      WHERE s.tenant_id = ? AND s.source = 'manual' AND s.state = 'active'
        AND (?::uuid IS NULL OR s.license_id = ?::uuid)
        AND EXISTS (
          SELECT 1 FROM seats o
            JOIN licenses ol ON ol.tenant_id = o.tenant_id AND ol.license_id = o.license_id
           WHERE o.tenant_id = s.tenant_id AND o.user_id = s.user_id
             AND o.license_id <> s.license_id AND ol.product_id = l.product_id
             AND o.state IN ('active', 'pending_reclaim')
             -- Of two manual seats, the later one is the duplicate.
             AND (o.source = 'rule' OR o.seat_id < s.seat_id))`,
    [tenantId, licenseId ?? null, licenseId ?? null],
  )) as { rows: Costed[] };
  return [...scheduled, ...idle, ...duplicates];
}
