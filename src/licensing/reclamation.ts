// Reclaiming idle seats (issue 14). A seat is inactive when its holder shows no activity
// for the licence's product (activity.ts) for the licence's inactivityDays, and the seat
// itself is at least that old. The scan puts inactive seats in their reclaim grace
// (pending_reclaim, reason 'inactive'); activity in the grace restores them
// (activity.ts); when the grace ends the reconciler releases them (plan.ts), and their
// place goes to the first in line in the same transaction. With a grace of 0 the scan
// releases at once. Users and groups (nested) the licence exempts are never reclaimed.
// The preview is the scan's own query, committing nothing.
import type { Knex } from 'knex';
import { z } from 'zod';
import { lastActivityJoins, primaryEmails, usersUnderGroups } from '../directory/index.js';
import { enqueue, type OutboxMessage } from '../notifications/index.js';
import { seatChange } from './apply.js';
import { inTenant, type LicensingContext } from './context.js';
import { seatMonthlyCost, type LicenceCost } from './cost.js';
import { DAY_MS } from './plan.js';
import {
  decodeCursor,
  DEFAULT_LIMIT,
  encodeCursor,
  type Page,
  type PageRequest,
} from './paging.js';
import { isUuid } from '../shared/ids.js';
import { notFound } from '../shared/errors.js';
import { lockLicences, reconcile, recordSeatChanges } from './reconcile.js';
import type { SeatChange } from './records.js';

export const ReclaimItemRecord = z.object({
  seatId: z.uuid(),
  userId: z.uuid(),
  licenseId: z.uuid(),
  /** What the scan does: start the grace, or (grace 0) release now. */
  action: z.enum(['reclaim_scheduled', 'release']),
  reason: z.literal('inactive'),
  reclaimAfter: z.iso.datetime(),
  lastActiveAt: z.iso.datetime().nullable(),
  potentialSaving: z
    .object({ amount: z.number(), currency: z.string().nullable() })
    .nullable()
    .describe("One seat's cost per month; null when the licence states no cost"),
});
export type ReclaimItem = z.infer<typeof ReclaimItemRecord>;

interface InactiveRow {
  seat_id: string;
  user_id: string;
  license_id: string;
  rule_id: string | null;
  quantity: number | null;
  cost: LicenceCost;
  reclaim_grace_days: number;
  reclaim_exempt: { userIds: string[]; groupIds: string[] };
  last_active_at: Date | null;
}

/**
 * The licences' exemptions as (licence, user) pairs: the users each lists, and everyone
 * under the groups it lists (nested).
 */
async function exemptions(
  trx: Knex.Transaction,
  tenantId: string,
  licenseId: string | undefined,
): Promise<{ licences: string[]; users: string[] }> {
  const q = trx('licenses')
    .where({ tenant_id: tenantId })
    .whereNotNull('inactivity_days')
    .select('license_id', 'reclaim_exempt');
  if (licenseId) q.where({ license_id: licenseId });
  const pairs = { licences: [] as string[], users: [] as string[] };
  for (const l of (await q) as Array<Pick<InactiveRow, 'license_id' | 'reclaim_exempt'>>) {
    const groups = l.reclaim_exempt.groupIds;
    const under = groups.length ? await usersUnderGroups(trx, tenantId, groups) : [];
    for (const u of new Set([...l.reclaim_exempt.userIds, ...under])) {
      pairs.licences.push(l.license_id);
      pairs.users.push(u);
    }
  }
  return pairs;
}

/**
 * The active seats inactive now, exempt holders left out (bindings: tenant, licence or
 * null twice, the exempt pairs' licence and user arrays, now twice). A seat's last
 * activity is its holder's, for any product or the licence's, whichever is later (the
 * directory's lastActivityJoins: one pass over the seats, where a subquery per seat made
 * 200,000 lookups).
 */
const LAST = lastActivityJoins('act', {
  tenant: 's.tenant_id',
  user: 's.user_id',
  product: 'l.product_id',
});
const INACTIVE_SQL = `SELECT * FROM (
    SELECT s.seat_id, s.user_id, s.license_id, s.rule_id, s.granted_at, l.quantity, l.cost,
           l.reclaim_grace_days, l.reclaim_exempt, l.inactivity_days,
           ${LAST.sql} AS last_active_at
      FROM seats s
      JOIN licenses l ON l.tenant_id = s.tenant_id AND l.license_id = s.license_id
      ${LAST.joins}
     WHERE s.tenant_id = ? AND s.state = 'active' AND l.deleted_at IS NULL
       AND l.inactivity_days IS NOT NULL AND (?::uuid IS NULL OR s.license_id = ?::uuid)
       AND NOT EXISTS (SELECT 1 FROM unnest(?::uuid[], ?::uuid[]) AS e(license_id, user_id)
                        WHERE e.license_id = s.license_id AND e.user_id = s.user_id)) x
   WHERE coalesce(x.granted_at, '-infinity') <= ?::timestamptz - make_interval(days => x.inactivity_days)
     AND coalesce(x.last_active_at, '-infinity') <= ?::timestamptz - make_interval(days => x.inactivity_days)`;

