// The reconciler's plan: pure. From what the application loaded (the licences in play,
// their rules, the eligibility candidates, the live seats of the users in scope, whether
// those users still exist and are active) and a `now`, the desired seats and the diff
// against the seats that exist. No database, no clock: reconcile.ts loads the inputs and
// applies the plan (apply.ts), and the pool's room decides who of the newly eligible is
// seated (capacity.ts, when the application inserts them).
import { decide, type Candidate, type RuleRow } from './eligibility.js';
import type { DesiredSeat } from './desired.js';
import type { ReclaimReason, SeatChangeReason, SeatState } from './records.js';

export const DAY_MS = 86_400_000;

export interface SeatRow {
  seat_id: string;
  license_id: string;
  user_id: string;
  state: SeatState;
  source: 'rule' | 'manual';
  rule_id: string | null;
  reclaim_after: Date | null;
  reclaim_reason: ReclaimReason | null;
}

export interface PlanInput {
  now: Date;
  /** The licences in play (locked), deleted ones included. */
  licences: ReadonlyArray<{
    license_id: string;
    deleted_at: Date | null;
    /** The grace of a deprovisioning (or inactivity) reclaim, in days. */
    reclaim_grace_days: number;
  }>;
  /** Of those, the ones in force now (eligibility's licencesInForce). */
  inForce: ReadonlySet<string>;
  rules: ReadonlyArray<Pick<RuleRow, 'rule_id' | 'removal_grace_days'>>;
  /** Eligibility candidates of the users in scope (the ineligible may be left out). */
  candidates: Iterable<Candidate>;
  /** Live (not released) seats of those licences, of the users in scope. */
  live: readonly SeatRow[];
  /** Holders of those seats who still exist, and whether they are active. */
  users: ReadonlyMap<string, boolean>;
}

export interface SeatPlan {
  /** Every seat the users in scope should hold, rule seats only. */
  desired: DesiredSeat[];
  release: Array<{ seat: SeatRow; reason: SeatChangeReason }>;
  /**
   * Held seats whose holder is no longer eligible but gets a grace: leaving a rule's
   * group (the rule's removal grace) or deprovisioned (the licence's reclaim grace).
   */
  pending: Array<{ seat: SeatRow; until: Date; reason: SeatChangeReason; why: ReclaimReason }>;
  /** Seats in their grace whose holder is eligible (or active) again. */
  restore: SeatRow[];
  /** Seats now held through a better rule, which records that rule (the "why"). */
  retag: Array<{ seat: SeatRow; ruleId: string; priority: number }>;
  /** Desired seats nobody holds yet, in the eligibility's order. */
  grant: DesiredSeat[];
  /**
   * Seats held twice for one product whose first seat (`seatFrom`) is not held yet: the
   * application releases them once it is (a grant with room), else they stay.
   */
  duplicates: Array<{ seat: SeatRow; seatFrom: string }>;
}

/**
 * The desired seats: each eligible decision (the best eligible rule per licence and user,
 * one licence per product). Takes candidates, or decide's decisions (deciding is idempotent).
 */
export function desiredOf(candidates: Iterable<Candidate>): DesiredSeat[] {
  const out: DesiredSeat[] = [];
  for (const d of decide(candidates))
    if (d.verdict === 'eligible')
      out.push({
        licenseId: d.licenseId,
        userId: d.userId,
        ruleId: d.ruleId,
        priority: d.priority,
      });
  return out;
}

/** Why a rule seat nobody should hold any more goes. */
function releaseReason(seat: SeatRow, input: PlanInput, deleted: Set<string>): SeatChangeReason {
  if (!input.users.has(seat.user_id)) return 'user_deleted';
  if (input.users.get(seat.user_id) === false) return 'deprovisioned';
  if (deleted.has(seat.license_id)) return 'license_deleted';
  if (!input.inForce.has(seat.license_id)) return 'license_expired';
  return 'no_longer_eligible';
}

/** The reclaim reason a grace starts with, for a reason a seat is no longer wanted. */
const GRACED: Partial<Record<SeatChangeReason, ReclaimReason>> = {
  no_longer_eligible: 'removed_from_group',
  deprovisioned: 'deprovisioned',
};

