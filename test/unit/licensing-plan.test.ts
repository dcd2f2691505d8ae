// The reconciler's plan, pure (issue 13): from the eligibility candidates, the live seats
// and who still exists, the desired seats and the diff, with no database and no clock.
import type { Candidate } from '../../src/licensing/eligibility.js';
import {
  DAY_MS,
  desiredOf,
  planSeats,
  type PlanInput,
  type SeatRow,
} from '../../src/licensing/plan.js';

const now = new Date('2026-06-01T09:00:00Z');
const L = 'licence-1';
const L2 = 'licence-2';

const candidate = (userId: string, ruleId: string, priority = 100, licenseId = L): Candidate => ({
  licenseId,
  userId,
  ruleId,
  priority,
  verdict: 'eligible',
  productId: `product-of-${licenseId}`,
  seatCost: null,
});
/** A candidate for a licence of the shared product P, with a seat cost. */
const ofP = (userId: string, licenseId: string, priority: number, seatCost: number | null) => ({
  ...candidate(userId, `rule-${licenseId}`, priority, licenseId),
  productId: 'P',
  seatCost,
});
const seat = (userId: string, s: Partial<SeatRow> = {}): SeatRow => ({
  seat_id: `seat-${userId}`,
  license_id: L,
  user_id: userId,
  state: 'active',
  source: 'rule',
  rule_id: 'rule-a',
  reclaim_after: null,
  reclaim_reason: null,
  ...s,
});
const input = (p: Partial<PlanInput>): PlanInput => ({
  now,
  licences: [
    { license_id: L, deleted_at: null, reclaim_grace_days: 0 },
    { license_id: L2, deleted_at: null, reclaim_grace_days: 0 },
  ],
  inForce: new Set([L, L2]),
  rules: [
    { rule_id: 'rule-a', removal_grace_days: 0 },
    { rule_id: 'rule-b', removal_grace_days: 7 },
  ],
  candidates: [],
  live: [],
  users: new Map(),
  ...p,
});

describe('desired seats', () => {
  test('one per user and licence, from the best priority, then the lowest rule id', () => {
    expect(
      desiredOf([
        candidate('u1', 'rule-b', 50),
        candidate('u1', 'rule-a', 10),
        candidate('u2', 'rule-b', 5),
        candidate('u2', 'rule-a', 5),
        candidate('u2', 'rule-c', 5, L2),
      ]),
    ).toEqual([
      { licenseId: L, userId: 'u1', ruleId: 'rule-a', priority: 10 },
      { licenseId: L, userId: 'u2', ruleId: 'rule-a', priority: 5 },
      { licenseId: L2, userId: 'u2', ruleId: 'rule-c', priority: 5 },
    ]);
  });

  test('an ineligible candidate grants nothing, even with a better priority', () => {
    const filtered: Candidate = { ...candidate('u1', 'rule-a', 1), verdict: 'filter' };
    expect(desiredOf([filtered, candidate('u1', 'rule-b', 9)])).toEqual([
      { licenseId: L, userId: 'u1', ruleId: 'rule-b', priority: 9 },
    ]);
    expect(desiredOf([filtered])).toEqual([]);
  });
});

describe('one seat per product (issue 14, duplicate seats)', () => {
  test('the licence whose rule has the better priority gives the seat, whatever it costs', () => {
    expect(desiredOf([ofP('u1', L, 50, 10), ofP('u1', L2, 10, 99)])).toEqual([
      { licenseId: L2, userId: 'u1', ruleId: `rule-${L2}`, priority: 10 },
    ]);
  });

  test('at equal priority the cheaper seat, and a licence without a cost comes last', () => {
    expect(desiredOf([ofP('u1', L, 10, 20), ofP('u1', L2, 10, 5)])[0]!.licenseId).toBe(L2);
    expect(desiredOf([ofP('u1', L, 10, null), ofP('u1', L2, 10, 500)])[0]!.licenseId).toBe(L2);
    expect(desiredOf([ofP('u1', L2, 10, 7), ofP('u1', L, 10, 7)])[0]!.licenseId).toBe(L);
  });

  test('an ineligible licence of the product does not take the seat from an eligible one', () => {
    const refused = { ...ofP('u1', L, 1, 1), verdict: 'country' as const };
    expect(desiredOf([refused, ofP('u1', L2, 50, 50)]).map((d) => d.licenseId)).toEqual([L2]);
  });

  test('a held duplicate goes once the seat that comes first is held, not before', () => {
    const cands = [ofP('u1', L, 10, null), ofP('u1', L2, 50, null)];
    const dup = seat('u1', { seat_id: 'dup', license_id: L2, rule_id: `rule-${L2}` });
    const waiting = seat('u1', { seat_id: 'first', state: 'waitlisted', rule_id: `rule-${L}` });
    const users = new Map([['u1', true]]);
    // The seat of L waits for room: the user keeps L2's meanwhile.
    const before = planSeats(input({ candidates: cands, live: [dup, waiting], users }));
    expect(before.release).toEqual([]);
    expect(before.pending).toEqual([]);
    // Seated in L: L2's seat is released as a duplicate, at once.
    const held = { ...waiting, state: 'active' as const };
    const after = planSeats(input({ candidates: cands, live: [dup, held], users }));
    expect(after.release).toEqual([{ seat: dup, reason: 'duplicate' }]);
  });

  test('a manual second seat of the product stays', () => {
    const cands = [ofP('u1', L, 10, null)];
    const manual = seat('u1', { license_id: L2, source: 'manual', rule_id: null });
    const rule = seat('u1', { seat_id: 'r', rule_id: `rule-${L}` });
    const plan = planSeats(
      input({ candidates: cands, live: [manual, rule], users: new Map([['u1', true]]) }),
    );
    expect(plan.release).toEqual([]);
  });
});

