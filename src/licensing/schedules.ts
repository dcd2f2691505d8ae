// What the scheduled jobs of issue 14 do to licences, one tenant at a time, each run one
// transaction: lead-time expiry alerts, stored subscription renewals, the end of trials,
// and the compliance scan. Every effect is idempotent, on one replica or two:
// - a webhook event is published once per dedupe key (the outbox's unique key; a
//   concurrent insert of the same key waits for the first and then writes nothing),
//   and the audit event that goes with it is written only when the event was new;
// - renewals and releases lock their licences first (reconcile.ts, "Lock order"), and a
//   renewal is also unique per (licence, term start) in license_terms.
import type { Knex } from 'knex';
import { appendAuditEvents, type AuditAction, type AuditEventInput } from '../audit/index.js';
import { publishEvents, type DomainEvent } from '../notifications/index.js';
import { newId } from '../shared/ids.js';
import { seatChange } from './apply.js';
import { complianceSummary, recordThresholdCrossings } from './compliance.js';
import { inTenant, type LicensingContext } from './context.js';
import { lockLicences, recordSeatChanges } from './reconcile.js';
import type { SeatChange, SeatState } from './records.js';
import { DAY_MS, LICENSE_TERM_COLUMNS, renewalDue, termAt, termOfRow } from './term.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Publish each event and audit it, but only the events that are new: the dedupe key
 * decides, so a rerun (or a second replica) neither notifies nor audits twice.
 */
async function publishAudited(
  trx: Knex.Transaction,
  ctx: LicensingContext,
  items: Array<{ event: DomainEvent; action: AuditAction; licenseId: string }>,
): Promise<number> {
  const now = ctx.clock.now();
  const audits: AuditEventInput[] = [];
  for (const { event, action, licenseId } of items) {
    if ((await publishEvents(trx, ctx.tenantId, [event], now)) === 0) continue;
    audits.push({
      action,
      actor: ctx.actor,
      target: { type: 'license', id: licenseId },
      payload: event.data,
    });
  }
  await appendAuditEvents(trx, ctx.tenantId, audits, ctx.clock);
  return audits.length;
}

/** `license.expired`, once per licence and term end, whichever job sees it first. */
const expiredEvent = (licenseId: string, data: Record<string, unknown>, endsAt: Date) => ({
  event: {
    type: 'license.expired' as const,
    data: { licenseId, ...data },
    dedupeKey: `${licenseId}:${endsAt.toISOString()}`,
  },
  action: 'license.expired' as const,
  licenseId,
});

/**
 * The lead time whose alert is due now for a term ending at `end`: the smallest lead
 * that has been reached. A licence first seen 5 days before its end gets the 7-day
 * alert, not a late "30 days left" as well; the 1-day alert follows in its turn.
 */
export function dueLead(leads: number[], end: Date, now: Date): number | null {
  const left = end.getTime() - now.getTime();
  if (left < 0) return null;
  const reached = leads.filter((d) => d * DAY_MS >= left);
  return reached.length ? Math.min(...reached) : null;
}

/**
 * `license.expiring` at each lead time before a fixed term's end (once per licence, lead
 * and term end), and `license.expired` once its grace has passed. Auto-renewing licences
 * renew rather than expire (subscription-renewal announces that).
 */
