// Explain: for a user, each seat and why they hold it (which rule, through which group,
// or manual and by whom), and for each licence a rule would give them but doesn't, why
// not: pool full and their place in line, deprovisioned, licence not in force,
// restricted department or country, or the rule's filter.
//
// Explain decides nothing itself: who is eligible through which rule, and why not, is
// eligibility.ts's verdict (the same query and the same choice of rule the reconciler's
// plan uses); the room in a pool is capacity.ts's, over seat-counts.ts's count; the
// place in line is pool.ts's order. This module only puts them into words.
import type { Knex } from 'knex';
import { findUser, groupNames, groupsOfUser } from '../directory/index.js';
import { notFound } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';
import { roomIn } from './capacity.js';
import { seatLastActivity } from './activity.js';
import { inTenant, type LicensingContext } from './context.js';
import { candidates, decide, licencesInForce, type Candidate } from './eligibility.js';
import { placeInLine } from './pool.js';
import type { UserSeats } from './records.js';
import { countsOf, seatCounts } from './seat-counts.js';
import { termAt, termOfRow } from './term.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = any;

const day = (d: Date) => d.toISOString().slice(0, 10);

/** Why the licence's term keeps seats from being held now, or null when it is in force. */
function termReason(licence: Row, now: Date): string | null {
  const t = termAt(termOfRow(licence), now);
  if (t.phase === 'not_started')
    return `the licence has not started yet (it starts on ${day(t.currentStartsAt!)})`;
  if (t.phase === 'expired')
    return `the licence has expired (it ended on ${day(t.currentEndsAt!)}${t.graceEndsAt ? `; its grace period ended on ${day(t.graceEndsAt)}` : ''})`;
  return null;
}

/** A note on a held seat whose licence has ended but is still usable. */
function graceNote(licence: Row, now: Date): string {
  const t = termAt(termOfRow(licence), now);
  return t.phase === 'in_grace'
    ? `; the licence ended on ${day(t.currentEndsAt!)} and is in its grace period until ${day(t.graceEndsAt!)}`
    : '';
}

/** What explain reads, for one user. */
interface Facts {
  db: Knex;
  tenantId: string;
  now: Date;
  user: Row;
  licences: Map<string, Row>;
  rules: Map<string, Row>;
  /** Eligibility candidates of this user, by rule. */
  byRule: Map<string, Candidate>;
  /** The deciding candidate per licence (eligibility's decide). */
  byLicence: Map<string, Candidate>;
  /** The user's groups (nested included), each with the direct group it is reached through. */
  above: Map<string, string>;
  groupNames: Map<string, string>;
}

async function facts(ctx: LicensingContext, db: Knex, user: Row): Promise<Facts> {
  const now = ctx.clock.now();
  const licences = new Map<string, Row>(
    (await db('licenses').where({ tenant_id: ctx.tenantId }).whereNull('deleted_at')).map(
      (l: Row) => [l.license_id, l],
    ),
  );
  const ruleRows: Row[] = await db('license_rules')
    .where({ tenant_id: ctx.tenantId })
    .orderBy(['priority', 'rule_id']);
  const all = await candidates(db, ctx.tenantId, {
    rules: ruleRows,
    inForce: licencesInForce(licences.values(), now),
    userIds: [user.user_id],
    explain: true,
  });
  const above = await groupsOfUser(db, ctx.tenantId, user.user_id);
  const named = [...above.keys(), ...above.values(), ...ruleRows.map((r) => r.group_id)];
  const names = await groupNames(db, ctx.tenantId, named);
  return {
    db,
    tenantId: ctx.tenantId,
    now,
    user,
    licences,
    rules: new Map(ruleRows.map((r) => [r.rule_id, r])),
    byRule: new Map(all.map((c) => [c.ruleId, c])),
    byLicence: new Map(decide(all).map((c) => [c.licenseId, c])),
    above,
    groupNames: names,
  };
}

const groupName = (f: Facts, id: string) => `group '${f.groupNames.get(id) ?? id}'`;

/** The rule's group, and the group of the user's it is reached through. */
function through(f: Facts, groupId: string): string {
  const via = f.above.get(groupId);
  return via && via !== groupId
    ? `${groupName(f, groupId)} (through '${f.groupNames.get(via) ?? via}')`
    : groupName(f, groupId);
}

/** Why a candidate is not eligible, in words (its verdict). */
function whyNot(f: Facts, c: Candidate): string {
  const licence = f.licences.get(c.licenseId);
  switch (c.verdict) {
    case 'eligible':
      return 'eligible: the next reconcile grants it';
    case 'deprovisioned':
      return 'deprovisioned: the user is inactive in the directory';
    case 'not_in_force':
      return (licence && termReason(licence, f.now)) ?? 'the licence is not in force';
    case 'department': {
      const departments: string[] = licence?.restrictions?.departments ?? [];
      return `restricted: department ${c.department ?? '(none)'} is not one of ${departments.join(', ')}`;
    }
    case 'country': {
      const countries: string[] = licence?.restrictions?.countries ?? [];
      return `restricted: country ${c.country || '(none)'} is not one of ${countries.join(', ')}`;
    }
    case 'filter':
      return `the rule's filter does not match: ${f.rules.get(c.ruleId)?.filter}`;
    case 'inactive':
      return 'the seat was reclaimed for inactivity: any activity for the product makes the user eligible again';
    case 'duplicate': {
      const other = c.seatFrom ? f.licences.get(c.seatFrom) : undefined;
      return `duplicate: the user holds this product through licence '${other?.name ?? c.seatFrom}', which comes first (rule priority, then seat cost)`;
    }
  }
}