describe('the diff against the seats that exist', () => {
  test('the newly eligible are granted; a held seat stays as it is', () => {
    const plan = planSeats(
      input({
        candidates: [candidate('u1', 'rule-a'), candidate('u2', 'rule-a')],
        live: [seat('u1')],
        users: new Map([['u1', true]]),
      }),
    );
    expect(plan.grant.map((d) => d.userId)).toEqual(['u2']);
    expect([plan.release, plan.pending, plan.restore, plan.retag]).toEqual([[], [], [], []]);
  });

  test('a seat nobody should hold goes, with the reason why', () => {
    const reasons = (p: Partial<PlanInput>) =>
      planSeats(input({ live: [seat('u1')], ...p })).release.map((r) => r.reason);
    expect(reasons({ users: new Map() })).toEqual(['user_deleted']);
    expect(reasons({ users: new Map([['u1', false]]) })).toEqual(['deprovisioned']);
    expect(
      reasons({
        users: new Map([['u1', true]]),
        licences: [{ license_id: L, deleted_at: now, reclaim_grace_days: 0 }],
        inForce: new Set(),
      }),
    ).toEqual(['license_deleted']);
    expect(reasons({ users: new Map([['u1', true]]), inForce: new Set() })).toEqual([
      'license_expired',
    ]);
    expect(reasons({ users: new Map([['u1', true]]) })).toEqual(['no_longer_eligible']);
  });

  test('leaving a rule with a removal grace starts the grace; within it the seat stays; after it, it goes', () => {
    const users = new Map([['u1', true]]);
    const graced = seat('u1', { rule_id: 'rule-b' });
    expect(planSeats(input({ live: [graced], users })).pending).toEqual([
      {
        seat: graced,
        until: new Date(now.getTime() + 7 * DAY_MS),
        reason: 'no_longer_eligible',
        why: 'removed_from_group',
      },
    ]);
    const waiting = seat('u1', {
      rule_id: 'rule-b',
      state: 'pending_reclaim',
      reclaim_after: new Date(now.getTime() + DAY_MS),
    });
    const within = planSeats(input({ live: [waiting], users }));
    expect([within.release, within.pending]).toEqual([[], []]);
    const over = planSeats(
      input({ live: [waiting], users, now: new Date(now.getTime() + 2 * DAY_MS) }),
    );
    expect(over.release).toEqual([{ seat: waiting, reason: 'no_longer_eligible' }]);
  });

  test('a deprovisioned holder loses the seat at once, grace or not', () => {
    const plan = planSeats(
      input({ live: [seat('u1', { rule_id: 'rule-b' })], users: new Map([['u1', false]]) }),
    );
    expect(plan.release.map((r) => r.reason)).toEqual(['deprovisioned']);
    expect(plan.pending).toEqual([]);
  });

  test('eligible again within the grace: restored; through a better rule: the seat records it', () => {
    const waiting = seat('u1', { rule_id: 'rule-b', state: 'pending_reclaim', reclaim_after: now });
    const plan = planSeats(
      input({
        candidates: [candidate('u1', 'rule-a', 10)],
        live: [waiting],
        users: new Map([['u1', true]]),
      }),
    );
    expect(plan.restore).toEqual([waiting]);
    expect(plan.retag).toEqual([{ seat: waiting, ruleId: 'rule-a', priority: 10 }]);
    expect(plan.grant).toEqual([]);
  });

  test('manual seats are never touched by rules, only by the holder being deleted or deprovisioned', () => {
    const manual = seat('u1', { source: 'manual', rule_id: null });
    // Deprovisioned, with the licence's reclaim grace at 0 here: released at once.
    expect(planSeats(input({ live: [manual], users: new Map([['u1', false]]) })).release).toEqual([
      { seat: manual, reason: 'deprovisioned' },
    ]);
    expect(planSeats(input({ live: [manual], users: new Map() })).release).toEqual([
      { seat: manual, reason: 'user_deleted' },
    ]);
    // Eligible through a rule as well: the manual seat stands for it, nothing is granted.
    expect(
      planSeats(
        input({
          live: [manual],
          candidates: [candidate('u1', 'rule-a')],
          users: new Map([['u1', true]]),
        }),
      ).grant,
    ).toEqual([]);
  });

  test('the plan is a function of its inputs: the same inputs give the same plan', () => {
    const make = () =>
      input({
        candidates: [candidate('u2', 'rule-a'), candidate('u3', 'rule-b', 1)],
        live: [seat('u1'), seat('u3', { rule_id: 'rule-a' })],
        users: new Map([
          ['u1', true],
          ['u3', true],
        ]),
      });
    expect(planSeats(make())).toEqual(planSeats(make()));
  });
});