export async function licenceExpiryAlerts(
  ctx: LicensingContext,
): Promise<{ expiring: number; expired: number }> {
  const now = ctx.clock.now();
  return inTenant(ctx, async (trx) => {
    const licences = (await trx('licenses')
      .where({ tenant_id: ctx.tenantId, auto_renew: false })
      .whereNull('deleted_at')
      .whereNotNull('ends_at')
      .orderBy('license_id')
      .select('license_id', 'name', 'type', 'expiry_alert_days', ...LICENSE_TERM_COLUMNS)) as Array<
      Parameters<typeof termOfRow>[0] & {
        license_id: string;
        name: string;
        type: string;
        expiry_alert_days: number[];
      }
    >;
    const expiring: Parameters<typeof publishAudited>[2] = [];
    const expired: Parameters<typeof publishAudited>[2] = [];
    for (const l of licences) {
      const t = termAt(termOfRow(l), now);
      const end = t.currentEndsAt!;
      const about = { name: l.name, type: l.type, endsAt: end.toISOString() };
      if (t.phase === 'expired') {
        expired.push(
          expiredEvent(l.license_id, { ...about, graceEndsAt: iso(t.graceEndsAt) }, end),
        );
        continue;
      }
      const lead = dueLead(l.expiry_alert_days, end, now);
      if (lead === null || t.phase === 'not_started') continue;
      expiring.push({
        event: {
          type: 'license.expiring',
          data: {
            licenseId: l.license_id,
            ...about,
            leadDays: lead,
            daysLeft: Math.ceil((end.getTime() - now.getTime()) / DAY_MS),
          },
          dedupeKey: `${l.license_id}:${lead}:${end.toISOString()}`,
        },
        action: 'license.expiring',
        licenseId: l.license_id,
      });
    }
    return {
      expiring: await publishAudited(trx, ctx, expiring),
      expired: await publishAudited(trx, ctx, expired),
    };
  });
}

/**
 * Each auto-renewing subscription whose term has ended gets its next term stored (the
 * term term.ts computes, so what is stored is what was shown), audited and announced.
 * A licence whose term ended several periods ago (created with old dates, or the job off
 * for a while) is renewed into the term running now, in one renewal.
 */
export async function renewSubscriptions(ctx: LicensingContext): Promise<{ renewed: number }> {
  const now = ctx.clock.now();
  return inTenant(ctx, async (trx) => {
    const due = (await trx('licenses')
      .where({ tenant_id: ctx.tenantId, auto_renew: true })
      .whereNull('deleted_at')
      .whereNotNull('ends_at')
      .whereRaw('coalesce(renewed_term_ends_at, ends_at) < ?::timestamptz', [now.toISOString()])
      .pluck('license_id')) as string[];
    // Under the locks, each licence is read again: a replica that got there first has
    // stored the renewal, and renewalDue answers null.
    const locked = await lockLicences(trx, ctx.tenantId, due);
    const audits: AuditEventInput[] = [];
    const events: DomainEvent[] = [];
    for (const l of locked) {
      if (l.deleted_at) continue;
      const next = renewalDue(termOfRow(l), now);
      if (!next) continue;
      const { rows } = (await trx.raw(
        `INSERT INTO license_terms (tenant_id, term_id, license_id, starts_at, ends_at, renewed_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING starts_at`,
        [
          ctx.tenantId,
          newId(),
          l.license_id,
          next.startsAt.toISOString(),
          next.endsAt.toISOString(),
          now.toISOString(),
        ],
      )) as { rows: unknown[] };
      if (rows.length === 0) continue;
      await trx('licenses').where({ tenant_id: ctx.tenantId, license_id: l.license_id }).update({
        renewed_term_starts_at: next.startsAt.toISOString(),
        renewed_term_ends_at: next.endsAt.toISOString(),
      });
      const data = {
        licenseId: l.license_id,
        previousTermEndsAt: next.previousEndsAt.toISOString(),
        termStartsAt: next.startsAt.toISOString(),
        termEndsAt: next.endsAt.toISOString(),
      };
      audits.push({
        action: 'license.renewed',
        actor: ctx.actor,
        target: { type: 'license', id: l.license_id },
        payload: data,
      });
      events.push({
        type: 'license.renewed',
        data,
        dedupeKey: `${l.license_id}:${next.startsAt.toISOString()}`,
      });
    }
    await appendAuditEvents(trx, ctx.tenantId, audits, ctx.clock);
    await publishEvents(trx, ctx.tenantId, events, now);
    return { renewed: audits.length };
  });
}

