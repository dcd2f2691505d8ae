// Activity (issue 14): POST /api/v1/activity records when users used what, and undoes
// what inactivity was about to take. One request is one transaction scoped to the tenant.
// Events are idempotent on their `id`: a retried batch is counted once. SSO sign-ins and
// licence-key heartbeats record activity through the directory's recordActivity too.
import type { Knex } from 'knex';
import { z } from 'zod';
import {
  lastActivitySql,
  recordActivity,
  userIdsByUserName,
  activeStates,
  type ActivityFact,
} from '../directory/index.js';
import { AppError } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';
import { seatChange } from './apply.js';
import { inTenant, type LicensingContext } from './context.js';
import { reconcile, recordSeatChanges } from './reconcile.js';
import type { SeatChange } from './records.js';

/** Events in one request: more is 413, before anything is written. */
export const MAX_ACTIVITY_EVENTS = 1000;
/** How far in the future an event may claim to have happened (clock skew). */
const FUTURE_SLACK_MS = 5 * 60_000;

const ActivityEvent = z
  .object({
    userId: z.string().optional(),
    userName: z.string().min(1).max(512).optional(),
    occurredAt: z.iso.datetime({ offset: true }),
    productId: z.uuid().optional(),
    source: z.string().max(100).optional(),
    id: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((e) => (e.userId === undefined) !== (e.userName === undefined), {
    message: 'give exactly one of userId and userName',
  });

export const ActivityInput = z.object({ events: z.array(z.unknown()) }).strict();

export const ActivityReportRecord = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  unknownUsers: z.array(z.string()),
  rejected: z.array(
    z.object({ index: z.number().int(), id: z.string().nullable(), reason: z.string() }),
  ),
});
export type ActivityReport = z.infer<typeof ActivityReportRecord>;

/** A seat row's holder's last activity for its licence's product (seat alias `s`). */
export const seatLastActivity = lastActivitySql({
  tenant: 's.tenant_id',
  user: 's.user_id',
  product:
    '(SELECT sl.product_id FROM licenses sl WHERE sl.tenant_id = s.tenant_id AND sl.license_id = s.license_id)',
});

export async function ingestActivity(
  ctx: LicensingContext,
  body: unknown,
): Promise<ActivityReport> {
  const { events } = ActivityInput.parse(body);
  if (events.length > MAX_ACTIVITY_EVENTS)
    throw new AppError(
      'too_many_events',
      `at most ${MAX_ACTIVITY_EVENTS} events per request (got ${events.length}); nothing was recorded`,
      { status: 413 },
    );
  const now = ctx.clock.now();
  const rejected: ActivityReport['rejected'] = [];
  const valid: Array<{ index: number; e: z.infer<typeof ActivityEvent>; at: Date }> = [];
  events.forEach((raw, index) => {
    const parsed = ActivityEvent.safeParse(raw);
    const id = (raw as { id?: unknown } | null)?.id;
    const idOf = typeof id === 'string' ? id : null;
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
      rejected.push({ index, id: idOf, reason: `${where}${issue.message}` });
      return;
    }
    const at = new Date(parsed.data.occurredAt);
    if (at.getTime() > now.getTime() + FUTURE_SLACK_MS) {
      rejected.push({
        index,
        id: idOf,
        reason: 'occurredAt is more than five minutes in the future',
      });
      return;
    }
    valid.push({ index, e: parsed.data, at });
  });
  return inTenant(ctx, async (trx) => {
    const report: ActivityReport = { accepted: 0, duplicates: 0, unknownUsers: [], rejected };
    const users = await resolveUsers(
      trx,
      ctx.tenantId,
      valid.map((v) => v.e),
    );
    const products = await knownProducts(
      trx,
      ctx.tenantId,
      valid.map((v) => v.e.productId),
    );
    const unknown = new Set<string>();
    const known: Array<{ e: (typeof valid)[number]['e']; at: Date; userId: string }> = [];
    for (const { index, e, at } of valid) {
      const userId =
        e.userId !== undefined
          ? users.byId.get(e.userId)
          : users.byName.get(e.userName!.toLowerCase());
      if (!userId) {
        unknown.add(e.userId ?? e.userName!);
        continue;
      }
      if (e.productId && !products.has(e.productId)) {
        rejected.push({ index, id: e.id ?? null, reason: `unknown product ${e.productId}` });
        continue;
      }
      known.push({ e, at, userId });
    }
    // Only events that are recorded consume their id: one refused for an unknown user
    // counts when it is sent again after the user is provisioned.
    const fresh = await firstSeen(
      trx,
      ctx.tenantId,
      known.map((k) => k.e.id),
      now,
    );
    const facts: ActivityFact[] = [];
    for (const { e, at, userId } of known) {
      if (e.id !== undefined && !fresh.delete(e.id)) {
        report.duplicates += 1;
        continue;
      }
      facts.push({ userId, productId: e.productId ?? null, occurredAt: at });
      report.accepted += 1;
    }
    report.unknownUsers = [...unknown];
    report.rejected.sort((a, b) => a.index - b.index);
    if (facts.length === 0) return report;
    await recordActivity(trx, ctx.tenantId, facts);
    const userIds = [...new Set(facts.map((f) => f.userId))];
    await restoreActive(trx, ctx, userIds);
    // Users a past inactivity reclaim left out are eligible again once active: seat them.
    const reclaimed = (await trx('seats')
      .where({ tenant_id: ctx.tenantId, release_reason: 'inactive' })
      .whereRaw('user_id = ANY(?::uuid[])', [userIds])
      .distinct('user_id')
      .pluck('user_id')) as string[];
    if (reclaimed.length) await reconcile(trx, ctx.tenantId, { userIds: reclaimed }, ctx);
    return report;
  });
}