const dayOr = (d: Date | null | undefined) => (d ? day(d) : 'never');

/** Why a seat in an inactivity or deprovisioning grace is going, and what stops it. */
function reclaimNote(seat: Row): string {
  const on = dayOr(seat.reclaim_after);
  return seat.reclaim_reason === 'inactive'
    ? `inactive since ${seat.last_active_at ? dayOr(seat.last_active_at) : `the seat was granted (${dayOr(seat.granted_at)})`}; reclaim on ${on} unless used`
    : `the user is deprovisioned; reclaim on ${on} unless reactivated`;
}

/** How a rule seat came to be, and, for one in its removal grace, why it is going. */
function ruleSeatWhy(f: Facts, seat: Row): string {
  const rule = f.rules.get(seat.rule_id);
  const named = rule
    ? `via rule '${rule.name ?? rule.rule_id}'`
    : 'via a rule that no longer exists';
  if (seat.state !== 'pending_reclaim')
    return rule ? `${named} because the user is in ${through(f, rule.group_id)}` : named;
  if (seat.reclaim_reason === 'inactive' || seat.reclaim_reason === 'deprovisioned')
    return `${named}; ${reclaimNote(seat)}`;
  const verdict = rule && f.byLicence.get(rule.license_id);
  if (verdict?.verdict === 'eligible')
    return `${named}; eligible again: the next reconcile restores it`;
  const why = !rule
    ? 'no longer eligible'
    : !f.byRule.has(rule.rule_id)
      ? `no longer eligible: the user was removed from ${groupName(f, rule.group_id)} and is no longer in it`
      : `no longer eligible: ${whyNot(f, f.byRule.get(rule.rule_id)!)}`;
  return `${named}; ${why}, reclaimed after ${seat.reclaim_after?.toISOString()} unless eligible again`;
}

/** Why a waiting seat waits: the licence is not in force, or the pool has no free seat. */
async function waitingWhy(f: Facts, seat: Row, licence: Row | undefined) {
  const notInForce = licence ? termReason(licence, f.now) : null;
  // The fill seats nobody from the line of a licence that is not in force.
  if (notInForce) return { why: `; waiting because ${notInForce}`, position: null };
  const position = await placeInLine(f.db, f.tenantId, seat);
  if (!licence) return { why: `; number ${position} in line`, position };
  const { occupied } = countsOf(
    await seatCounts(f.db, f.tenantId, [seat.license_id]),
    seat.license_id,
  );
  const room = roomIn(licence, occupied);
  const of = room.purchased ?? 'unlimited';
  return {
    why:
      room.free > 0
        ? `; a seat is free (${occupied} of ${of} in use): number ${position} in line, seated by the next reconcile`
        : `; the pool is full (${occupied} of ${of} in use): number ${position} in line`,
    position,
  };
}

async function explainSeat(f: Facts, s: Row) {
  const licence = f.licences.get(s.license_id);
  let why =
    s.source === 'manual'
      ? `assigned manually by ${s.assigned_by ?? 'an admin'}${s.state === 'pending_reclaim' ? `; ${reclaimNote(s)}` : ''}`
      : ruleSeatWhy(f, s);
  let position: number | null = null;
  if (s.state === 'waitlisted') {
    const waiting = await waitingWhy(f, s, licence);
    why += waiting.why;
    position = waiting.position;
  } else if (licence) {
    const notInForce = termReason(licence, f.now);
    why += notInForce ? `; ${notInForce}` : graceNote(licence, f.now);
  }
  return {
    seatId: s.seat_id,
    licenseId: s.license_id,
    license: licence?.name ?? null,
    state: s.state,
    source: s.source,
    ruleId: s.rule_id,
    position,
    explanation: why,
  };
}

/** Licences a rule reaches the user for but no seat is held or awaited: why not. */
function notSeated(f: Facts, held: Set<string>) {
  const out = [];
  // In the deciding rules' order: priority, then rule id.
  for (const rule of f.rules.values()) {
    const decision = f.byLicence.get(rule.license_id);
    if (!decision || decision.ruleId !== rule.rule_id || held.has(rule.license_id)) continue;
    const licence = f.licences.get(rule.license_id);
    if (!licence) continue;
    out.push({
      licenseId: rule.license_id,
      license: licence.name,
      ruleId: rule.rule_id,
      group: through(f, rule.group_id),
      reason: whyNot(f, decision),
    });
  }
  return out;
}

export async function explainUser(ctx: LicensingContext, userId: string): Promise<UserSeats> {
  if (!isUuid(userId)) throw notFound('user');
  const found = await inTenant(ctx, async (trx) => {
    const user = await findUser(trx, ctx.tenantId, userId);
    if (!user) return undefined;
    const f = await facts(ctx, trx, user);
    const seats: Row[] = await trx('seats as s')
      .where({ 's.tenant_id': ctx.tenantId, 's.user_id': userId })
      .whereNot('s.state', 'released')
      .select('s.*', trx.raw(`${seatLastActivity} AS last_active_at`));
    const explained = [];
    for (const s of seats) explained.push(await explainSeat(f, s));
    return { user, f, seats, explained };
  });
  if (!found) throw notFound('user');
  const { user, f, seats, explained } = found;
  return {
    user: { id: user.user_id, userName: user.user_name, active: user.active },
    seats: explained,
    notSeated: notSeated(f, new Set(seats.map((s) => s.license_id))),
  };
}
