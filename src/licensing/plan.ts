// The reconciler's plan: pure. From what the application loaded (the licences in play,
// their rules, the eligibility candidates, the live seats of the users in scope, whether
// those users still exist and are active) and a `now`, the desired seats and the diff
// against the seats that exist. No database, no clock: reconcile.ts loads the inputs and
// applies the plan (apply.ts), and the pool's room decides who of the newly eligible is
// seated (capacity.ts, when the application inserts them).
import { decide, type Candidate, type RuleRow } from './eligibility.js';
import type { DesiredSeat } from './desired.js';
import type { SeatChangeReason, SeatState } from './records.js';

export const DAY_MS = 86_400_000;

export interface SeatRow {
  seat_id: string;
  license_id: string;
  user_id: string;
  state: SeatState;
  source: 'rule' | 'manual';
  rule_id: string | null;
  reclaim_after: Date | null;
}

export interface PlanInput {
  now: Date;
  /** The licences in play (locked), deleted ones included. */
  licences: ReadonlyArray<{ license_id: string; deleted_at: Date | null }>;
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
  /** Seats leaving a rule's group start the rule's removal grace. */
  pending: Array<{ seat: SeatRow; until: Date; reason: SeatChangeReason }>;
  /** Seats in their grace whose holder is eligible again. */
  restore: SeatRow[];
  /** Seats now held through a better rule, which records that rule (the "why"). */
  retag: Array<{ seat: SeatRow; ruleId: string; priority: number }>;
  /** Desired seats nobody holds yet, in the eligibility's order. */
  grant: DesiredSeat[];
}

/** The desired seats: each eligible decision (the best eligible rule per licence and user). */
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

export function planSeats(input: PlanInput): SeatPlan {
  const desired = desiredOf(input.candidates);
  const want = new Map(desired.map((d) => [`${d.licenseId}:${d.userId}`, d]));
  const deleted = new Set(input.licences.filter((l) => l.deleted_at).map((l) => l.license_id));
  const graceOf = new Map(input.rules.map((r) => [r.rule_id, r.removal_grace_days]));
  const plan: SeatPlan = { desired, release: [], pending: [], restore: [], retag: [], grant: [] };
  for (const seat of input.live) {
    const key = `${seat.license_id}:${seat.user_id}`;
    const wanted = want.get(key);
    want.delete(key);
    if (seat.source === 'manual') {
      // Manual assignments are never removed by rules; only by the user's deletion.
      if (!input.users.has(seat.user_id)) plan.release.push({ seat, reason: 'user_deleted' });
      continue;
    }
    if (wanted) {
      if (seat.state === 'pending_reclaim') plan.restore.push(seat);
      if (seat.rule_id !== wanted.ruleId)
        plan.retag.push({ seat, ruleId: wanted.ruleId, priority: wanted.priority });
      continue;
    }
    const reason = releaseReason(seat, input, deleted);
    const grace = seat.rule_id ? (graceOf.get(seat.rule_id) ?? 0) : 0;
    if (seat.state === 'active' && grace > 0 && reason === 'no_longer_eligible') {
      plan.pending.push({ seat, until: new Date(input.now.getTime() + grace * DAY_MS), reason });
    } else if (
      seat.state === 'pending_reclaim' &&
      reason === 'no_longer_eligible' &&
      seat.reclaim_after &&
      seat.reclaim_after > input.now
    ) {
      continue; // still in its grace period
    } else {
      plan.release.push({ seat, reason });
    }
  }
  plan.grant = [...want.values()];
  return plan;
}
