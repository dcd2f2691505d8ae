// The reconciler: desired seats (desired.ts) against the seats that exist, applied as
// one diff inside the caller's transaction, with an audit event for every seat change.
//
// Concurrency: the licences in play are locked (FOR UPDATE, in id order, so two
// reconcilers never deadlock) before seats are counted or written. Every change to a
// licence's seats therefore happens one transaction at a time, and a pool can never
// over-allocate. "now" is read after the locks, so waitlist order is commit order.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAuditEvents } from '../audit/append.js';
import type { Actor, AuditEventInput } from '../audit/types.js';
import type { Clock } from '../shared/clock.js';
import { recordThresholdCrossings } from './compliance.js';
import { desiredSeats, type DesiredSeat, type RuleRow } from './desired.js';

export type SeatState = 'active' | 'waitlisted' | 'pending_reclaim' | 'released';

export interface SeatChange {
  seatId: string;
  licenseId: string;
  userId: string;
  from: SeatState | null;
  to: SeatState;
  reason: string;
  ruleId: string | null;
}

export interface ReconcileScope {
  /** Reconcile these users (for every licence they could hold)... */
  userIds?: string[];
  /** ...or everyone, for these licences (rule and licence edits)... */
  licenseIds?: string[];
  /** ...or everything in the tenant (the full reconcile). */
  all?: boolean;
}

interface LicenseRow {
  license_id: string;
  type: string;
  quantity: number | null;
  starts_at: Date | null;
  ends_at: Date | null;
  grace_days: number;
  full_policy: 'waitlist' | 'overdeploy';
  overdeploy_limit: number;
  deleted_at: Date | null;
}

interface SeatRow {
  seat_id: string;
  license_id: string;
  user_id: string;
  state: SeatState;
  source: 'rule' | 'manual';
  rule_id: string | null;
  reclaim_after: Date | null;
}

const DAY = 86_400_000;

export function licenseInForce(
  l: Pick<LicenseRow, 'starts_at' | 'ends_at' | 'grace_days' | 'deleted_at'>,
  now: Date,
): boolean {
  if (l.deleted_at) return false;
  if (l.starts_at && l.starts_at > now) return false;
  if (l.ends_at && l.ends_at.getTime() + l.grace_days * DAY < now.getTime()) return false;
  return true;
}

/** Capacity of a pool: Infinity for unlimited and site licences. */
export function capacityOf(l: Pick<LicenseRow, 'type' | 'quantity'>): number {
  return l.type === 'site' || l.quantity === null ? Infinity : l.quantity;
}

async function licencesInPlay(
  trx: Knex.Transaction,
  tenantId: string,
  scope: ReconcileScope,
): Promise<string[]> {
  if (scope.all) return trx('licenses').where({ tenant_id: tenantId }).pluck('license_id');
  if (scope.licenseIds) return scope.licenseIds;
  const users = scope.userIds ?? [];
  if (users.length === 0) return [];
  // Licences whose rules reach these users through their groups (nested included), plus
  // licences where they hold or wait for a seat (covers memberships just removed).
  // Only these are locked, so directory writes for unrelated users don't queue up.
  const { rows } = await trx.raw(
    `WITH RECURSIVE up(group_id) AS (
       SELECT group_id FROM directory_memberships WHERE tenant_id = ? AND member_id = ANY(?::uuid[])
       UNION
       SELECT m.group_id FROM up JOIN directory_memberships m
         ON m.tenant_id = ? AND m.member_id = up.group_id AND m.member_type = 'Group'
     )
     SELECT r.license_id FROM license_rules r JOIN up ON r.tenant_id = ? AND r.group_id = up.group_id
     UNION
     SELECT license_id FROM seats WHERE tenant_id = ? AND state <> 'released' AND user_id = ANY(?::uuid[])`,
    [tenantId, users, tenantId, tenantId, tenantId, users],
  );
  return rows.map((r: { license_id: string }) => r.license_id);
}

