// What the admin API answers, as zod schemas in one place: the licensing code's output
// types are inferred from them, and the OpenAPI document's response schemas are
// generated from them (src/api/openapi.ts), so the document cannot drift from what the
// routes return; a test checks every route's real answers against the document. Below
// the schemas, rows → records (camelCase, ISO dates).
import { z } from 'zod';
import { Cost, FULL_POLICIES, LICENSE_TYPES, Restrictions } from './model.js';
import { TERM_PHASES } from './term.js';

const id = z.uuid();
/** Instants as Date#toISOString writes them: UTC, with milliseconds. */
const instant = z.iso.datetime();
const maybeInstant = instant.nullable();
const count = z.number().int().min(0);

export const ProductRecord = z.object({
  id,
  name: z.string(),
  vendor: z.string().nullable(),
  features: z.array(z.string()),
  versions: z.array(z.string()),
  createdAt: instant,
  updatedAt: instant,
});
export type Product = z.infer<typeof ProductRecord>;

export const LicenseRecord = z.object({
  id,
  productId: id,
  name: z.string(),
  type: z.enum(LICENSE_TYPES),
  category: z.string().nullable(),
  quantity: count.nullable().describe('null: unlimited'),
  startsAt: maybeInstant,
  endsAt: maybeInstant.describe('The end of the first term; auto-renewing terms roll on from it'),
  graceDays: count,
  autoRenew: z.boolean(),
  renewalLeadDays: count,
  maintenanceEndsAt: maybeInstant,
  maxVersion: z.string().nullable(),
  entitlements: z.array(z.string()),
  restrictions: Restrictions,
  cost: Cost,
  fullPolicy: z.enum(FULL_POLICIES),
  overdeployLimit: count,
  alertThresholds: z.array(z.number().int()),
  expiryAlertDays: z.array(z.number().int()).describe('Lead times of license.expiring, in days'),
  inactivityDays: z.number().int().nullable(),
  reclaimGraceDays: z.number().int(),
  reclaimExempt: z.object({ userIds: z.array(id), groupIds: z.array(id) }),
  suspendedAt: maybeInstant.describe(
    'Set while the licence is suspended: its keys validate as `suspended`',
  ),
  createdAt: instant,
  updatedAt: instant,
});
export type License = z.infer<typeof LicenseRecord>;

export const RuleRecord = z.object({
  id,
  licenseId: id,
  groupId: id,
  filter: z.string().nullable(),
  priority: z.number().int(),
  removalGraceDays: count,
  name: z.string().nullable(),
  createdAt: instant,
  updatedAt: instant,
});
export type Rule = z.infer<typeof RuleRecord>;

export const SEAT_STATES = ['active', 'waitlisted', 'pending_reclaim', 'released'] as const;
export const SeatState = z.enum(SEAT_STATES);
export type SeatState = z.infer<typeof SeatState>;

export const RELEASE_REASONS = [
  'no_longer_eligible',
  'deprovisioned',
  'user_deleted',
  'license_expired',
  'license_deleted',
  'released_by_admin',
  'transferred',
  'inactive',
  // Issue 14: a second seat of one product (eligibility's check 7).
  'duplicate',
  // Issue 14: a trial past its end (and grace) releases every seat, manual ones too.
  'trial_expired',
] as const;
export type ReleaseReason = (typeof RELEASE_REASONS)[number];

export const RECLAIM_REASONS = ['deprovisioned', 'removed_from_group', 'inactive'] as const;
export type ReclaimReason = (typeof RECLAIM_REASONS)[number];

export const SeatRecord = z.object({
  id,
  licenseId: id,
  userId: id,
  state: SeatState,
  source: z.enum(['rule', 'manual']),
  ruleId: id.nullable(),
  assignedBy: z.string().nullable(),
  eligibleSince: instant,
  grantedAt: maybeInstant,
  overdeployed: z.boolean(),
  reclaimAfter: maybeInstant,
  /** Why a pending_reclaim seat waits: its holder left the directory, the group, or idled. */
  reclaimReason: z.enum(RECLAIM_REASONS).nullable(),
  /** The holder's last activity for the licence's product (any product's counts too). */
  lastActiveAt: maybeInstant,
  releasedAt: maybeInstant,
  releaseReason: z.enum(RELEASE_REASONS).nullable(),
});
export type Seat = z.infer<typeof SeatRecord>;

/** Why a seat moved: a release reason, or why it was granted, queued or restored. */
export const SEAT_CHANGE_REASONS = [
  ...RELEASE_REASONS,
  'eligible',
  'pool_full',
  'seat_freed',
  'eligible_again',
  // Issue 14: a seat reclaimed for inactivity is scheduled as 'inactive' and restored by
  // activity in its grace ('active_again').
  'active_again',
] as const;
export type SeatChangeReason = (typeof SEAT_CHANGE_REASONS)[number];