const byLicenceAndSeat = (a: InactiveRow, b: InactiveRow) =>
  a.license_id < b.license_id
    ? -1
    : a.license_id > b.license_id
      ? 1
      : a.seat_id < b.seat_id
        ? -1
        : 1;

async function inactiveBindings(
  trx: Knex.Transaction,
  tenantId: string,
  now: Date,
  licenseId: string | undefined,
) {
  const exempt = await exemptions(trx, tenantId, licenseId);
  return [
    tenantId,
    licenseId ?? null,
    licenseId ?? null,
    exempt.licences,
    exempt.users,
    now.toISOString(),
    now.toISOString(),
  ];
}

/** The active seats inactive now, exempt holders left out; in licence, seat order. */
export async function inactiveSeats(
  trx: Knex.Transaction,
  tenantId: string,
  now: Date,
  licenseId?: string,
): Promise<InactiveRow[]> {
  const { rows } = (await trx.raw(
    INACTIVE_SQL,
    await inactiveBindings(trx, tenantId, now, licenseId),
  )) as { rows: InactiveRow[] };
  return rows.sort(byLicenceAndSeat);
}

/** When a seat the scan finds now is reclaimed: the end of its licence's grace. */
const reclaimAfterOf = (r: InactiveRow, now: Date) =>
  new Date(now.getTime() + r.reclaim_grace_days * DAY_MS);

const itemOf = (r: InactiveRow, now: Date): ReclaimItem => ({
  seatId: r.seat_id,
  userId: r.user_id,
  licenseId: r.license_id,
  action: r.reclaim_grace_days > 0 ? 'reclaim_scheduled' : 'release',
  reason: 'inactive',
  reclaimAfter: reclaimAfterOf(r, now).toISOString(),
  lastActiveAt: r.last_active_at ? r.last_active_at.toISOString() : null,
  potentialSaving: seatMonthlyCost(r.cost, r.quantity),
});

/**
 * One email per scheduled reclaim to the holder's primary email, in the scan's
 * transaction (the outbox delivers it): "your seat of X will be reclaimed on DATE
 * unless you use it". The dedupe key is the seat and its reclaim date, so a rescheduled
 * reclaim is announced again and the same one never twice.
 */
async function warnHolders(
  trx: Knex.Transaction,
  tenantId: string,
  rows: InactiveRow[],
  now: Date,
) {
  if (rows.length === 0) return;
  const emails = await primaryEmails(trx, tenantId, [...new Set(rows.map((r) => r.user_id))]);
  const names = (await trx('licenses as l')
    .join('products as p', function () {
      this.on('p.tenant_id', 'l.tenant_id').andOn('p.product_id', 'l.product_id');
    })
    .where('l.tenant_id', tenantId)
    .whereIn('l.license_id', [...new Set(rows.map((r) => r.license_id))])
    .select('l.license_id', 'l.name as licence', 'p.name as product')) as Array<{
    license_id: string;
    licence: string;
    product: string;
  }>;
  const messages: OutboxMessage[] = [];
  for (const r of rows) {
    const to = emails.get(r.user_id);
    const n = names.find((x) => x.license_id === r.license_id);
    if (!to || !n) continue;
    const on = reclaimAfterOf(r, now).toISOString().slice(0, 10);
    messages.push({
      channel: 'email',
      type: 'seat.reclaim_scheduled',
      dedupeKey: `reclaim:${r.seat_id}:${on}`,
      payload: {
        to,
        subject: `Your ${n.product} seat will be reclaimed on ${on}`,
        text:
          `Your seat of ${n.product} (licence ${n.licence}) will be reclaimed on ${on} unless you use it.\n\n` +
          `It has not been used for a while. Using ${n.product} before ${on} keeps it.\n`,
      },
    });
  }
  await enqueue(trx, tenantId, messages, now);
}

