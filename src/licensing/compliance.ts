// Compliance per licence and for the tenant: purchased vs used vs available,
// utilisation, status, and the threshold alerts recorded when utilisation crosses them.
import type { Knex } from 'knex';
import { type Actor, appendAuditEvents, type AuditEventInput } from '../audit/index.js';
import { publishSubscribedEvents, type DomainEvent } from '../notifications/index.js';
import type { Clock } from '../shared/clock.js';
import { notFound } from '../shared/errors.js';
import { inTenant, type LicensingContext } from './context.js';
import { isUuid } from '../shared/ids.js';
import { roomIn, type PoolTerms } from './capacity.js';
import { usersRelation } from '../directory/index.js';
import { RESTRICTIONS } from './eligibility.js';
import { countsOf, seatCounts } from './seat-counts.js';
import type {
  ComplianceStatus,
  ComplianceSummary,
  LicenseCompliance,
  LicenseTermRecord,
} from './records.js';
import { termAt, termOfRow, type LicenseTermRow, type TermPhase, type TermState } from './term.js';

/** Below this utilisation a pool counts as under-utilised (money spent on unused seats). */
export const UNDER_UTILISED_PERCENT = 50;

export type { ComplianceStatus, LicenseCompliance };

/** The status a term phase adds (an ordinary running term adds none). */
const TERM_STATUS: Record<TermPhase, ComplianceStatus | null> = {
  not_started: 'not_started',
  active: null,
  renewal_due: 'renewal_due',
  expiring_soon: 'expiring_soon',
  in_grace: 'in_grace',
  expired: 'expired',
};

interface Row extends LicenseTermRow, PoolTerms {
  license_id: string;
  name: string;
  alert_thresholds: number[];
  cost: { annualCost?: number; unitCost?: number; currency?: string };
  alerted_threshold: number;
  threshold_crossings: number;
  used: number;
  waitlisted: number;
  violations: LicenseCompliance['violations'];
}

function evaluate(r: Row, now: Date): LicenseCompliance {
  const used = Number(r.used);
  const room = roomIn(r, used);
  const purchased = room.purchased;
  const utilisation =
    purchased === null
      ? null
      : purchased === 0
        ? used > 0
          ? Infinity
          : 0
        : (used / purchased) * 100;
  const t = termAt(termOfRow(r), now);
  const statuses: ComplianceStatus[] = [];
  const termStatus = TERM_STATUS[t.phase];
  if (termStatus) statuses.push(termStatus);
  if (t.maintenanceExpired) statuses.push('maintenance_expired');
  if (purchased !== null && used > purchased) statuses.push('over_deployed');
  if (utilisation !== null && utilisation < UNDER_UTILISED_PERCENT && purchased !== 0)
    statuses.push('under_utilised');
  if (r.violations.length) statuses.push('restriction_violated');
  // Only use beyond what was bought or by whom the licence excludes, or past the end of
  // the term, breaks compliance; the rest are warnings beside `compliant`.
  if (!statuses.some((s) => BREAKS.has(s))) statuses.unshift('compliant');
  const annualCost =
    r.cost.annualCost ??
    (r.cost.unitCost !== undefined && purchased !== null ? r.cost.unitCost * purchased : null);
  return {
    licenseId: r.license_id,
    name: r.name,
    purchased,
    used,
    waitlisted: Number(r.waitlisted),
    available: purchased === null ? null : room.available,
    utilisationPercent:
      utilisation === null || !Number.isFinite(utilisation)
        ? utilisation === null
          ? null
          : 100
        : Math.round(utilisation * 10) / 10,
    statuses,
    thresholdsCrossed:
      utilisation === null
        ? []
        : r.alert_thresholds.filter((t) => utilisation >= t).sort((a, b) => a - b),
    annualCost,
    currency: r.cost.currency ?? null,
    term: termRecord(r, t),
    violations: r.violations,
  };
}

const BREAKS = new Set<ComplianceStatus>(['expired', 'over_deployed', 'restriction_violated']);

/** Manual seats held by users the licence's restrictions exclude (eligibility's check 4). */
async function violations(db: Knex, tenantId: string, licenseIds: string[]) {
  if (licenseIds.length === 0) return new Map<string, LicenseCompliance['violations']>();
  const users = usersRelation(tenantId);
  const { rows } = (await db.raw(
    `SELECT s.license_id, s.seat_id, s.user_id,
            CASE WHEN ${RESTRICTIONS.department} THEN 'country' ELSE 'department' END AS restriction
       FROM seats s
       JOIN licenses l ON l.tenant_id = s.tenant_id AND l.license_id = s.license_id
       JOIN ${users.sql} u ON u.user_id = s.user_id
      WHERE s.tenant_id = ? AND s.source = 'manual' AND s.state IN ('active', 'pending_reclaim')
        AND s.license_id = ANY(?::uuid[])
        AND NOT (${RESTRICTIONS.department} AND ${RESTRICTIONS.country})
      ORDER BY s.license_id, s.seat_id`,
    [...users.bindings, tenantId, licenseIds],
  )) as {
    rows: Array<{
      license_id: string;
      seat_id: string;
      user_id: string;
      restriction: 'department' | 'country';
    }>;
  };
  const out = new Map<string, LicenseCompliance['violations']>();
  for (const r of rows) {
    const list = out.get(r.license_id) ?? [];
    list.push({ seatId: r.seat_id, userId: r.user_id, restriction: r.restriction });
    out.set(r.license_id, list);
  }
  return out;
}

