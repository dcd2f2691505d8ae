// Eligibility: who may hold a seat of which licence, through which rule, and if not, why
// not. The one definition: the reconciler's plan takes its desired seats from it (and a
// dry-run is that reconcile rolled back), explain reads its verdicts, and the CSV import
// asks it whether a licence seats anyone now.
//
// A user is eligible for licence L through rule R when, checked in this order (the first
// that fails is the reason given):
//   1. they are in R's group, directly or through nested groups (the directory's walk): users who
//      are not are no candidates at all;
//   2. they are active in the directory ('deprovisioned' otherwise);
//   3. L is in force: started, not past its end plus grace, not deleted (term.ts;
//      'not_in_force');
//   4. L's restrictions admit their department ('department') and country ('country');
//   5. R's SCIM filter matches them ('filter');
//   6. no seat of L was reclaimed from them for inactivity since their last activity for
//      L's product ('inactive', issue 14): the reclaim would otherwise be undone by the
//      next reconcile; any activity makes them eligible again.
// Of the rules that reach a user for one licence, the best eligible one decides (lowest
// priority number, then lowest rule id); when none is eligible, the best of the rest
// says why not (decide, below).
//   7. of the licences of one product a user is eligible for, they hold one seat
//      ('duplicate' for the others, issue 14): the licence whose deciding rule has the
//      best priority, then the cheaper seat (a licence without a cost comes last), then
//      the lowest licence id. Costs are compared as stated, whatever their currency.
//
// Why the checks are SQL: a rule's filter is a SCIM filter, which src/scim/filter
// translates to SQL; deciding in TypeScript would need a second evaluator of SCIM filters
// (a second definition, free to drift) and every candidate's attributes loaded (100,000
// users on a full reconcile). So each check is one SQL predicate, written once in
// `checks` below, used two ways from that one list: ANDed as the WHERE of the
// reconciler's query (only eligible rows come back, as fast as a plain join), and as a
// CASE naming the first failing check, which explain reads. A row passes the WHERE
// exactly when the CASE says 'eligible' (both treat NULL as failing).
import type { Knex } from 'knex';
import {
  filterToSql,
  lastActivitySql,
  membershipsRelation,
  nestedGroups,
  userAttributeSql,
  usersRelation,
  type Sql,
} from '../directory/index.js';
import { licenseInForce, type LicenseTermRow } from './term.js';

export interface RuleRow {
  rule_id: string;
  license_id: string;
  group_id: string;
  filter: string | null;
  priority: number;
  removal_grace_days: number;
}

export const VERDICTS = [
  'eligible',
  'deprovisioned',
  'not_in_force',
  'department',
  'country',
  'filter',
  'inactive',
  'duplicate',
] as const;
export type Verdict = (typeof VERDICTS)[number];

/** One rule reaching one user for its licence, and the verdict of its checks. */
export interface Candidate {
  licenseId: string;
  userId: string;
  ruleId: string;
  priority: number;
  verdict: Verdict;
  /** The licence's product (check 7). */
  productId: string;
  /** A seat's yearly cost on the licence, null when it states none (check 7's tie-break). */
  seatCost: number | null;
  /** With verdict 'duplicate': the licence of the same product that gives the seat. */
  seatFrom?: string;
  /** With `explain`: the user's department and country, as the restrictions read them. */
  department?: string | null;
  country?: string;
}

/** The candidate user's attributes (the directory's user relation, aliased `u`). */
const U = userAttributeSql('u');
/** The user's department and country, as restrictions read them. */
export const DEPARTMENT_SQL = U.department;
export const COUNTRY_SQL = U.country;

/**
 * Check 4, the licence's restrictions, over a user `u` and a licence `l`: an empty or
 * absent list restricts nothing. Compliance asks the same of manual seats.
 */
export const RESTRICTIONS = {
  department: `(coalesce(jsonb_array_length(l.restrictions -> 'departments'), 0) = 0
             OR ${DEPARTMENT_SQL} IN (SELECT jsonb_array_elements_text(l.restrictions -> 'departments')))`,
  country: `(coalesce(jsonb_array_length(l.restrictions -> 'countries'), 0) = 0
             OR upper(${COUNTRY_SQL}) IN (SELECT upper(jsonb_array_elements_text(l.restrictions -> 'countries'))))`,
};