export async function reconcile(
  trx: Knex.Transaction,
  tenantId: string,
  scope: ReconcileScope,
  ctx: { clock: Clock; actor: Actor },
): Promise<SeatChange[]> {
  const ids = [...new Set(await licencesInPlay(trx, tenantId, scope))].sort();
  if (ids.length === 0) return [];
  const licences = (await trx('licenses')
    .where({ tenant_id: tenantId })
    .whereIn('license_id', ids)
    .orderBy('license_id')
    .forUpdate()
    .select(
      'license_id',
      'type',
      'quantity',
      'starts_at',
      'ends_at',
      'grace_days',
      'full_policy',
      'overdeploy_limit',
      'deleted_at',
    )) as LicenseRow[];
  const now = ctx.clock.now();
  const byId = new Map(licences.map((l) => [l.license_id, l]));
  const inForce = licences.filter((l) => licenseInForce(l, now)).map((l) => l.license_id);
  const rules = (await trx('license_rules')
    .where({ tenant_id: tenantId })
    .whereIn('license_id', [...byId.keys()])
    .select(
      'rule_id',
      'license_id',
      'group_id',
      'filter',
      'priority',
      'removal_grace_days',
    )) as RuleRow[];
  // Users to recompute: the given ones, or everyone (licence edits, full reconcile). A
  // licence scope with `userIds: []` only settles the pools (seats the waitlist).
  const userScope = scope.all ? null : (scope.userIds ?? null);

  const desired = await desiredSeats(trx, tenantId, rules, inForce, userScope);
  const want = new Map<string, DesiredSeat>(desired.map((d) => [`${d.licenseId}:${d.userId}`, d]));

  const liveQuery = trx('seats')
    .where({ tenant_id: tenantId })
    .whereIn('license_id', [...byId.keys()])
    .whereNot('state', 'released')
    .select('seat_id', 'license_id', 'user_id', 'state', 'source', 'rule_id', 'reclaim_after');
  if (userScope) liveQuery.whereIn('user_id', userScope);
  const live = (await liveQuery) as SeatRow[];

  // Why a seat is no longer wanted, for users that have one.
  const seatUsers = [...new Set(live.map((s) => s.user_id))];
  const userState = new Map<string, boolean>(
    seatUsers.length
      ? (
          (await trx('directory_users')
            .where({ tenant_id: tenantId })
            .whereIn('user_id', seatUsers)
            .select('user_id', 'active')) as Array<{
            user_id: string;
            active: boolean;
          }>
        ).map((u) => [u.user_id, u.active])
      : [],
  );
  const graceOf = new Map(rules.map((r) => [r.rule_id, r.removal_grace_days]));
  const changes: SeatChange[] = [];
  const release: Array<{ seat: SeatRow; reason: string }> = [];
  const pending: Array<{ seat: SeatRow; until: Date; reason: string }> = [];
  const restore: SeatRow[] = [];
  const retag: Array<{ seat: SeatRow; ruleId: string; priority: number }> = [];

  for (const seat of live) {
    const key = `${seat.license_id}:${seat.user_id}`;
    const wanted = want.get(key);
    want.delete(key);
    const exists = userState.has(seat.user_id);
    if (seat.source === 'manual') {
      // Manual assignments are never removed by rules; only by the user's deletion.
      if (!exists) release.push({ seat, reason: 'user_deleted' });
      continue;
    }
    if (wanted) {
      if (seat.state === 'pending_reclaim') restore.push(seat);
      if (seat.rule_id !== wanted.ruleId)
        retag.push({ seat, ruleId: wanted.ruleId, priority: wanted.priority });
      continue;
    }
    const reason = !exists
      ? 'user_deleted'
      : userState.get(seat.user_id) === false
        ? 'deprovisioned'
        : byId.get(seat.license_id)?.deleted_at
          ? 'license_deleted'
          : !inForce.includes(seat.license_id)
            ? 'license_expired'
            : 'no_longer_eligible';
    const grace = seat.rule_id ? (graceOf.get(seat.rule_id) ?? 0) : 0;
    if (seat.state === 'active' && grace > 0 && reason === 'no_longer_eligible') {
      pending.push({ seat, until: new Date(now.getTime() + grace * DAY), reason });
    } else if (
      seat.state === 'pending_reclaim' &&
      reason === 'no_longer_eligible' &&
      seat.reclaim_after &&
      seat.reclaim_after > now
    ) {
      continue; // still in its grace period
    } else {
      release.push({ seat, reason });
    }
  }

  const at = now.toISOString();
  const change = (
    s: { seat_id: string; license_id: string; user_id: string; rule_id: string | null },
    from: SeatState | null,
    to: SeatState,
    reason: string,
  ) =>
    changes.push({
      seatId: s.seat_id,
      licenseId: s.license_id,
      userId: s.user_id,
      from,
      to,
      reason,
      ruleId: s.rule_id,
    });

  for (const reason of new Set(release.map((r) => r.reason))) {
    const seats = release.filter((r) => r.reason === reason);
    await trx('seats')
      .where({ tenant_id: tenantId })
      .whereIn(
        'seat_id',
        seats.map((r) => r.seat.seat_id),
      )
      .update({ state: 'released', released_at: at, updated_at: at, release_reason: reason });
    for (const r of seats) change(r.seat, r.seat.state, 'released', reason);
  }
  for (const p of pending) {
    await trx('seats')
      .where({ tenant_id: tenantId, seat_id: p.seat.seat_id })
      .update({ state: 'pending_reclaim', reclaim_after: p.until.toISOString(), updated_at: at });
    change(p.seat, 'active', 'pending_reclaim', p.reason);
  }
  if (restore.length) {
    await trx('seats')
      .where({ tenant_id: tenantId })
      .whereIn(
        'seat_id',
        restore.map((s) => s.seat_id),
      )
      .update({ state: 'active', reclaim_after: null, updated_at: at });
    for (const s of restore) change(s, 'pending_reclaim', 'active', 'eligible_again');
  }
  for (const r of retag) {
    await trx('seats')
      .where({ tenant_id: tenantId, seat_id: r.seat.seat_id })
      .update({ rule_id: r.ruleId, queue_priority: r.priority, updated_at: at });
  }

  // New eligibility joins the back of the queue; the fill below seats whoever is first.
  const fresh = [...want.values()].map((d) => ({
    tenant_id: tenantId,
    seat_id: randomUUID(),
    license_id: d.licenseId,
    user_id: d.userId,
    state: 'waitlisted',
    source: 'rule',
    rule_id: d.ruleId,
    eligible_since: at,
    queue_priority: d.priority,
    created_at: at,
    updated_at: at,
  }));
  for (let i = 0; i < fresh.length; i += 2000) await trx('seats').insert(fresh.slice(i, i + 2000));
  const freshIds = new Set<string>(fresh.map((f) => f.seat_id));

  const promoted = await fill(trx, tenantId, licences, at);
  const promotedIds = new Set<string>(promoted.map((p) => p.seat_id));
  for (const p of promoted)
    change(
      p,
      freshIds.has(p.seat_id) ? null : 'waitlisted',
      'active',
      freshIds.has(p.seat_id) ? 'eligible' : 'seat_freed',
    );
  for (const f of fresh)
    if (!promotedIds.has(f.seat_id)) change(f, null, 'waitlisted', 'pool_full');

  await appendAuditEvents(
    trx,
    tenantId,
    changes.map((c) => seatEvent(c, ctx.actor)),
    ctx.clock,
  );
  if (changes.length)
    await recordThresholdCrossings(
      trx,
      tenantId,
      [...new Set(changes.map((c) => c.licenseId))],
      ctx,
    );
  return changes;
}

