// The reconciler: desired seats against the seats that exist, applied as one diff inside
// the caller's transaction, with an audit event for every seat change. This module takes
// the locks and loads the inputs; the plan (plan.ts) is pure: who is eligible for what
// (eligibility.ts) and the diff; apply.ts writes it; pool.ts seats the waitlist.
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
import { type Actor, appendAuditEvents, prepareAuditEvents } from '../audit/index.js';
import { insertMany } from '../db/insert-many.js';
import { activeStates, membershipsRelation, nestedGroups, type Sql } from '../directory/index.js';
import type { Clock } from '../shared/clock.js';
import { applySeatUpdates, newSeatRows, seatChange, seatEvent } from './apply.js';
import { recordThresholdCrossings } from './compliance.js';
import { candidates, licencesInForce, type RuleRow } from './eligibility.js';
import { planSeats, type PlanInput, type SeatPlan, type SeatRow } from './plan.js';
import { fill, type PoolLicense } from './pool.js';
import { SEAT_INSERT_COLUMNS, type SeatChange, type SeatState } from './records.js';
import { LICENSE_TERM_COLUMNS, type LicenseTermRow } from './term.js';
import { publishSeatEvents } from './seat-events.js';

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
  reclaim_grace_days: number;
}

/** The licences a reconcile of `scope` locks (read, not locked; see lockLicences). */
export async function licencesInPlay(
  trx: Knex.Transaction,
  tenantId: string,
  scope: ReconcileScope,
): Promise<string[]> {
  if (scope.all) return trx('licenses').where({ tenant_id: tenantId }).pluck('license_id');
  const users = scope.userIds ?? [];
  if (!scope.licenseIds && users.length === 0) return [];
  const reached = scope.licenseIds
    ? { sql: 'reached(license_id) AS (SELECT unnest(?::uuid[]))', bindings: [scope.licenseIds] }
    : reachedLicences(tenantId, users);
  // With the other licences of their products: which of them gives a user the product's
  // one seat is decided among all of them (eligibility's check 7). In the same statement,
  // so a directory write still finds its licences in one round trip.
  const { rows } = await trx.raw(
    `WITH RECURSIVE ${reached.sql}
     SELECT DISTINCT o.license_id FROM reached
       JOIN licenses l ON l.tenant_id = ? AND l.license_id = reached.license_id
       JOIN licenses o ON o.tenant_id = l.tenant_id AND o.product_id = l.product_id`,
    [...reached.bindings, tenantId],
  );
  return rows.map((r: { license_id: string }) => r.license_id);
}

/**
 * CTEs ending in `reached(license_id)`: the licences whose rules reach these users, or
 * where they hold or wait for a seat.
 */
function reachedLicences(tenantId: string, users: string[]): Sql {
  // Licences whose rules reach these users through their groups (nested included), plus
  // licences where they hold or wait for a seat (covers memberships just removed).
  // Only these are locked, so directory writes for unrelated users don't queue up. This
  // runs on every directory write, in one round trip; the ids are joined (unnest) so the
  // (tenant_id, member_id) index serves both columns.
  const memberships = membershipsRelation(tenantId);
  const up = nestedGroups('up', 'up', tenantId, {
    // The EXISTS is evaluated once: a tenant without rules skips the membership walk.
    sql: `SELECT NULL::uuid, m.group_id FROM unnest(?::uuid[]) AS x(id)
            JOIN ${memberships.sql} m ON m.member_id = x.id
           WHERE EXISTS (SELECT 1 FROM license_rules WHERE tenant_id = ?)`,
    bindings: [users, ...memberships.bindings, tenantId],
  });
  return {
    sql: `${up.sql}, reached(license_id) AS (
       SELECT r.license_id FROM license_rules r JOIN up ON r.tenant_id = ? AND r.group_id = up.group_id
       UNION
       SELECT s.license_id FROM unnest(?::uuid[]) AS x(id)
         JOIN seats s ON s.tenant_id = ? AND s.user_id = x.id AND s.state <> 'released')`,
    bindings: [...up.bindings, tenantId, users, tenantId],
  };
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
      'reclaim_grace_days',
      ...LICENSE_TERM_COLUMNS,
    )) as LicenseRow[];
}

/**
 * The plan's inputs, read with the licences locked. Users to recompute: the given ones,
 * or everyone (licence edits, full reconcile); a licence scope with `userIds: []` only
 * settles the pools (seats the waitlist).
 */
