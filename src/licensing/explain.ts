// Explain: for a user, each seat and why they hold it (which rule, through which group,
// or manual and by whom), and for each licence a rule would give them but doesn't, why
// not: pool full and their place in line, deprovisioned, licence expired, restricted
// department or country, or the rule's filter.
import type { Knex } from 'knex';
import { filterToSql } from '../directory/index.js';
import { notFound } from '../shared/errors.js';
import type { LicensingContext } from './catalog.js';
import { COUNTRY_SQL, DEPARTMENT_SQL } from './desired.js';
import { capacityOf } from './pool.js';
import type { UserSeats } from './records.js';
import { termAt, termOfRow } from './term.js';
import { isUuid } from '../shared/ids.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = any;

/** Groups the user is in, directly or through nested groups, each with the direct group it came through. */
async function groupsAbove(
  db: Knex,
  tenantId: string,
  userId: string,
): Promise<Map<string, string>> {
  const { rows } = await db.raw(
    `WITH RECURSIVE up(group_id, via) AS (
       SELECT group_id, group_id FROM directory_memberships WHERE tenant_id = ? AND member_id = ?
       UNION
       SELECT m.group_id, up.via FROM up JOIN directory_memberships m
         ON m.tenant_id = ? AND m.member_id = up.group_id AND m.member_type = 'Group'
     ) SELECT group_id, min(via::text) AS via FROM up GROUP BY group_id`,
    [tenantId, userId, tenantId],
  );
  return new Map(rows.map((r: { group_id: string; via: string }) => [r.group_id, r.via]));
}

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

async function ruleReason(
  db: Knex,
  tenantId: string,
  user: Row,
  rule: Row,
  licence: Row,
  now: Date,
): Promise<string | null> {
  if (!user.active) return 'deprovisioned: the user is inactive in the directory';
  const notInForce = termReason(licence, now);
  if (notInForce) return notInForce;
  const checks = await db.raw(
    `SELECT ${DEPARTMENT_SQL} AS department, ${COUNTRY_SQL} AS country FROM directory_users u WHERE u.tenant_id = ? AND u.user_id = ?`,
    [tenantId, user.user_id],
  );
  const { department, country } = checks.rows[0] as { department: string | null; country: string };
  const departments: string[] = licence.restrictions?.departments ?? [];
  const countries: string[] = licence.restrictions?.countries ?? [];
  if (departments.length && !departments.includes(department ?? ''))
    return `restricted: department ${department ?? '(none)'} is not one of ${departments.join(', ')}`;
  if (countries.length && !countries.map((c) => c.toUpperCase()).includes(country.toUpperCase()))
    return `restricted: country ${country || '(none)'} is not one of ${countries.join(', ')}`;
  if (rule.filter) {
    const f = filterToSql(rule.filter, 'User', 'u');
    const { rows } = await db.raw(
      `SELECT 1 FROM directory_users u WHERE u.tenant_id = ? AND u.user_id = ? AND (${f.sql})`,
      [tenantId, user.user_id, ...(f.bindings as Knex.RawBinding[])],
    );
    if (rows.length === 0) return `the rule's filter does not match: ${rule.filter}`;
  }
  return null;
}

export async function explainUser(ctx: LicensingContext, userId: string): Promise<UserSeats> {
  if (!isUuid(userId)) throw notFound('user');
  const db = ctx.knex;
  const user = await db('directory_users')
    .where({ tenant_id: ctx.tenantId, user_id: userId })
    .first();
  if (!user) throw notFound('user');
  const now = ctx.clock.now();
  const above = await groupsAbove(db, ctx.tenantId, userId);
  const groupNames = new Map<string, string>(
    (
      await db('directory_groups')
        .where({ tenant_id: ctx.tenantId })
        .whereIn('group_id', [...above.keys(), ...above.values()])
        .select('group_id', 'display_name')
    ).map((g: Row) => [g.group_id, g.display_name]),
  );
  const licences = new Map<string, Row>(
    (await db('licenses').where({ tenant_id: ctx.tenantId }).whereNull('deleted_at')).map(
      (l: Row) => [l.license_id, l],
    ),
  );
  const rules: Row[] = await db('license_rules')
    .where({ tenant_id: ctx.tenantId })
    .orderBy(['priority', 'rule_id']);
  const seats: Row[] = await db('seats')
    .where({ tenant_id: ctx.tenantId, user_id: userId })
    .whereNot('state', 'released');

  const through = (groupId: string) => {
    const via = above.get(groupId);
    const name = groupNames.get(groupId) ?? groupId;
    return via && via !== groupId
      ? `group '${name}' (through '${groupNames.get(via) ?? via}')`
      : `group '${name}'`;
  };

  const explained = [];
  for (const s of seats) {
    const licence = licences.get(s.license_id);
    const rule = rules.find((r) => r.rule_id === s.rule_id);
    let why: string;
    let position: number | null = null;
    if (s.source === 'manual') why = `assigned manually by ${s.assigned_by ?? 'an admin'}`;
    else
      why = rule
        ? `via rule '${rule.name ?? rule.rule_id}' because the user is in ${through(rule.group_id)}`
        : 'via a rule that no longer exists';
    const notInForce = licence ? termReason(licence, now) : null;
    if (s.state === 'waitlisted' && notInForce) {
      // The fill seats nobody from the line of a licence that is not in force.
      why += `; waiting because ${notInForce}`;
    } else if (s.state === 'waitlisted') {
      const [ahead] = await db('seats')
        .where({ tenant_id: ctx.tenantId, license_id: s.license_id, state: 'waitlisted' })
        .whereRaw('(eligible_since, queue_priority, seat_id) < (?, ?, ?)', [
          s.eligible_since,
          s.queue_priority,
          s.seat_id,
        ])
        .count({ n: '*' });
      position = Number(ahead?.n ?? 0) + 1;
      const used = await db('seats')
        .where({ tenant_id: ctx.tenantId, license_id: s.license_id })
        .whereIn('state', ['active', 'pending_reclaim'])
        .count({ n: '*' });
      why += `; the pool is full (${Number(used[0]!.n)} of ${licence ? capacityOf(licence) : '?'} in use): number ${position} in line`;
    }
    if (s.state === 'pending_reclaim')
      why += `; no longer eligible, reclaimed after ${s.reclaim_after?.toISOString()} unless eligible again`;
    if (s.state !== 'waitlisted' && licence)
      why += notInForce ? `; ${notInForce}` : graceNote(licence, now);
    explained.push({
      seatId: s.seat_id,
      licenseId: s.license_id,
      license: licence?.name ?? null,
      state: s.state,
      source: s.source,
      ruleId: s.rule_id,
      position,
      explanation: why,
    });
  }

  const notSeated = [];
  const held = new Set(seats.map((s) => s.license_id));
  for (const rule of rules) {
    if (!above.has(rule.group_id) || held.has(rule.license_id)) continue;
    const licence = licences.get(rule.license_id);
    if (!licence) continue;
    const reason =
      (await ruleReason(db, ctx.tenantId, user, rule, licence, now)) ??
      'eligible: the next reconcile grants it';
    notSeated.push({
      licenseId: rule.license_id,
      license: licence.name,
      ruleId: rule.rule_id,
      group: through(rule.group_id),
      reason,
    });
    held.add(rule.license_id);
  }
  return {
    user: { id: user.user_id, userName: user.user_name, active: user.active },
    seats: explained,
    notSeated,
  };
}