/** A seat's yearly cost on licence `l`: its unit cost, else the pool's annual cost shared. */
const SEAT_COST_SQL = `coalesce((l.cost ->> 'unitCost')::numeric,
  (l.cost ->> 'annualCost')::numeric / nullif(l.quantity, 0))`;

/** A licence's term lets its seats be held now (check 3): not deleted, and in force. */
export const licenceInForce = (
  l: LicenseTermRow & { deleted_at: Date | null },
  now: Date,
): boolean => licenseInForce(l, now);

/** The ids of the licences in force now, of those given (check 3, for the SQL). */
export function licencesInForce(
  licences: Iterable<LicenseTermRow & { deleted_at: Date | null; license_id: string }>,
  now: Date,
): Set<string> {
  const out = new Set<string>();
  for (const l of licences) if (licenceInForce(l, now)) out.add(l.license_id);
  return out;
}

/** Checks 2 to 5 over a candidate `c`, its user `u` and its licence `l`, in order. */
function checks(rules: RuleRow[], inForce: ReadonlySet<string>) {
  const filters: string[] = [];
  const filterBindings: Knex.RawBinding[] = [];
  // Each rule's filter becomes its own clause; the rule ids and filters come from our table.
  for (const r of rules) {
    if (!r.filter) {
      filters.push('c.rule_id = ?');
      filterBindings.push(r.rule_id);
      continue;
    }
    const f = filterToSql(r.filter, 'User', 'u');
    filters.push(`(c.rule_id = ? AND (${f.sql}))`);
    filterBindings.push(r.rule_id, ...f.bindings);
  }
  const list: Array<{ verdict: Exclude<Verdict, 'eligible'>; passes: Sql }> = [
    { verdict: 'deprovisioned', passes: { sql: U.active, bindings: [] } },
    {
      verdict: 'not_in_force',
      passes: { sql: 'c.license_id = ANY(?::uuid[])', bindings: [[...inForce]] },
    },
    { verdict: 'department', passes: { sql: RESTRICTIONS.department, bindings: [] } },
    { verdict: 'country', passes: { sql: RESTRICTIONS.country, bindings: [] } },
    { verdict: 'filter', passes: { sql: `(${filters.join(' OR ')})`, bindings: filterBindings } },
    {
      verdict: 'inactive',
      passes: {
        sql: `NOT EXISTS (SELECT 1 FROM seats s
                WHERE s.tenant_id = l.tenant_id AND s.license_id = c.license_id
                  AND s.user_id = c.user_id AND s.release_reason = 'inactive'
                  AND s.released_at > coalesce(${lastActivitySql({ tenant: 'l.tenant_id', user: 'c.user_id', product: 'l.product_id' })}, '-infinity'))`,
        bindings: [],
      },
    },
  ];
  return list;
}

export interface EligibilityQuery {
  rules: RuleRow[];
  /** The licences in force now (licencesInForce): rules of the others make nobody eligible. */
  inForce: ReadonlySet<string>;
  /** The users to decide for; null: everyone. */
  userIds: string[] | null;
  /**
   * false (the reconciler): only eligible candidates, the checks as a WHERE.
   * true (explain): every candidate with its verdict, department and country.
   */
  explain: boolean;
}