/** Seat the waitlist in order while there is room (or over-deployment headroom). */
async function fill(
  trx: Knex.Transaction,
  tenantId: string,
  licences: LicenseRow[],
  at: string,
): Promise<Array<SeatRow & { overdeployed: boolean }>> {
  const promoted: Array<SeatRow & { overdeployed: boolean }> = [];
  for (const l of licences) {
    const capacity = capacityOf(l);
    const [{ n: occupied }] = (await trx('seats')
      .where({ tenant_id: tenantId, license_id: l.license_id })
      .whereIn('state', ['active', 'pending_reclaim'])
      .count({ n: '*' })) as [{ n: number }];
    const headroom = l.full_policy === 'overdeploy' ? l.overdeploy_limit : 0;
    const room = capacity + headroom - Number(occupied);
    if (room <= 0) continue;
    // Pick the first in line (an index scan of seats_queue_idx), then promote them by
    // primary key: a join between the queue and the table would be planned on stale
    // statistics right after a bulk insert, and crawled through as a nested loop.
    const next = trx('seats')
      .where({ tenant_id: tenantId, license_id: l.license_id, state: 'waitlisted' })
      .orderBy([{ column: 'eligible_since' }, { column: 'queue_priority' }, { column: 'seat_id' }])
      .pluck('seat_id');
    if (Number.isFinite(room)) next.limit(room);
    const ids: string[] = await next;
    if (ids.length === 0) continue;
    // Seats beyond the purchased quantity are recorded as over-deployed.
    const within = Math.max(0, Math.min(ids.length, capacity - Number(occupied)));
    const rows: Array<SeatRow & { overdeployed: boolean }> = [];
    for (const [part, overdeployed] of [
      [ids.slice(0, within), false],
      [ids.slice(within), true],
    ] as const) {
      for (let i = 0; i < part.length; i += 5000) {
        rows.push(
          ...(await trx('seats')
            .where({ tenant_id: tenantId })
            .whereIn('seat_id', part.slice(i, i + 5000))
            .update({ state: 'active', granted_at: at, updated_at: at, overdeployed })
            .returning([
              'seat_id',
              'license_id',
              'user_id',
              'state',
              'source',
              'rule_id',
              'reclaim_after',
              'overdeployed',
            ])),
        );
      }
    }
    promoted.push(...rows);
  }
  return promoted;
}

function seatEvent(c: SeatChange, actor: Actor): AuditEventInput {
  const action =
    c.to === 'active'
      ? c.from === 'pending_reclaim'
        ? 'seat.restored'
        : 'seat.granted'
      : c.to === 'waitlisted'
        ? 'seat.waitlisted'
        : c.to === 'pending_reclaim'
          ? 'seat.reclaim_scheduled'
          : 'seat.released';
  return {
    action,
    actor,
    target: { type: 'seat', id: c.seatId },
    payload: {
      licenseId: c.licenseId,
      userId: c.userId,
      from: c.from,
      to: c.to,
      reason: c.reason,
      ruleId: c.ruleId,
    },
  };
}