export function planSeats(input: PlanInput): SeatPlan {
  const decisions = decide(input.candidates);
  const desired = desiredOf(decisions);
  // Duplicates (eligibility's check 7): licence:user → the licence that gives the seat.
  const seatFrom = new Map(
    decisions
      .filter((d) => d.verdict === 'duplicate')
      .map((d) => [`${d.licenseId}:${d.userId}`, d.seatFrom!]),
  );
  const holds = new Set(
    input.live.filter((s) => s.state === 'active').map((s) => `${s.license_id}:${s.user_id}`),
  );
  const want = new Map(desired.map((d) => [`${d.licenseId}:${d.userId}`, d]));
  const deleted = new Set(input.licences.filter((l) => l.deleted_at).map((l) => l.license_id));
  const ruleGrace = new Map(input.rules.map((r) => [r.rule_id, r.removal_grace_days]));
  const licenceGrace = new Map(input.licences.map((l) => [l.license_id, l.reclaim_grace_days]));
  const plan: SeatPlan = {
    desired,
    release: [],
    pending: [],
    restore: [],
    retag: [],
    grant: [],
    duplicates: [],
  };
  const waiting = (seat: SeatRow) =>
    seat.state === 'pending_reclaim' &&
    seat.reclaim_after !== null &&
    seat.reclaim_after > input.now;
  // A seat no longer wanted for `reason`: a held seat starts its grace (if it has one),
  // a seat in its grace waits it out, anything else goes now.
  const letGo = (seat: SeatRow, reason: SeatChangeReason, graceDays: number) => {
    const why = GRACED[reason];
    if (why && seat.state === 'active' && graceDays > 0)
      plan.pending.push({
        seat,
        until: new Date(input.now.getTime() + graceDays * DAY_MS),
        reason,
        why,
      });
    // In its grace already (for this or another graced reason): it waits the grace out.
    else if (!(why && waiting(seat))) plan.release.push({ seat, reason });
  };
  for (const seat of input.live) {
    const key = `${seat.license_id}:${seat.user_id}`;
    const wanted = want.get(key);
    want.delete(key);
    const active = input.users.get(seat.user_id);
    if (seat.source === 'manual') {
      // Manual assignments are never removed by rules: only the user's deletion releases
      // them, and deprovisioning puts them in the licence's grace (issue 14).
      if (active === undefined) plan.release.push({ seat, reason: 'user_deleted' });
      else if (active === false)
        letGo(seat, 'deprovisioned', licenceGrace.get(seat.license_id) ?? 0);
      else if (seat.state === 'pending_reclaim' && seat.reclaim_reason === 'deprovisioned')
        plan.restore.push(seat);
      else if (seat.reclaim_reason === 'inactive' && !waiting(seat))
        plan.release.push({ seat, reason: 'inactive' });
      continue;
    }
    if (wanted) {
      if (seat.rule_id !== wanted.ruleId)
        plan.retag.push({ seat, ruleId: wanted.ruleId, priority: wanted.priority });
      // An inactivity reclaim is undone by activity, not by eligibility: it waits out its
      // grace, then goes (reclamation.ts schedules it; activity restores it).
      if (seat.state === 'pending_reclaim' && seat.reclaim_reason === 'inactive') {
        if (!waiting(seat)) plan.release.push({ seat, reason: 'inactive' });
      } else if (seat.state === 'pending_reclaim') plan.restore.push(seat);
      continue;
    }
    const other = seatFrom.get(key);
    if (other !== undefined) {
      // Held twice for one product: this seat goes once the one that comes first is
      // held; until then (that pool may be full) the user keeps this one.
      if (holds.has(`${other}:${seat.user_id}`)) plan.release.push({ seat, reason: 'duplicate' });
      else plan.duplicates.push({ seat, seatFrom: other });
      continue;
    }
    const reason = releaseReason(seat, input, deleted);
    const grace =
      reason === 'deprovisioned'
        ? (licenceGrace.get(seat.license_id) ?? 0)
        : seat.rule_id
          ? (ruleGrace.get(seat.rule_id) ?? 0)
          : 0;
    letGo(seat, reason, grace);
  }
  plan.grant = [...want.values()];
  return plan;
}