/**
 * Trials past their end (and grace): every seat still held or waited for is released,
 * manual ones too (reason `trial_expired`), through the path reclamation uses, so each
 * release is audited and utilisation alerts follow; then `license.expired`.
 */
export async function expireTrials(
  ctx: LicensingContext,
): Promise<{ trials: number; released: number }> {
  const now = ctx.clock.now();
  const at = now.toISOString();
  return inTenant(ctx, async (trx) => {
    const candidates = (await trx('licenses')
      .where({ tenant_id: ctx.tenantId, type: 'trial' })
      .whereNull('deleted_at')
      .where('ends_at', '<', at)
      .pluck('license_id')) as string[];
    const ended = (await lockLicences(trx, ctx.tenantId, candidates)).filter(
      (l) => !l.deleted_at && termAt(termOfRow(l), now).phase === 'expired',
    );
    if (ended.length === 0) return { trials: 0, released: 0 };
    const ids = ended.map((l) => l.license_id);
    const seats = (await trx('seats')
      .where({ tenant_id: ctx.tenantId })
      .whereIn('license_id', ids)
      .whereNot('state', 'released')
      .orderBy('seat_id')
      .forUpdate()
      .select('seat_id', 'license_id', 'user_id', 'rule_id', 'state')) as Array<{
      seat_id: string;
      license_id: string;
      user_id: string;
      rule_id: string | null;
      state: SeatState;
    }>;
    if (seats.length)
      await trx('seats')
        .where({ tenant_id: ctx.tenantId })
        .whereRaw('seat_id = ANY(?::uuid[])', [seats.map((s) => s.seat_id)])
        .update({
          state: 'released',
          release_reason: 'trial_expired',
          released_at: at,
          reclaim_after: null,
          reclaim_reason: null,
          updated_at: at,
        });
    const changes: SeatChange[] = seats.map((s) =>
      seatChange(s, s.state, 'released', 'trial_expired'),
    );
    await recordSeatChanges(trx, ctx.tenantId, changes, ctx);
    await publishAudited(
      trx,
      ctx,
      ended.map((l) => {
        const end = termAt(termOfRow(l), now).currentEndsAt!;
        const released = seats.filter((s) => s.license_id === l.license_id).length;
        return expiredEvent(
          l.license_id,
          { type: 'trial', endsAt: end.toISOString(), seatsReleased: released },
          end,
        );
      }),
    );
    return { trials: ended.length, released: seats.length };
  });
}

/**
 * The compliance scan: each licence's compliance as the REST API computes it, and any
 * utilisation threshold crossing not yet recorded (a change that bypassed the
 * reconciler, or thresholds edited) recorded now, with its alert and event. Only the
 * licences whose recorded threshold is stale are locked (and evaluated again under the
 * lock), so an hourly scan does not hold up a tenant's seat changes.
 */
export async function scanCompliance(
  ctx: LicensingContext,
): Promise<{ licenses: number; nonCompliant: number; crossings: number }> {
  const summary = await complianceSummary(ctx);
  const crossings = await inTenant(ctx, async (trx) => {
    const recorded = new Map(
      (
        (await trx('licenses')
          .where({ tenant_id: ctx.tenantId })
          .whereNull('deleted_at')
          .select('license_id', 'alerted_threshold')) as Array<{
          license_id: string;
          alerted_threshold: number;
        }>
      ).map((l) => [l.license_id, l.alerted_threshold]),
    );
    const stale = summary.items
      .filter((c) => (c.thresholdsCrossed.at(-1) ?? 0) !== recorded.get(c.licenseId))
      .map((c) => c.licenseId);
    if (stale.length === 0) return 0;
    await lockLicences(trx, ctx.tenantId, stale);
    return recordThresholdCrossings(trx, ctx.tenantId, stale, ctx);
  });
  return {
    licenses: summary.licenses,
    nonCompliant: summary.licenses - summary.compliant,
    crossings,
  };
}
