// Rows → the API's records (camelCase, ISO dates).
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export interface Product {
  id: string;
  name: string;
  vendor: string | null;
  features: string[];
  versions: string[];
  createdAt: string;
  updatedAt: string;
}

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

export interface License {
  id: string;
  productId: string;
  name: string;
  type: string;
  category: string | null;
  quantity: number | null;
  startsAt: string | null;
  endsAt: string | null;
  graceDays: number;
  autoRenew: boolean;
  renewalLeadDays: number;
  maintenanceEndsAt: string | null;
  maxVersion: string | null;
  entitlements: string[];
  restrictions: { countries?: string[]; departments?: string[] };
  cost: Record<string, unknown>;
  fullPolicy: 'waitlist' | 'overdeploy';
  overdeployLimit: number;
  alertThresholds: number[];
  createdAt: string;
  updatedAt: string;
}

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
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export interface Rule {
  id: string;
  licenseId: string;
  groupId: string;
  filter: string | null;
  priority: number;
  removalGraceDays: number;
  name: string | null;
  createdAt: string;
  updatedAt: string;
}

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

export interface Seat {
  id: string;
  licenseId: string;
  userId: string;
  state: string;
  source: 'rule' | 'manual';
  ruleId: string | null;
  assignedBy: string | null;
  eligibleSince: string;
  grantedAt: string | null;
  overdeployed: boolean;
  reclaimAfter: string | null;
  releasedAt: string | null;
  releaseReason: string | null;
}

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
  releasedAt: iso(r.released_at),
  releaseReason: r.release_reason,
});

/**
 * A new manual seat row: `waitlisted` for the fill to seat in turn, or `active` when it
 * takes a place that is already its own (a transfer, an imported assignment).
 */
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
    created_at: a.now,
    updated_at: a.now,
  };
}