/** userId → itself when it exists, userName (folded) → id. */
async function resolveUsers(
  trx: Knex.Transaction,
  tenantId: string,
  events: Array<{ userId?: string | undefined; userName?: string | undefined }>,
) {
  const ids = [
    ...new Set(
      events.flatMap((e) => (e.userId && isUuid(e.userId) ? [e.userId.toLowerCase()] : [])),
    ),
  ];
  const names = [...new Set(events.flatMap((e) => (e.userName ? [e.userName] : [])))];
  const existing = await activeStates(trx, tenantId, ids);
  const byId = new Map<string, string>();
  for (const e of events)
    if (e.userId && isUuid(e.userId) && existing.has(e.userId.toLowerCase()))
      byId.set(e.userId, e.userId.toLowerCase());
  return { byId, byName: await userIdsByUserName(trx, tenantId, names) };
}

async function knownProducts(
  trx: Knex.Transaction,
  tenantId: string,
  ids: Array<string | undefined>,
) {
  const wanted = [...new Set(ids.filter((id): id is string => id !== undefined))];
  if (wanted.length === 0) return new Set<string>();
  const rows = (await trx('products')
    .where({ tenant_id: tenantId })
    .whereRaw('product_id = ANY(?::uuid[])', [wanted])
    .pluck('product_id')) as string[];
  return new Set(rows);
}

/** Of the event ids given, those never received before (recorded now as received). */
async function firstSeen(
  trx: Knex.Transaction,
  tenantId: string,
  ids: Array<string | undefined>,
  now: Date,
): Promise<Set<string>> {
  const wanted = [...new Set(ids.filter((id): id is string => id !== undefined))];
  if (wanted.length === 0) return new Set();
  const { rows } = (await trx.raw(
    `INSERT INTO activity_events (tenant_id, event_id, received_at)
     SELECT ?, x, ? FROM unnest(?::text[]) AS x
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [tenantId, now.toISOString(), wanted],
  )) as { rows: Array<{ event_id: string }> };
  return new Set(rows.map((r) => r.event_id));
}

/**
 * Seats in an inactivity grace whose holder is, with the activity just recorded, no
 * longer inactive by the licence's own measure: restored, audited.
 */
async function restoreActive(trx: Knex.Transaction, ctx: LicensingContext, userIds: string[]) {
  const now = ctx.clock.now();
  const { rows } = (await trx.raw(
    `UPDATE seats s SET state = 'active', reclaim_after = NULL, reclaim_reason = NULL, updated_at = ?
       FROM licenses l
      WHERE s.tenant_id = ? AND s.user_id = ANY(?::uuid[])
        AND s.state = 'pending_reclaim' AND s.reclaim_reason = 'inactive'
        AND l.tenant_id = s.tenant_id AND l.license_id = s.license_id
        AND ${seatLastActivity} > ?::timestamptz - make_interval(days => coalesce(l.inactivity_days, 36500))
      RETURNING s.seat_id, s.license_id, s.user_id, s.rule_id`,
    [now.toISOString(), ctx.tenantId, userIds, now.toISOString()],
  )) as {
    rows: Array<{ seat_id: string; license_id: string; user_id: string; rule_id: string | null }>;
  };
  const changes: SeatChange[] = rows.map((r) =>
    seatChange(r, 'pending_reclaim', 'active', 'active_again'),
  );
  if (changes.length) await recordSeatChanges(trx, ctx.tenantId, changes, ctx);
}
