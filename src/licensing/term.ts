// A licence's term: whether it is in force, when its current term ends, and what a
// licence manager should be told about it. Pure (the caller passes "now"): compliance,
// the reconciler and explain all ask this module, so there is one rule for expiry.
//
// - No end date: in force from its start on (a perpetual licence).
// - A fixed term ends at endsAt, inclusive. A grace period keeps its seats usable for
//   graceDays more (`in_grace`); after that it has `expired` and rule seats are released.
// - An auto-renewing term never expires: at each end it rolls forward by its length
//   (endsAt − startsAt; one year when there is no start). A term of whole calendar months
//   rolls by calendar months counted from the start, so a yearly subscription renews on
//   the same date every year (29 February falls back to the 28th and returns in leap
//   years) and a month-end term stays at month end, instead of drifting by a day a year.
// - Inside the renewal lead time before the current term's end, an auto-renewing licence
//   is `renewal_due` (the renewal is about to be charged); a fixed one is `expiring_soon`.
// - Renewals are stored (issue 14): the subscription-renewal job writes each new term
//   (license_terms, and the latest on the licence row). A stored term that contains
//   "now" is the current term, whatever the licence's dates compute to; between a
//   term's end and the job's next run, the term the job will store is computed here
//   (the same function the job asks), so a late job never lets a subscription lapse.
// - Maintenance is separate from use: once it has ended the licence says so, and its
//   seats stay.
export const DAY_MS = 86_400_000;

export interface LicenseTerm {
  startsAt: Date | null;
  endsAt: Date | null;
  graceDays: number;
  autoRenew: boolean;
  renewalLeadDays: number;
  maintenanceEndsAt: Date | null;
  /** The latest renewal stored by the subscription-renewal job, if any. */
  renewedTerm?: { startsAt: Date; endsAt: Date } | null;
}

export const TERM_PHASES = [
  'not_started',
  'active',
  'renewal_due',
  'expiring_soon',
  'in_grace',
  'expired',
] as const;
export type TermPhase = (typeof TERM_PHASES)[number];

export interface TermState {
  phase: TermPhase;
  /** Seats may be held: started, and not past the end plus the grace period. */
  inForce: boolean;
  /** The term running now (or the first one, before the start). */
  currentStartsAt: Date | null;
  currentEndsAt: Date | null;
  /** Auto-renewing licences only: when the current term renews. */
  nextRenewalAt: Date | null;
  /** Fixed terms with a grace period: the last moment seats are usable. */
  graceEndsAt: Date | null;
  maintenanceExpired: boolean;
}

/** A term's length: whole calendar months when its dates are, else an exact duration. */
export type TermLength = { months: number } | { ms: number };

const daysInMonth = (year: number, month: number) =>
  new Date(Date.UTC(year, month + 1, 0)).getUTCDate();

/** `d` plus `n` calendar months (UTC), the day clamped to the target month's length. */
export function addMonths(d: Date, n: number): Date {
  const total = d.getUTCFullYear() * 12 + d.getUTCMonth() + n;
  const year = Math.floor(total / 12);
  const month = total - year * 12;
  const day = Math.min(d.getUTCDate(), daysInMonth(year, month));
  const timeOfDay = d.getTime() - Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return new Date(Date.UTC(year, month, day) + timeOfDay);
}

const monthsBetween = (a: Date, b: Date) =>
  (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());

/** Why these dates cannot be a term (an end at or before the start), or null. */
export function termDatesProblem(startsAt: Date | null, endsAt: Date | null): string | null {
  if (startsAt && endsAt && endsAt.getTime() <= startsAt.getTime())
    return 'endsAt must be after startsAt (a term cannot be empty or negative)';
  return null;
}

export function termLength(startsAt: Date | null, endsAt: Date): TermLength {
  if (!startsAt) return { months: 12 };
  const months = monthsBetween(startsAt, endsAt);
  if (months >= 1 && addMonths(startsAt, months).getTime() === endsAt.getTime()) return { months };
  return { ms: endsAt.getTime() - startsAt.getTime() };
}

/**
 * The end of the j-th term (j ≥ 1; the first ends at endsAt; j = 0 is the start). Each
 * is computed from the anchor, not from the previous end, so clamped days never drift.
 */
function boundary(startsAt: Date | null, endsAt: Date, length: TermLength, j: number): Date {
  if ('ms' in length) return new Date(startsAt!.getTime() + j * length.ms);
  return startsAt ? addMonths(startsAt, j * length.months) : addMonths(endsAt, (j - 1) * 12);
}

/** The first term that has not ended by `now` (its end is at or after it), j ≥ 1. */
function currentTermIndex(startsAt: Date | null, endsAt: Date, length: TermLength, now: Date) {
  if (now.getTime() <= endsAt.getTime()) return 1;
  // Jump close to the answer (a term that ended decades ago costs no loop), then settle.
  let j =
    'ms' in length
      ? Math.ceil((now.getTime() - startsAt!.getTime()) / length.ms)
      : Math.floor(monthsBetween(startsAt ?? endsAt, now) / length.months) + (startsAt ? 0 : 1);
  j = Math.max(1, j);
  while (boundary(startsAt, endsAt, length, j) < now) j += 1;
  while (j > 1 && boundary(startsAt, endsAt, length, j - 1) >= now) j -= 1;
  return j;
}

