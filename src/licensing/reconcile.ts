// The reconciler: desired seats (desired.ts) against the seats that exist, applied as
// one diff inside the caller's transaction, with an audit event for every seat change.
//
// Concurrency: the licences in play are locked (FOR UPDATE, in id order) before seats are
// counted or written. Every change to a licence's seats therefore happens one
// transaction at a time, and a pool can never over-allocate. "now" is read after the
// locks, so waitlist order is commit order.
//
// Lock order (issue 12). Every transaction that writes licensing or directory state takes
// its row locks in this order, and never goes back to an earlier level:
//
//   1. the directory rows the request writes: the SCIM group or user row (FOR UPDATE); a
//      user's deletion then also locks the groups it is in, in group_id order; then the
//      membership rows beneath them;
//   2. licences, FOR UPDATE, in license_id order, all those the transaction will touch,
//      by one statement (lockLicences): a manual assignment locks the target licence
//      together with every licence the reconcile of that user will lock; a seat's
//      release or transfer locks the seat's licence before the seat; a rule write locks
//      its licence(s) before the rule;
//   3. rows that belong to a locked licence: its rules and its seats (waitlist included),
//      read with FOR UPDATE or written only while the licence is held;
//   4. the tenant's audit chain head, which nobody waits for on a request's path (FOR
//      UPDATE SKIP LOCKED: a busy head means the events are queued, src/audit/append.ts).
//
// Products are locked only by product writes, which lock nothing else. The one case no
// order can rule out: the licences a user reaches can grow between being read and being
// locked (a membership committed in between), and the reconcile then locks the newcomer
// after the rest. That, and PostgreSQL's own serialisation failures, is what the retry
// of the whole transaction covers (src/db/retry.ts), applied on every path listed above.
//
// The deadlock this order removed (issue 12): POST /seats locked its licence L, then its
// reconcile locked the user's licences in id order, some sorting before L; a SCIM group
// PATCH's reconcile, locking in id order, held one of those and waited for L.
import type { Knex } from 'knex';
import {
  type Actor,
  appendAuditEvents,
  type AuditEventInput,
  prepareAuditEvents,
} from '../audit/index.js';
import { insertMany } from '../db/insert-many.js';
import type { Clock } from '../shared/clock.js';
import { recordThresholdCrossings } from './compliance.js';
import { desiredSeats, type DesiredSeat, type RuleRow } from './desired.js';
import {
  SEAT_INSERT_COLUMNS,
  type SeatChange,
  type SeatChangeReason,
  type SeatState,
} from './records.js';
import { LICENSE_TERM_COLUMNS, licenseInForce, type LicenseTermRow } from './term.js';
import { fill, type PoolLicense } from './pool.js';
import { newId } from '../shared/ids.js';

export type { SeatChange, SeatState };

export interface ReconcileScope {
  /** Reconcile these users (for every licence they could hold)... */
  userIds?: string[];
  /** ...or everyone, for these licences (rule and licence edits)... */
  licenseIds?: string[];
  /** ...or everything in the tenant (the full reconcile). */
  all?: boolean;
}