/** What the next inactivity scan would do, a page in seat id order; commits nothing. */
export async function previewReclamation(
  ctx: LicensingContext,
  opts: { licenseId?: string | undefined; page: PageRequest },
): Promise<Page<ReclaimItem>> {
  if (opts.licenseId !== undefined && !isUuid(opts.licenseId)) throw notFound('licence');
  const now = ctx.clock.now();
  const all = await inTenant(ctx, async (trx) =>
    (await inactiveSeats(trx, ctx.tenantId, now, opts.licenseId)).map((r) => itemOf(r, now)),
  );
  all.sort((a, b) => (a.seatId < b.seatId ? -1 : a.seatId > b.seatId ? 1 : 0));
  const after = opts.page.cursor ? decodeCursor(opts.page.cursor) : null;
  const rest = after ? all.filter((i) => i.seatId > after) : all;
  const limit = opts.page.limit ?? DEFAULT_LIMIT;
  const items = rest.slice(0, limit);
  const more = rest.length > limit;
  return {
    items,
    total: all.length,
    nextCursor: more ? encodeCursor(items[items.length - 1]!.seatId) : null,
  };
}

/**
 * The inactivity scan of one tenant: every inactive seat starts its grace (or, with a
 * grace of 0, is released and its place given to the first in line). Licences are
 * locked first (reconcile.ts, "Lock order"); a second run finds nothing new.
 */
export async function scanInactivity(ctx: LicensingContext): Promise<ReclaimItem[]> {
  const now = ctx.clock.now();
  const at = now.toISOString();
  return inTenant(ctx, async (trx) => {
    // Lock the licences with an inactivity policy first, then read their inactive seats
    // once, under the locks: nothing changes them meanwhile.
    const policed = (await trx('licenses')
      .where({ tenant_id: ctx.tenantId })
      .whereNotNull('inactivity_days')
      .whereNull('deleted_at')
      .pluck('license_id')) as string[];
    if (policed.length === 0) return [];
    await lockLicences(trx, ctx.tenantId, policed);
    // One statement finds the inactive seats and changes them: a grace starts, or (a
    // grace of 0) the seat goes now.
    const { rows } = (await trx.raw(
      `WITH x AS (${INACTIVE_SQL})
       UPDATE seats s SET
         state = CASE WHEN x.reclaim_grace_days > 0 THEN 'pending_reclaim' ELSE 'released' END,
         reclaim_reason = CASE WHEN x.reclaim_grace_days > 0 THEN 'inactive' END,
         reclaim_after = CASE WHEN x.reclaim_grace_days > 0
                              THEN ?::timestamptz + make_interval(days => x.reclaim_grace_days) END,
         release_reason = CASE WHEN x.reclaim_grace_days = 0 THEN 'inactive' END,
         released_at = CASE WHEN x.reclaim_grace_days = 0 THEN ?::timestamptz END,
         updated_at = ?
        FROM x WHERE s.tenant_id = ? AND s.seat_id = x.seat_id
       RETURNING x.*`,
      [...(await inactiveBindings(trx, ctx.tenantId, now, undefined)), at, at, at, ctx.tenantId],
    )) as { rows: InactiveRow[] };
    if (rows.length === 0) return [];
    rows.sort(byLicenceAndSeat);
    const changes: SeatChange[] = rows.map((r) =>
      seatChange(
        r,
        'active',
        r.reclaim_grace_days > 0 ? 'pending_reclaim' : 'released',
        'inactive',
      ),
    );
    const now0 = rows.filter((r) => r.reclaim_grace_days === 0);
    await recordSeatChanges(trx, ctx.tenantId, changes, ctx);
    await warnHolders(
      trx,
      ctx.tenantId,
      rows.filter((r) => r.reclaim_grace_days > 0),
      now,
    );
    // Freed places go to the first in line, in this transaction.
    if (now0.length)
      await reconcile(
        trx,
        ctx.tenantId,
        { licenseIds: [...new Set(now0.map((r) => r.license_id))], userIds: [] },
        ctx,
      );
    return rows.map((r) => itemOf(r, now));
  });
}

/**
 * Graces that ran out: the seats go (plan.ts decides each by its reason) and their places
 * go to the first in line, licence by licence in one transaction. The full reconcile
 * does the same as part of everything else; this job does only this, often.
 */
export async function reclaimExpired(ctx: LicensingContext): Promise<{ released: number }> {
  const now = ctx.clock.now();
  return inTenant(ctx, async (trx) => {
    const due = (await trx('seats')
      .where({ tenant_id: ctx.tenantId, state: 'pending_reclaim' })
      .where('reclaim_after', '<=', now.toISOString())
      .select('license_id', 'user_id')) as Array<{ license_id: string; user_id: string }>;
    if (due.length === 0) return { released: 0 };
    const changes = await reconcile(
      trx,
      ctx.tenantId,
      {
        licenseIds: [...new Set(due.map((d) => d.license_id))],
        userIds: [...new Set(due.map((d) => d.user_id))],
      },
      ctx,
    );
    return { released: changes.filter((c) => c.to === 'released').length };
  });
}
