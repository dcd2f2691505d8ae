// Applying a reconcile plan (plan.ts) inside the caller's transaction, with the licences
// locked (reconcile.ts): seat updates set-based (one statement per kind of change and
// value), new seats built in their final state for one bulk insert, and the audit event
// of every seat change.
import type { Knex } from 'knex';
import type { Actor, AuditEventInput } from '../audit/index.js';
import { newId } from '../shared/ids.js';
import { NO_ROOM, place, type PoolRoom } from './capacity.js';
import type { DesiredSeat } from './desired.js';
import type { SeatPlan } from './plan.js';
import type { SeatChange, SeatChangeReason, SeatState } from './records.js';

type Changed = { seat_id: string; license_id: string; user_id: string; rule_id: string | null };

export function seatChange(
  s: Changed,
  from: SeatState | null,
  to: SeatState,
  reason: SeatChangeReason,
): SeatChange {
  return {
    seatId: s.seat_id,
    licenseId: s.license_id,
    userId: s.user_id,
    from,
    to,
    reason,
    ruleId: s.rule_id,
  };
}

/** `items` grouped by a key, in order of first appearance. */
function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** The plan's changes to existing seats: releases, grace starts, restores, new rules. */
export async function applySeatUpdates(
  trx: Knex.Transaction,
  tenantId: string,
  plan: SeatPlan,
  at: string,
): Promise<SeatChange[]> {
  const changes: SeatChange[] = [];
  const seats = (ids: string[]) =>
    trx('seats').where({ tenant_id: tenantId }).whereRaw('seat_id = ANY(?::uuid[])', [ids]);
  for (const [reason, list] of groupBy(plan.release, (r) => r.reason)) {
    await seats(list.map((r) => r.seat.seat_id)).update({
      state: 'released',
      released_at: at,
      updated_at: at,
      release_reason: reason,
    });
    for (const r of list) changes.push(seatChange(r.seat, r.seat.state, 'released', r.reason));
  }
  // Seats leaving a rule's group or the directory start their grace; one statement per
  // end date and reason.
  for (const [, list] of groupBy(plan.pending, (p) => `${p.until.toISOString()} ${p.why}`)) {
    await seats(list.map((p) => p.seat.seat_id)).update({
      state: 'pending_reclaim',
      reclaim_after: list[0]!.until.toISOString(),
      reclaim_reason: list[0]!.why,
      updated_at: at,
    });
    for (const p of list) changes.push(seatChange(p.seat, 'active', 'pending_reclaim', p.reason));
  }
  if (plan.restore.length) {
    await seats(plan.restore.map((s) => s.seat_id)).update({
      state: 'active',
      reclaim_after: null,
      reclaim_reason: null,
      updated_at: at,
    });
    for (const s of plan.restore)
      changes.push(seatChange(s, 'pending_reclaim', 'active', 'eligible_again'));
  }
  // A seat now held through a better rule records that rule, one statement per rule.
  for (const [ruleId, moved] of groupBy(plan.retag, (r) => r.ruleId)) {
    await seats(moved.map((r) => r.seat.seat_id)).update({
      rule_id: ruleId,
      queue_priority: moved[0]!.priority,
      updated_at: at,
    });
  }
  return changes;
}

/**
 * Rows for the newly eligible, in their final state: per licence in priority order,
 * seated while the pool has room (capacity.ts), the rest at the back of the line. Granting
 * 10,000 seats is then one INSERT.
 */
export function newSeatRows(
  tenantId: string,
  grant: DesiredSeat[],
  room: Map<string, PoolRoom>,
  at: string,
) {
  const fresh = grant
    .map((d) => ({ d, seatId: newId() }))
    // Plain code-unit order: the ids are ASCII, and localeCompare collates (slower, and
    // locale-dependent) on every one of the ~1.7 million comparisons of 100,000 seats.
    .sort(
      (a, b) =>
        (a.d.licenseId < b.d.licenseId ? -1 : a.d.licenseId > b.d.licenseId ? 1 : 0) ||
        a.d.priority - b.d.priority ||
        (a.seatId < b.seatId ? -1 : 1),
    );
  const taken = new Map<string, number>();
  return fresh.map(({ d, seatId }) => {
    const k = taken.get(d.licenseId) ?? 0;
    taken.set(d.licenseId, k + 1);
    const { seated, overdeployed } = place(room.get(d.licenseId) ?? NO_ROOM, k);
    return {
      tenant_id: tenantId,
      seat_id: seatId,
      license_id: d.licenseId,
      user_id: d.userId,
      state: (seated ? 'active' : 'waitlisted') as SeatState,
      source: 'rule',
      rule_id: d.ruleId,
      eligible_since: at,
      queue_priority: d.priority,
      granted_at: seated ? at : null,
      // Seats taken from the over-deployment headroom are recorded as such.
      overdeployed,
      created_at: at,
      updated_at: at,
    };
  });
}

export function seatEvent(c: SeatChange, actor: Actor): AuditEventInput {
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