export interface LicenseRow extends LicenseTermRow, PoolLicense {
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

/** The licences a reconcile of `scope` locks (read, not locked; see lockLicences). */
export async function licencesInPlay(
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
  // Only these are locked, so directory writes for unrelated users don't queue up. This
  // runs on every directory write, in one round trip; the ids are joined (unnest) so the
  // (tenant_id, member_id) index serves both columns.
  const { rows } = await trx.raw(
    // The EXISTS is evaluated once: a tenant without rules skips the membership walk.
    `WITH RECURSIVE up(group_id) AS (
       SELECT m.group_id FROM unnest(?::uuid[]) AS x(id)
         JOIN directory_memberships m ON m.tenant_id = ? AND m.member_id = x.id
        WHERE EXISTS (SELECT 1 FROM license_rules WHERE tenant_id = ?)
       UNION
       SELECT m.group_id FROM up JOIN directory_memberships m
         ON m.tenant_id = ? AND m.member_id = up.group_id AND m.member_type = 'Group'
     )
     SELECT r.license_id FROM license_rules r JOIN up ON r.tenant_id = ? AND r.group_id = up.group_id
     UNION
     SELECT s.license_id FROM unnest(?::uuid[]) AS x(id)
       JOIN seats s ON s.tenant_id = ? AND s.user_id = x.id AND s.state <> 'released'`,
    [users, tenantId, tenantId, tenantId, tenantId, users, tenantId],
  );
  return rows.map((r: { license_id: string }) => r.license_id);
}

/**
 * Lock licences (level 2 of the lock order): FOR UPDATE, in license_id order, in one
 * statement, deleted ones included. The rows come back in that order.
 */
export async function lockLicences(
  trx: Knex.Transaction,
  tenantId: string,
  licenseIds: string[],
): Promise<LicenseRow[]> {
  const ids = [...new Set(licenseIds)].sort();
  if (ids.length === 0) return [];
  // ORDER BY is applied before the row locks are taken, so they are taken in id order.
  return (await trx('licenses')
    .where({ tenant_id: tenantId })
    .whereIn('license_id', ids)
    .orderBy('license_id')
    .forUpdate()
    .select(
      'license_id',
      'type',
      'quantity',
      'full_policy',
      'overdeploy_limit',
      ...LICENSE_TERM_COLUMNS,
    )) as LicenseRow[];
}

export async function reconcile(
  trx: Knex.Transaction,
  tenantId: string,
  scope: ReconcileScope,
  ctx: { clock: Clock; actor: Actor },
): Promise<SeatChange[]> {
  const ids = await licencesInPlay(trx, tenantId, scope);
  if (ids.length === 0) return [];
  // Licences this transaction locked already (a manual assignment, a rule write) are
  // locked again at no cost; see "Lock order" above.
  const licences = await lockLicences(trx, tenantId, ids);
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
  // Arrays are bound as one parameter: a full reconcile names 100,000 users and more
  // than PostgreSQL's 65,535 bound parameters.
  if (userScope) liveQuery.whereRaw('user_id = ANY(?::uuid[])', [userScope]);
  const live = (await liveQuery) as SeatRow[];

  // Why a seat is no longer wanted, for users that have one.
  const seatUsers = [...new Set(live.map((s) => s.user_id))];
  const userState = new Map<string, boolean>(
    seatUsers.length
      ? (
          (await trx('directory_users')
            .where({ tenant_id: tenantId })
            .whereRaw('user_id = ANY(?::uuid[])', [seatUsers])
            .select('user_id', 'active')) as Array<{
            user_id: string;
            active: boolean;
          }>
        ).map((u) => [u.user_id, u.active])
      : [],
  );
  const graceOf = new Map(rules.map((r) => [r.rule_id, r.removal_grace_days]));
  const changes: SeatChange[] = [];
  const release: Array<{ seat: SeatRow; reason: SeatChangeReason }> = [];
  const pending: Array<{ seat: SeatRow; until: Date; reason: SeatChangeReason }> = [];
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
    const reason: SeatChangeReason = !exists
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
    reason: SeatChangeReason,
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
      .whereRaw('seat_id = ANY(?::uuid[])', [seats.map((r) => r.seat.seat_id)])
      .update({ state: 'released', released_at: at, updated_at: at, release_reason: reason });
    for (const r of seats) change(r.seat, r.seat.state, 'released', reason);
  }
  // Seats leaving a rule's group start their grace; one statement per end date.
  for (const until of new Set(pending.map((p) => p.until.toISOString()))) {
    const seats = pending.filter((p) => p.until.toISOString() === until);
    await trx('seats')
      .where({ tenant_id: tenantId })
      .whereRaw('seat_id = ANY(?::uuid[])', [seats.map((p) => p.seat.seat_id)])
      .update({ state: 'pending_reclaim', reclaim_after: until, updated_at: at });
    for (const p of seats) change(p.seat, 'active', 'pending_reclaim', p.reason);
  }
  if (restore.length) {
    await trx('seats')
      .where({ tenant_id: tenantId })
      .whereRaw('seat_id = ANY(?::uuid[])', [restore.map((s) => s.seat_id)])
      .update({ state: 'active', reclaim_after: null, updated_at: at });
    for (const s of restore) change(s, 'pending_reclaim', 'active', 'eligible_again');
  }
  // A seat now held through a better rule records that rule (the "why"), one statement per rule.
  for (const ruleId of new Set(retag.map((r) => r.ruleId))) {
    const moved = retag.filter((r) => r.ruleId === ruleId);
    await trx('seats')
      .where({ tenant_id: tenantId })
      .whereRaw('seat_id = ANY(?::uuid[])', [moved.map((r) => r.seat.seat_id)])
      .update({ rule_id: ruleId, queue_priority: moved[0]!.priority, updated_at: at });
  }

  // Seat those already waiting first (they became eligible earlier), then the newly
  // eligible in priority order while room remains; the rest join the back of the queue.
  // New seats are inserted in their final state, so granting 10,000 seats is one INSERT.
  const { promoted, room } = await fill(trx, tenantId, licences, new Set(inForce), at);
  for (const p of promoted) change(p, 'waitlisted', 'active', 'seat_freed');
  const fresh = [...want.values()]
    .map((d) => ({ d, seatId: newId() }))
    // Plain code-unit order: the ids are ASCII, and localeCompare collates (slower, and
    // locale-dependent) on every one of the ~1.7 million comparisons of 100,000 seats.
    .sort(
      (a, b) =>
        (a.d.licenseId < b.d.licenseId ? -1 : a.d.licenseId > b.d.licenseId ? 1 : 0) ||
        a.d.priority - b.d.priority ||
        (a.seatId < b.seatId ? -1 : 1),
    );
  const rows = fresh.map(({ d, seatId }) => {
    const r = room.get(d.licenseId) ?? { left: 0, beyondCapacityAfter: 0 };
    const seated = r.left > 0;
    if (seated) {
      r.left -= 1;
      r.beyondCapacityAfter -= 1;
    }
    return {
      tenant_id: tenantId,
      seat_id: seatId,
      license_id: d.licenseId,
      user_id: d.userId,
      state: seated ? 'active' : 'waitlisted',
      source: 'rule',
      rule_id: d.ruleId,
      eligible_since: at,
      queue_priority: d.priority,
      granted_at: seated ? at : null,
      // Seats taken from the over-deployment headroom are recorded as such.
      overdeployed: seated && r.beyondCapacityAfter < 0,
      created_at: at,
      updated_at: at,
    };
  });
  for (const r of rows)
    change(r, null, r.state as SeatState, r.state === 'active' ? 'eligible' : 'pool_full');
  // The audit events are prepared (ids, salts, digests: half a second for 100,000) while
  // the server inserts the seats, then chained and appended after them.
  const [, events] = await Promise.all([
    insertMany(trx, 'seats', SEAT_INSERT_COLUMNS, rows),
    prepareAuditEvents(
      changes.map((c) => seatEvent(c, ctx.actor)),
      ctx.clock,
    ),
  ]);
  await appendAuditEvents(trx, tenantId, events, ctx.clock);
  if (changes.length)
    await recordThresholdCrossings(
      trx,
      tenantId,
      [...new Set(changes.map((c) => c.licenseId))],
      ctx,
    );
  return changes;
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
    // The holder is whose data this is: erasing them erases their seat history's details.
    subject: c.userId,
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