function termRecord(r: Row, t: TermState): LicenseTermRecord {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    phase: t.phase,
    autoRenew: r.auto_renew,
    currentTermStartsAt: iso(t.currentStartsAt),
    currentTermEndsAt: iso(t.currentEndsAt),
    nextRenewalAt: iso(t.nextRenewalAt),
    graceEndsAt: iso(t.graceEndsAt),
    maintenanceEndsAt: iso(r.maintenance_ends_at),
  };
}

/** The tenant's live licences (all, or those listed), each with its seat counts. */
async function rows(db: Knex, tenantId: string, only?: string[]): Promise<Row[]> {
  const q = db('licenses as l')
    .where('l.tenant_id', tenantId)
    .whereNull('l.deleted_at')
    .select(
      'l.license_id',
      'l.name',
      'l.type',
      'l.quantity',
      'l.full_policy',
      'l.overdeploy_limit',
      'l.starts_at',
      'l.ends_at',
      'l.grace_days',
      'l.auto_renew',
      'l.renewal_lead_days',
      'l.maintenance_ends_at',
      'l.renewed_term_starts_at',
      'l.renewed_term_ends_at',
      'l.alert_thresholds',
      'l.alerted_threshold',
      'l.threshold_crossings',
      'l.cost',
    )
    .orderBy('l.license_id');
  if (only) q.whereIn('l.license_id', only);
  const licences = (await q) as Array<Omit<Row, 'used' | 'waitlisted' | 'violations'>>;
  const ids = licences.map((l) => l.license_id);
  const counts = await seatCounts(db, tenantId, ids);
  const broken = await violations(db, tenantId, ids);
  return licences.map((l) => {
    const c = countsOf(counts, l.license_id);
    return {
      ...l,
      used: c.occupied,
      waitlisted: c.waiting,
      violations: broken.get(l.license_id) ?? [],
    };
  });
}

export async function complianceOf(
  ctx: LicensingContext,
  licenseId: string,
): Promise<LicenseCompliance> {
  if (!isUuid(licenseId)) throw notFound('licence');
  const [row] = await inTenant(ctx, (trx) => rows(trx, ctx.tenantId, [licenseId]));
  if (!row) throw notFound('licence');
  return evaluate(row, ctx.clock.now());
}

export async function complianceSummary(ctx: LicensingContext): Promise<ComplianceSummary> {
  const now = ctx.clock.now();
  const all = (await inTenant(ctx, (trx) => rows(trx, ctx.tenantId))).map((r) => evaluate(r, now));
  const nonCompliant = all.filter((c) => !c.statuses.includes('compliant')).length;
  const currencies = [...new Set(all.map((c) => c.currency).filter((c) => c !== null))];
  const having = (s: ComplianceStatus) => all.filter((c) => c.statuses.includes(s)).length;
  return {
    licenses: all.length,
    compliant: all.length - nonCompliant,
    overDeployed: having('over_deployed'),
    underUtilised: having('under_utilised'),
    notStarted: having('not_started'),
    renewalDue: having('renewal_due'),
    expiringSoon: having('expiring_soon'),
    inGrace: having('in_grace'),
    expired: having('expired'),
    maintenanceExpired: having('maintenance_expired'),
    restrictionViolated: having('restriction_violated'),
    // The share of licences in compliance, 0–100; 100 for a tenant with no licences.
    score:
      all.length === 0 ? 100 : Math.round(((all.length - nonCompliant) / all.length) * 1000) / 10,
    annualCost:
      currencies.length <= 1
        ? {
            amount: all.reduce((n, c) => n + (c.annualCost ?? 0), 0),
            currency: currencies[0] ?? null,
          }
        : null,
    items: all,
  };
}

/**
 * After seats changed (and from the compliance-scan job): audit each utilisation
 * threshold newly crossed and publish `license.threshold_crossed`, once per crossing
 * (falling below re-arms it; each upward crossing is numbered, and its number is the
 * event's dedupe key). Runs with the licences locked. Answers how many were crossed.
 */
export async function recordThresholdCrossings(
  trx: Knex.Transaction,
  tenantId: string,
  licenseIds: string[],
  ctx: { clock: Clock; actor: Actor },
): Promise<number> {
  if (licenseIds.length === 0) return 0;
  const now = ctx.clock.now();
  const current = await rows(trx, tenantId, licenseIds);
  const events: AuditEventInput[] = [];
  const published: DomainEvent[] = [];
  for (const r of current) {
    const c = evaluate(r, now);
    const highest = c.thresholdsCrossed.at(-1) ?? 0;
    if (highest === r.alerted_threshold) continue;
    const crossed = highest > r.alerted_threshold;
    const crossing = r.threshold_crossings + (crossed ? 1 : 0);
    await trx('licenses')
      .where({ tenant_id: tenantId, license_id: r.license_id })
      .update({ alerted_threshold: highest, threshold_crossings: crossing });
    if (!crossed) continue;
    const payload = {
      threshold: highest,
      utilisationPercent: c.utilisationPercent,
      used: c.used,
      purchased: c.purchased,
    };
    events.push({
      action: 'license.threshold_crossed',
      actor: ctx.actor,
      target: { type: 'license', id: r.license_id },
      payload,
    });
    published.push({
      type: 'license.threshold_crossed',
      data: { licenseId: r.license_id, ...payload },
      dedupeKey: `${r.license_id}:${crossing}`,
    });
  }
  await appendAuditEvents(trx, tenantId, events, ctx.clock);
  // The same crossings for webhook receivers (issue 14), once per numbered crossing,
  // written only when an endpoint subscribes to them.
  if (published.length) await publishSubscribedEvents(trx, tenantId, () => published, now);
  return events.length;
}