export const SeatChangeRecord = z.object({
  seatId: id,
  licenseId: id,
  userId: id,
  from: SeatState.nullable(),
  to: SeatState,
  reason: z.enum(SEAT_CHANGE_REASONS),
  ruleId: id.nullable(),
});
export type SeatChange = z.infer<typeof SeatChangeRecord>;

/** A licence or rule write's seat diff (what it did, or with dryRun would do). */
export const SeatDiffRecord = z.object({
  dryRun: z.boolean(),
  seatChanges: z.object({
    summary: z.object({
      granted: count,
      waitlisted: count,
      revoked: count,
      pendingReclaim: count,
      restored: count,
    }),
    changes: z.array(SeatChangeRecord),
  }),
});
export type SeatDiff = z.infer<typeof SeatDiffRecord>;
export const LicenseWriteRecord = SeatDiffRecord.extend({ item: LicenseRecord });
export const RuleWriteRecord = SeatDiffRecord.extend({ item: RuleRecord });

export const COMPLIANCE_STATUSES = [
  'compliant',
  'over_deployed',
  'under_utilised',
  'not_started',
  'renewal_due',
  'expiring_soon',
  'in_grace',
  'expired',
  'maintenance_expired',
  // A manual seat whose holder the licence's restrictions exclude (issue 14): it stays
  // (an admin decided it), and the licence is not compliant while it does.
  'restriction_violated',
] as const;
export type ComplianceStatus = (typeof COMPLIANCE_STATUSES)[number];

export const LicenseTermRecord = z.object({
  phase: z.enum(TERM_PHASES),
  autoRenew: z.boolean(),
  currentTermStartsAt: maybeInstant,
  currentTermEndsAt: maybeInstant,
  nextRenewalAt: maybeInstant.describe('Auto-renewing licences: when the current term renews'),
  graceEndsAt: maybeInstant.describe('Fixed terms with a grace period: when seats stop'),
  maintenanceEndsAt: maybeInstant,
});
export type LicenseTermRecord = z.infer<typeof LicenseTermRecord>;

export const LicenseComplianceRecord = z.object({
  licenseId: id,
  name: z.string(),
  purchased: count.nullable().describe('null: unlimited or a site licence'),
  used: count,
  waitlisted: count,
  available: count.nullable(),
  utilisationPercent: z.number().min(0).nullable(),
  statuses: z.array(z.enum(COMPLIANCE_STATUSES)),
  thresholdsCrossed: z.array(z.number().int()),
  annualCost: z.number().min(0).nullable(),
  currency: z.string().nullable(),
  term: LicenseTermRecord,
  violations: z
    .array(z.object({ seatId: id, userId: id, restriction: z.enum(['department', 'country']) }))
    .describe("Manual seats whose holder the licence's restrictions exclude"),
});
export type LicenseCompliance = z.infer<typeof LicenseComplianceRecord>;

export const ComplianceSummaryRecord = z.object({
  licenses: count,
  compliant: count,
  overDeployed: count,
  underUtilised: count,
  notStarted: count,
  renewalDue: count,
  expiringSoon: count,
  inGrace: count,
  expired: count,
  maintenanceExpired: count,
  restrictionViolated: count,
  score: z.number().min(0).max(100).describe('The share of licences in compliance, 0–100'),
  annualCost: z
    .object({ amount: z.number().min(0), currency: z.string().nullable() })
    .nullable()
    .describe('null when licences are priced in more than one currency'),
  items: z.array(LicenseComplianceRecord),
});
export type ComplianceSummary = z.infer<typeof ComplianceSummaryRecord>;

export const UserRecord = z.object({
  id,
  userName: z.string(),
  externalId: z.string().nullable(),
  displayName: z.string().nullable(),
  active: z.boolean(),
  department: z.string().nullable(),
  lastActiveAt: maybeInstant,
  createdAt: instant,
  updatedAt: instant,
});
export type User = z.infer<typeof UserRecord>;
export const UserDetailRecord = UserRecord.extend({
  groups: z.array(z.object({ id, displayName: z.string() })).describe('Direct memberships'),
});
export type UserDetail = z.infer<typeof UserDetailRecord>;

export const GroupRecord = z.object({
  id,
  displayName: z.string(),
  externalId: z.string().nullable(),
  memberCount: count.describe('Direct members, users and groups'),
  createdAt: instant,
  updatedAt: instant,
});
export type Group = z.infer<typeof GroupRecord>;