/** Every (rule, user) candidate of these rules, with its verdict; in licence, user order. */
export async function candidates(
  db: Knex,
  tenantId: string,
  q: EligibilityQuery,
): Promise<Candidate[]> {
  // A rule of a licence not in force fails check 3 for everyone: without `explain`, skip it.
  const rules = q.explain ? q.rules : q.rules.filter((r) => q.inForce.has(r.license_id));
  if (rules.length === 0 || (q.userIds !== null && q.userIds.length === 0)) return [];
  const list = checks(rules, q.inForce);
  const tree = nestedGroups('tree', 'down', tenantId, {
    sql: 'SELECT x, x FROM unnest(?::uuid[]) AS x',
    bindings: [[...new Set(rules.map((r) => r.group_id))]],
  });
  const verdict: Sql = q.explain
    ? {
        sql: `CASE ${list.map((c) => `WHEN (${c.passes.sql}) IS NOT TRUE THEN '${c.verdict}'`).join(' ')} ELSE 'eligible' END AS verdict,
              ${DEPARTMENT_SQL} AS department, ${COUNTRY_SQL} AS country`,
        bindings: list.flatMap((c) => c.passes.bindings),
      }
    : { sql: `'eligible' AS verdict`, bindings: [] };
  const where: Sql = q.explain
    ? { sql: '', bindings: [] }
    : {
        sql: `WHERE ${list.map((c) => `(${c.passes.sql})`).join(' AND ')}`,
        bindings: list.flatMap((c) => c.passes.bindings),
      };
  const members = membershipsRelation(tenantId, 'User');
  const users = usersRelation(tenantId);
  const { rows } = await db.raw(
    `WITH RECURSIVE ${tree.sql},
     c AS (
       SELECT DISTINCT r.rule_id, r.license_id, r.priority, m.member_id AS user_id
         FROM license_rules r
         JOIN tree ON tree.root = r.group_id
         JOIN ${members.sql} m ON m.group_id = tree.group_id
        WHERE r.tenant_id = ? AND r.rule_id = ANY(?::uuid[])
          AND (?::uuid[] IS NULL OR m.member_id = ANY(?::uuid[]))
     )
     SELECT c.license_id, c.user_id, c.rule_id, c.priority, ${verdict.sql},
            l.product_id, ${SEAT_COST_SQL} AS seat_cost
       FROM c
       JOIN ${users.sql} u ON u.user_id = c.user_id
       JOIN licenses l ON l.tenant_id = ? AND l.license_id = c.license_id
      ${where.sql}
      ORDER BY c.license_id, c.user_id`,
    [
      ...tree.bindings,
      ...members.bindings,
      tenantId,
      rules.map((r) => r.rule_id),
      q.userIds,
      q.userIds,
      ...verdict.bindings,
      ...users.bindings,
      tenantId,
      ...where.bindings,
    ],
  );
  return rows.map(
    (r: {
      license_id: string;
      user_id: string;
      rule_id: string;
      priority: number;
      verdict: Verdict;
      product_id: string;
      seat_cost: string | null;
      department?: string | null;
      country?: string;
    }) => ({
      licenseId: r.license_id,
      userId: r.user_id,
      ruleId: r.rule_id,
      priority: r.priority,
      verdict: r.verdict,
      productId: r.product_id,
      seatCost: r.seat_cost === null ? null : Number(r.seat_cost),
      ...(q.explain ? { department: r.department ?? null, country: r.country ?? '' } : {}),
    }),
  );
}

/** Whether candidate a decides before b for the same licence and user. */
function before(a: Candidate, b: Candidate): boolean {
  const ea = a.verdict === 'eligible';
  if (ea !== (b.verdict === 'eligible')) return ea;
  if (a.priority !== b.priority) return a.priority < b.priority;
  return a.ruleId < b.ruleId;
}

/** Whether eligible decision a gives the seat of its product before b (check 7). */
function seatsFirst(a: Candidate, b: Candidate): boolean {
  if (a.priority !== b.priority) return a.priority < b.priority;
  if (a.seatCost !== b.seatCost) {
    if (a.seatCost === null) return false;
    if (b.seatCost === null) return true;
    return a.seatCost < b.seatCost;
  }
  return a.licenseId < b.licenseId;
}

/**
 * One decision per licence and user: the best eligible rule, or, when none is, the best
 * of the rest (its verdict is why not). Then check 7: of one product's licences a user
 * is eligible for, one gives the seat and the others are 'duplicate' (naming it). In
 * the candidates' order of first appearance.
 */
export function decide(all: Iterable<Candidate>): Candidate[] {
  const best = new Map<string, Candidate>();
  for (const c of all) {
    const key = `${c.licenseId}:${c.userId}`;
    const current = best.get(key);
    if (!current || before(c, current)) best.set(key, c);
  }
  const seat = new Map<string, Candidate>();
  for (const d of best.values()) {
    if (d.verdict !== 'eligible') continue;
    const key = `${d.productId}:${d.userId}`;
    const current = seat.get(key);
    if (!current || seatsFirst(d, current)) seat.set(key, d);
  }
  return [...best.values()].map((d) => {
    if (d.verdict !== 'eligible') return d;
    const chosen = seat.get(`${d.productId}:${d.userId}`)!;
    return chosen === d ? d : { ...d, verdict: 'duplicate', seatFrom: chosen.licenseId };
  });
}

/** Decisions for these users (null: everyone) under these rules. */
export async function eligibility(
  db: Knex,
  tenantId: string,
  q: EligibilityQuery,
): Promise<Candidate[]> {
  return decide(await candidates(db, tenantId, q));
}