async function loadPlanInput(
  trx: Knex.Transaction,
  tenantId: string,
  scope: ReconcileScope,
  licences: LicenseRow[],
  now: Date,
): Promise<PlanInput> {
  const ids = licences.map((l) => l.license_id);
  const inForce = licencesInForce(licences, now);
  const rules = (await trx('license_rules')
    .where({ tenant_id: tenantId })
    .whereIn('license_id', ids)
    .select(
      'rule_id',
      'license_id',
      'group_id',
      'filter',
      'priority',
      'removal_grace_days',
    )) as RuleRow[];
  const userScope = scope.all ? null : (scope.userIds ?? null);
  const eligible = await candidates(trx, tenantId, {
    rules,
    inForce,
    userIds: userScope,
    explain: false,
  });
  const liveQuery = trx('seats')
    .where({ tenant_id: tenantId })
    .whereIn('license_id', ids)
    .whereNot('state', 'released')
    .select(
      'seat_id',
      'license_id',
      'user_id',
      'state',
      'source',
      'rule_id',
      'reclaim_after',
      'reclaim_reason',
    );
  // Arrays are bound as one parameter: a full reconcile names 100,000 users and more
  // than PostgreSQL's 65,535 bound parameters.
  if (userScope) liveQuery.whereRaw('user_id = ANY(?::uuid[])', [userScope]);
  const live = (await liveQuery) as SeatRow[];
  // Whether each seat holder still exists, and if so whether they are active.
  const users = await activeStates(trx, tenantId, [...new Set(live.map((s) => s.user_id))]);
  return { now, licences, inForce, rules, candidates: eligible, live, users };
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
  const input = await loadPlanInput(trx, tenantId, scope, licences, now);
  const plan = planSeats(input);
  const at = now.toISOString();
  const changes = await applySeatUpdates(trx, tenantId, plan, at);
  // Seat those already waiting first (they became eligible earlier), then the newly
  // eligible in priority order while room remains; the rest join the back of the queue.
  const { promoted, room } = await fill(trx, tenantId, licences, input.inForce, at);
  for (const p of promoted) changes.push(seatChange(p, 'waitlisted', 'active', 'seat_freed'));
  const rows = newSeatRows(tenantId, plan.grant, room, at);
  for (const r of rows)
    changes.push(seatChange(r, null, r.state, r.state === 'active' ? 'eligible' : 'pool_full'));
  changes.push(
    ...(await releaseHeldDuplicates(trx, tenantId, plan, [...rows, ...promoted], {
      licences,
      inForce: input.inForce,
      at,
    })),
  );
  await record(trx, tenantId, changes, ctx, () =>
    insertMany(trx, 'seats', SEAT_INSERT_COLUMNS, rows),
  );
  return changes;
}

/**
 * The duplicates the plan kept because the seat that comes first was not held yet: those
 * whose first seat this reconcile seated (granted with room, or promoted) go now, and
 * the room they free goes to the first in line of their licence.
 */
async function releaseHeldDuplicates(
  trx: Knex.Transaction,
  tenantId: string,
  plan: SeatPlan,
  seated: Array<{ license_id: string; user_id: string; state?: string }>,
  pools: { licences: LicenseRow[]; inForce: ReadonlySet<string>; at: string },
): Promise<SeatChange[]> {
  const { at } = pools;
  if (plan.duplicates.length === 0) return [];
  const held = new Set(
    seated.filter((s) => s.state !== 'waitlisted').map((s) => `${s.license_id}:${s.user_id}`),
  );
  const release = plan.duplicates
    .filter((d) => held.has(`${d.seatFrom}:${d.seat.user_id}`))
    .map((d) => ({ seat: d.seat, reason: 'duplicate' as const }));
  if (release.length === 0) return [];
  const changes = await applySeatUpdates(trx, tenantId, { ...NOTHING, release }, at);
  const freedIds = new Set(release.map((r) => r.seat.license_id));
  const freed = pools.licences.filter((l) => freedIds.has(l.license_id));
  const { promoted } = await fill(trx, tenantId, freed, pools.inForce, at);
  for (const p of promoted) changes.push(seatChange(p, 'waitlisted', 'active', 'seat_freed'));
  return changes;
}

const NOTHING: SeatPlan = {
  desired: [],
  release: [],
  pending: [],
  restore: [],
  retag: [],
  grant: [],
  duplicates: [],
};

/** Audit seat changes made outside a reconcile (reclamation), with the alerts they cause. */
export const recordSeatChanges = (
  trx: Knex.Transaction,
  tenantId: string,
  changes: SeatChange[],
  ctx: { clock: Clock; actor: Actor },
) => record(trx, tenantId, changes, ctx, async () => undefined);

/**
 * The audit events of the changes, and the utilisation alerts they cause. The events are
 * prepared (ids, salts, digests: half a second for 100,000) while `insert` writes the new
 * seats, then chained and appended after them.
 */
async function record(
  trx: Knex.Transaction,
  tenantId: string,
  changes: SeatChange[],
  ctx: { clock: Clock; actor: Actor },
  insert: () => Promise<unknown>,
): Promise<void> {
  const [, events] = await Promise.all([
    insert(),
    prepareAuditEvents(
      changes.map((c) => seatEvent(c, ctx.actor)),
      ctx.clock,
    ),
  ]);
  await appendAuditEvents(trx, tenantId, events, ctx.clock);
  if (changes.length === 0) return;
  // Webhook events in the same transaction: a rolled-back change notifies nobody.
  await publishSeatEvents(trx, tenantId, changes, ctx.clock.now());
  await recordThresholdCrossings(trx, tenantId, [...new Set(changes.map((c) => c.licenseId))], ctx);
}