export function termAt(t: LicenseTerm, now: Date): TermState {
  const maintenanceExpired = t.maintenanceEndsAt !== null && t.maintenanceEndsAt < now;
  const lead = t.renewalLeadDays * DAY_MS;
  const state = (s: Omit<TermState, 'maintenanceExpired'>): TermState => ({
    ...s,
    maintenanceExpired,
  });
  // Dates validation refuses (an empty term) are read as a fixed term, never rolled:
  // a zero length would never advance.
  const renews =
    t.autoRenew && t.endsAt !== null && termDatesProblem(t.startsAt, t.endsAt) === null;
  const none = { nextRenewalAt: null, graceEndsAt: null };

  if (t.startsAt && t.startsAt > now)
    return state({
      ...none,
      phase: 'not_started',
      inForce: false,
      currentStartsAt: t.startsAt,
      currentEndsAt: t.endsAt,
      nextRenewalAt: renews ? t.endsAt : null,
    });
  if (!t.endsAt)
    return state({
      ...none,
      phase: 'active',
      inForce: true,
      currentStartsAt: t.startsAt,
      currentEndsAt: null,
    });

  if (renews) {
    const stored = t.renewedTerm;
    let start: Date | null;
    let end: Date;
    if (stored && stored.startsAt < now && now <= stored.endsAt) {
      start = stored.startsAt;
      end = stored.endsAt;
    } else {
      const length = termLength(t.startsAt, t.endsAt);
      const j = currentTermIndex(t.startsAt, t.endsAt, length, now);
      end = boundary(t.startsAt, t.endsAt, length, j);
      start = j === 1 ? t.startsAt : boundary(t.startsAt, t.endsAt, length, j - 1);
    }
    return state({
      phase: end.getTime() - lead < now.getTime() ? 'renewal_due' : 'active',
      inForce: true,
      currentStartsAt: start,
      currentEndsAt: end,
      nextRenewalAt: end,
      graceEndsAt: null,
    });
  }

  const end = t.endsAt.getTime();
  const graceEnd = end + t.graceDays * DAY_MS;
  const phase: TermPhase =
    now.getTime() > graceEnd
      ? 'expired'
      : now.getTime() > end
        ? 'in_grace'
        : end - lead < now.getTime()
          ? 'expiring_soon'
          : 'active';
  return state({
    phase,
    inForce: phase !== 'expired',
    currentStartsAt: t.startsAt,
    currentEndsAt: t.endsAt,
    nextRenewalAt: null,
    graceEndsAt: t.graceDays > 0 ? new Date(graceEnd) : null,
  });
}

/**
 * The dates a licence keeps when auto-renew is switched off: the term running now, so it
 * runs out at the end of what was paid for rather than at an end date renewed past long ago.
 */
export function termWhenAutoRenewStops(
  t: LicenseTerm,
  now: Date,
): { startsAt: Date | null; endsAt: Date | null } {
  const s = termAt(t, now);
  if (!t.autoRenew || s.nextRenewalAt === null) return { startsAt: t.startsAt, endsAt: t.endsAt };
  return { startsAt: s.currentStartsAt, endsAt: s.currentEndsAt };
}

/** A licence row's term (the columns of the licenses table). */
export function termOfRow(r: {
  starts_at: Date | null;
  ends_at: Date | null;
  grace_days: number;
  auto_renew: boolean;
  renewal_lead_days: number;
  maintenance_ends_at: Date | null;
  renewed_term_starts_at?: Date | null;
  renewed_term_ends_at?: Date | null;
}): LicenseTerm {
  return {
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    graceDays: r.grace_days,
    autoRenew: r.auto_renew,
    renewalLeadDays: r.renewal_lead_days,
    maintenanceEndsAt: r.maintenance_ends_at,
    renewedTerm:
      r.renewed_term_starts_at && r.renewed_term_ends_at
        ? { startsAt: r.renewed_term_starts_at, endsAt: r.renewed_term_ends_at }
        : null,
  };
}

/**
 * The renewal an auto-renewing licence is owed now, or null: its current term started
 * after the last one stored (or, with none stored, after its first term ended).
 */
export function renewalDue(
  t: LicenseTerm,
  now: Date,
): { startsAt: Date; endsAt: Date; previousEndsAt: Date } | null {
  if (!t.autoRenew || !t.endsAt) return null;
  const s = termAt(t, now);
  const last = t.renewedTerm?.endsAt ?? t.endsAt;
  if (s.nextRenewalAt === null || !s.currentStartsAt || !s.currentEndsAt) return null;
  if (s.currentStartsAt.getTime() < last.getTime()) return null;
  return { startsAt: s.currentStartsAt, endsAt: s.currentEndsAt, previousEndsAt: last };
}

export type LicenseTermRow = Parameters<typeof termOfRow>[0];

/** The licences columns a term is read from (with deleted_at, for licenseInForce). */
export const LICENSE_TERM_COLUMNS = [
  'starts_at',
  'ends_at',
  'grace_days',
  'auto_renew',
  'renewal_lead_days',
  'maintenance_ends_at',
  'renewed_term_starts_at',
  'renewed_term_ends_at',
  'deleted_at',
];

/** Whether a licence row's seats may be held now: not deleted, and its term in force. */
export function licenseInForce(
  l: LicenseTermRow & { deleted_at: Date | null },
  now: Date,
): boolean {
  return l.deleted_at === null && termAt(termOfRow(l), now).inForce;
}