/** A user's seats with why they hold each, and the licences a rule would give but doesn't. */
export const UserSeatsRecord = z.object({
  user: z.object({ id, userName: z.string(), active: z.boolean() }),
  seats: z.array(
    z.object({
      seatId: id,
      licenseId: id,
      license: z.string().nullable(),
      state: SeatState,
      source: z.enum(['rule', 'manual']),
      ruleId: id.nullable(),
      position: z.number().int().min(1).nullable().describe('Place in line, when waitlisted'),
      explanation: z.string(),
    }),
  ),
  notSeated: z.array(
    z.object({
      licenseId: id,
      license: z.string(),
      ruleId: id,
      group: z.string(),
      reason: z.string(),
    }),
  ),
});
export type UserSeats = z.infer<typeof UserSeatsRecord>;

export const ImportReportRecord = z.object({
  dryRun: z.boolean(),
  rows: count,
  products: count.describe('Products created'),
  licenses: count,
  seats: count,
});
export type ImportReport = z.infer<typeof ImportReportRecord>;

// ---- rows → records ----

const iso = (d: Date | null) => (d ? d.toISOString() : null);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

export const productRecord = (r: Row): Product => ({
  id: r.product_id,
  name: r.name,
  vendor: r.vendor,
  features: r.features,
  versions: r.versions,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export const licenseRecord = (r: Row): License => ({
  id: r.license_id,
  productId: r.product_id,
  name: r.name,
  type: r.type,
  category: r.category,
  quantity: r.quantity,
  startsAt: iso(r.starts_at),
  endsAt: iso(r.ends_at),
  graceDays: r.grace_days,
  autoRenew: r.auto_renew,
  renewalLeadDays: r.renewal_lead_days,
  maintenanceEndsAt: iso(r.maintenance_ends_at),
  maxVersion: r.max_version,
  entitlements: r.entitlements,
  restrictions: r.restrictions,
  cost: r.cost,
  fullPolicy: r.full_policy,
  overdeployLimit: r.overdeploy_limit,
  alertThresholds: r.alert_thresholds,
  expiryAlertDays: r.expiry_alert_days,
  inactivityDays: r.inactivity_days,
  reclaimGraceDays: r.reclaim_grace_days,
  reclaimExempt: r.reclaim_exempt,
  suspendedAt: iso(r.suspended_at),
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export const ruleRecord = (r: Row): Rule => ({
  id: r.rule_id,
  licenseId: r.license_id,
  groupId: r.group_id,
  filter: r.filter,
  priority: r.priority,
  removalGraceDays: r.removal_grace_days,
  name: r.name,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export const seatRecord = (r: Row): Seat => ({
  id: r.seat_id,
  licenseId: r.license_id,
  userId: r.user_id,
  state: r.state,
  source: r.source,
  ruleId: r.rule_id,
  assignedBy: r.assigned_by,
  eligibleSince: iso(r.eligible_since)!,
  grantedAt: iso(r.granted_at),
  overdeployed: r.overdeployed,
  reclaimAfter: iso(r.reclaim_after),
  reclaimReason: r.reclaim_reason ?? null,
  lastActiveAt: iso(r.last_active_at ?? null),
  releasedAt: iso(r.released_at),
  releaseReason: r.release_reason,
});

/**
 * A new manual seat row: `waitlisted` for the fill to seat in turn, or `active` when it
 * takes a place that is already its own (a transfer, an imported assignment).
 */
/**
 * The columns a new seat is written with, for insertMany: rule seats (rule_id,
 * overdeployed) and manual ones (assigned_by) alike; a builder leaves what it does not
 * set to NULL, and sets every NOT NULL column.
 */
export const SEAT_INSERT_COLUMNS = {
  tenant_id: 'uuid',
  seat_id: 'uuid',
  license_id: 'uuid',
  user_id: 'uuid',
  state: 'text',
  source: 'text',
  rule_id: 'uuid',
  assigned_by: 'text',
  eligible_since: 'timestamptz',
  queue_priority: 'integer',
  granted_at: 'timestamptz',
  overdeployed: 'boolean',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
};

export function manualSeatRow(a: {
  tenantId: string;
  seatId: string;
  licenseId: string;
  userId: string;
  assignedBy: string;
  now: string;
  state: 'active' | 'waitlisted';
}) {
  return {
    tenant_id: a.tenantId,
    seat_id: a.seatId,
    license_id: a.licenseId,
    user_id: a.userId,
    state: a.state,
    source: 'manual',
    assigned_by: a.assignedBy,
    eligible_since: a.now,
    granted_at: a.state === 'active' ? a.now : null,
    queue_priority: 0,
    overdeployed: false,
    created_at: a.now,
    updated_at: a.now,
  };
}