// Issue 14: deprovisioning over SCIM starts the licence's reclaim grace instead of
// releasing at once; reactivation inside it restores; an inactivity reclaim is undone by
// activity only.
describe('reclaim graces', () => {
  const graced = (days: number) => ({
    licences: [{ license_id: L, deleted_at: null, reclaim_grace_days: days }],
  });
  const later = (days: number) => new Date(now.getTime() + days * DAY_MS);

  test('a deprovisioned holder keeps the seat pending reclaim for the licence grace', () => {
    const plan = planSeats(
      input({ ...graced(7), live: [seat('u1')], users: new Map([['u1', false]]) }),
    );
    expect(plan.release).toEqual([]);
    expect(plan.pending).toEqual([
      { seat: seat('u1'), until: later(7), reason: 'deprovisioned', why: 'deprovisioned' },
    ]);
  });

  test('with a grace of 0 a deprovisioned holder is released at once', () => {
    const plan = planSeats(
      input({ ...graced(0), live: [seat('u1')], users: new Map([['u1', false]]) }),
    );
    expect(plan.release.map((r) => r.reason)).toEqual(['deprovisioned']);
    expect(plan.pending).toEqual([]);
  });

  test('inside the grace nothing happens; reactivation restores; after it the seat goes', () => {
    const pending = seat('u1', {
      state: 'pending_reclaim',
      reclaim_after: later(3),
      reclaim_reason: 'deprovisioned',
    });
    const still = planSeats(
      input({ ...graced(7), live: [pending], users: new Map([['u1', false]]) }),
    );
    expect([still.release, still.pending, still.restore]).toEqual([[], [], []]);
    const back = planSeats(
      input({
        ...graced(7),
        live: [pending],
        users: new Map([['u1', true]]),
        candidates: [candidate('u1', 'rule-a')],
      }),
    );
    expect(back.restore).toEqual([pending]);
    const over = planSeats(
      input({ ...graced(7), now: later(4), live: [pending], users: new Map([['u1', false]]) }),
    );
    expect(over.release).toEqual([{ seat: pending, reason: 'deprovisioned' }]);
  });

  test('a manual seat: deprovisioning starts the grace, reactivation restores, deletion releases', () => {
    const manual = seat('u1', { source: 'manual', rule_id: null });
    const off = planSeats(input({ ...graced(5), live: [manual], users: new Map([['u1', false]]) }));
    expect(off.pending.map((p) => p.why)).toEqual(['deprovisioned']);
    const inGrace = {
      ...manual,
      state: 'pending_reclaim' as const,
      reclaim_after: later(5),
      reclaim_reason: 'deprovisioned' as const,
    };
    expect(
      planSeats(input({ ...graced(5), live: [inGrace], users: new Map([['u1', true]]) })).restore,
    ).toEqual([inGrace]);
    expect(planSeats(input({ ...graced(5), live: [inGrace], users: new Map() })).release).toEqual([
      { seat: inGrace, reason: 'user_deleted' },
    ]);
  });

  test('leaving the group starts the rule grace, recorded as removed_from_group', () => {
    const plan = planSeats(
      input({ live: [seat('u1', { rule_id: 'rule-b' })], users: new Map([['u1', true]]) }),
    );
    expect(plan.pending.map((p) => [p.reason, p.why])).toEqual([
      ['no_longer_eligible', 'removed_from_group'],
    ]);
  });

  test('an inactivity reclaim is not undone by eligibility: it waits, then goes', () => {
    const idle = seat('u1', {
      state: 'pending_reclaim',
      reclaim_after: later(2),
      reclaim_reason: 'inactive',
    });
    const eligible = { users: new Map([['u1', true]]), candidates: [candidate('u1', 'rule-a')] };
    const waiting = planSeats(input({ ...eligible, live: [idle] }));
    expect([waiting.restore, waiting.release]).toEqual([[], []]);
    const due = planSeats(input({ ...eligible, now: later(2), live: [idle] }));
    expect(due.release).toEqual([{ seat: idle, reason: 'inactive' }]);
    expect(due.grant).toEqual([]);
  });
});
