// Licence terms: when a licence is in force, how auto-renewing terms roll forward, and
// the phases compliance reports (renewal due, expiring soon, in grace, expired).
import { LicenseInput } from '../../src/licensing/model.js';
import { planImport } from '../../src/licensing/import.js';
import {
  addMonths,
  renewalDue,
  termAt,
  termDatesProblem,
  termLength,
  termWhenAutoRenewStops,
  type LicenseTerm,
} from '../../src/licensing/term.js';

const d = (s: string) => new Date(s);
const iso = (x: Date | null) => x?.toISOString() ?? null;
const term = (t: Partial<LicenseTerm>): LicenseTerm => ({
  startsAt: null,
  endsAt: null,
  graceDays: 0,
  autoRenew: false,
  renewalLeadDays: 30,
  maintenanceEndsAt: null,
  ...t,
});

describe('calendar months', () => {
  test('a month after 31 January is the last day of February, in leap years the 29th', () => {
    expect(iso(addMonths(d('2026-01-31T10:30:00Z'), 1))).toBe('2026-02-28T10:30:00.000Z');
    expect(iso(addMonths(d('2028-01-31T00:00:00Z'), 1))).toBe('2028-02-29T00:00:00.000Z');
  });
  test('months can be counted backwards and across years', () => {
    expect(iso(addMonths(d('2026-03-31T00:00:00Z'), -13))).toBe('2025-02-28T00:00:00.000Z');
    expect(iso(addMonths(d('2026-11-15T00:00:00Z'), 3))).toBe('2027-02-15T00:00:00.000Z');
  });
});

describe('term length', () => {
  test('dates a whole number of months apart make a term of calendar months', () => {
    expect(termLength(d('2025-01-01'), d('2026-01-01'))).toEqual({ months: 12 });
    expect(termLength(d('2026-01-15'), d('2026-04-15'))).toEqual({ months: 3 });
    expect(termLength(d('2026-01-31'), d('2026-02-28'))).toEqual({ months: 1 });
    expect(termLength(d('2024-02-29'), d('2025-02-28'))).toEqual({ months: 12 });
  });
  test('other dates make a term of their exact duration', () =>
    expect(termLength(d('2026-01-01'), d('2026-01-31'))).toEqual({ ms: 30 * 86_400_000 }));
  test('without a start date a term is one year', () =>
    expect(termLength(null, d('2026-01-01'))).toEqual({ months: 12 }));
});

describe('a fixed term', () => {
  const fixed = term({ startsAt: d('2026-01-01'), endsAt: d('2026-12-31') });
  test('is active, then expiring soon within the renewal lead time, until its end inclusive', () => {
    expect(termAt(fixed, d('2026-06-01')).phase).toBe('active');
    expect(termAt(fixed, d('2026-12-15')).phase).toBe('expiring_soon');
    expect(termAt(fixed, d('2026-12-31T00:00:00Z'))).toMatchObject({
      phase: 'expiring_soon',
      inForce: true,
    });
    expect(termAt(fixed, d('2026-12-31T00:00:01Z'))).toMatchObject({
      phase: 'expired',
      inForce: false,
      nextRenewalAt: null,
    });
  });
  test('with a grace period stays in force, in grace, until the end plus the grace days', () => {
    const graced = { ...fixed, graceDays: 10 };
    expect(termAt(graced, d('2027-01-05'))).toMatchObject({
      phase: 'in_grace',
      inForce: true,
      graceEndsAt: d('2027-01-10T00:00:00Z'),
    });
    expect(termAt(graced, d('2027-01-10T00:00:00Z')).phase).toBe('in_grace');
    expect(termAt(graced, d('2027-01-10T00:00:01Z'))).toMatchObject({
      phase: 'expired',
      inForce: false,
    });
  });
  test('is not in force before it starts', () =>
    expect(termAt(fixed, d('2025-12-31'))).toMatchObject({ phase: 'not_started', inForce: false }));
  test('without an end date never expires and never renews', () =>
    expect(termAt(term({ startsAt: d('2020-01-01') }), d('2090-01-01'))).toMatchObject({
      phase: 'active',
      inForce: true,
      currentEndsAt: null,
      nextRenewalAt: null,
    }));
  test('a renewal lead time of zero never warns', () =>
    expect(termAt({ ...fixed, renewalLeadDays: 0 }, d('2026-12-30T23:59:59Z')).phase).toBe(
      'active',
    ));
});

describe('an auto-renewing term', () => {
  const yearly = term({ startsAt: d('2024-01-01'), endsAt: d('2025-01-01'), autoRenew: true });
  test('does not expire at its end date: it rolls forward by its length', () => {
    expect(termAt(yearly, d('2026-06-15'))).toMatchObject({
      phase: 'active',
      inForce: true,
      currentStartsAt: d('2026-01-01'),
      currentEndsAt: d('2027-01-01'),
      nextRenewalAt: d('2027-01-01'),
    });
  });
  test('is renewal due, not expiring, within the lead time before the next renewal', () =>
    expect(termAt(yearly, d('2026-12-15'))).toMatchObject({
      phase: 'renewal_due',
      nextRenewalAt: d('2027-01-01'),
    }));
  test('ignores the grace period: there is no end to be in grace after', () =>
    expect(termAt({ ...yearly, graceDays: 30 }, d('2026-01-05'))).toMatchObject({
      phase: 'active',
      graceEndsAt: null,
    }));
  test('renews at the instant its term ends: the end belongs to the term that ends', () => {
    expect(iso(termAt(yearly, d('2026-01-01T00:00:00Z')).currentEndsAt)).toBe(
      '2026-01-01T00:00:00.000Z',
    );
    expect(iso(termAt(yearly, d('2026-01-01T00:00:00.001Z')).currentEndsAt)).toBe(
      '2027-01-01T00:00:00.000Z',
    );
  });
  test('a yearly term from 29 February renews on the 28th, and on the 29th in leap years', () => {
    const leap = term({ startsAt: d('2024-02-29'), endsAt: d('2025-02-28'), autoRenew: true });
    expect(iso(termAt(leap, d('2025-06-01')).currentEndsAt)).toBe('2026-02-28T00:00:00.000Z');
    expect(termAt(leap, d('2027-06-01'))).toMatchObject({
      currentStartsAt: d('2027-02-28'),
      currentEndsAt: d('2028-02-29'),
    });
  });
  test('without a start date it renews yearly on its end date, leap days included', () => {
    const noStart = term({ endsAt: d('2024-02-29T12:00:00Z'), autoRenew: true });
    expect(iso(termAt(noStart, d('2024-03-01')).nextRenewalAt)).toBe('2025-02-28T12:00:00.000Z');
    expect(iso(termAt(noStart, d('2028-01-01')).nextRenewalAt)).toBe('2028-02-29T12:00:00.000Z');
    // Its first term has no known start.
    expect(termAt(noStart, d('2024-01-01')).currentStartsAt).toBeNull();
  });
  test('a monthly term from the 31st stays at month end instead of drifting to the 28th', () => {
    const monthly = term({ startsAt: d('2026-01-31'), endsAt: d('2026-02-28'), autoRenew: true });
    expect(iso(termAt(monthly, d('2026-03-15')).currentEndsAt)).toBe('2026-03-31T00:00:00.000Z');
    expect(iso(termAt(monthly, d('2026-04-10')).currentEndsAt)).toBe('2026-04-30T00:00:00.000Z');
  });
  test('a term of days renews every that many days', () => {
    const trial = term({ startsAt: d('2026-01-01'), endsAt: d('2026-01-31'), autoRenew: true });
    expect(termAt(trial, d('2026-03-10'))).toMatchObject({
      currentStartsAt: d('2026-03-02'),
      currentEndsAt: d('2026-04-01'),
    });
  });
  test('an end date decades past is rolled to the current term at once', () => {
    const old = term({ startsAt: d('1990-01-01'), endsAt: d('1990-02-01'), autoRenew: true });
    expect(termAt(old, d('2026-06-15'))).toMatchObject({
      currentStartsAt: d('2026-06-01'),
      currentEndsAt: d('2026-07-01'),
      phase: 'renewal_due',
    });
    const daily = term({ startsAt: d('1970-01-01'), endsAt: d('1970-01-02'), autoRenew: true });
    expect(termAt(daily, d('2026-06-15T12:00:00Z')).currentEndsAt).toEqual(d('2026-06-16'));
  });
  test('before its start it is not in force, and its first renewal is its end date', () =>
    expect(termAt(yearly, d('2023-12-01'))).toMatchObject({
      phase: 'not_started',
      inForce: false,
      nextRenewalAt: d('2025-01-01'),
    }));
  test('switching auto-renew off keeps the term running now', () => {
    expect(termWhenAutoRenewStops(yearly, d('2026-06-15'))).toEqual({
      startsAt: d('2026-01-01'),
      endsAt: d('2027-01-01'),
    });
    const fixed = { ...yearly, autoRenew: false };
    expect(termWhenAutoRenewStops(fixed, d('2026-06-15'))).toEqual({
      startsAt: d('2024-01-01'),
      endsAt: d('2025-01-01'),
    });
  });
});

describe('maintenance', () => {
  test('ending does not take the licence out of force', () =>
    expect(
      termAt(
        term({ maintenanceEndsAt: d('2026-01-01'), endsAt: d('2030-01-01') }),
        d('2026-06-01'),
      ),
    ).toMatchObject({ maintenanceExpired: true, inForce: true, phase: 'active' }));
  test('still running is not reported', () =>
    expect(termAt(term({ maintenanceEndsAt: d('2027-01-01') }), d('2026-06-01'))).toMatchObject({
      maintenanceExpired: false,
    }));
});

describe('empty terms are refused', () => {
  const licence = {
    productId: '6f1c1a59-3c56-4c1a-9b6a-1b0b0c0d0e0f',
    name: 'Pool',
    type: 'subscription',
    quantity: 5,
  };
  test('an end at the start, or before it, is not a term', () => {
    expect(termDatesProblem(d('2026-01-01'), d('2026-01-01'))).toMatch(/after startsAt/);
    expect(termDatesProblem(d('2026-01-02'), d('2026-01-01'))).toMatch(/after startsAt/);
    expect(termDatesProblem(d('2026-01-01'), d('2026-01-01T00:00:00.001Z'))).toBeNull();
    expect(termDatesProblem(null, d('2026-01-01'))).toBeNull();
  });
  test('licence input naming such dates is refused on endsAt', () => {
    const r = LicenseInput.safeParse({
      ...licence,
      startsAt: '2026-01-01',
      endsAt: '2026-01-01T00:00:00Z',
      autoRenew: true,
    });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['endsAt']);
    expect(LicenseInput.safeParse({ ...licence, startsAt: '2026-01-01' }).success).toBe(true);
  });
  test('an import row naming such dates is reported on its line', async () => {
    const { errors } = await planImport(
      'product,license,type,startsAt,endsAt\nA,L,subscription,2026-02-01,2026-02-01\n',
    );
    expect(errors).toEqual([
      { line: 2, message: 'endsAt must be after startsAt (a term cannot be empty or negative)' },
    ]);
  });
  test('stored dates that slipped past validation are read as a fixed term, never rolled', () =>
    expect(
      termAt(
        term({ startsAt: d('2026-01-01'), endsAt: d('2026-01-01'), autoRenew: true }),
        d('2026-06-01'),
      ),
    ).toMatchObject({ phase: 'expired', nextRenewalAt: null }));
});

describe('a stored renewal (issue 14: subscription-renewal stores each term)', () => {
  const yearly = term({ startsAt: d('2024-01-01'), endsAt: d('2025-01-01'), autoRenew: true });
  test('is the current term while it runs, even where the dates compute another', () => {
    // A renewal negotiated to a 13-month term: the stored term, not the computed year.
    const stored = {
      ...yearly,
      renewedTerm: { startsAt: d('2025-01-01'), endsAt: d('2026-02-01') },
    };
    expect(termAt(stored, d('2026-01-15'))).toMatchObject({
      currentStartsAt: d('2025-01-01'),
      currentEndsAt: d('2026-02-01'),
      nextRenewalAt: d('2026-02-01'),
    });
    expect(renewalDue(stored, d('2026-01-15'))).toBeNull();
  });
  test('is owed once the current term starts after the last stored end, and is that term', () => {
    expect(renewalDue(yearly, d('2024-06-01'))).toBeNull();
    expect(renewalDue(yearly, d('2026-06-01'))).toEqual({
      startsAt: d('2026-01-01'),
      endsAt: d('2027-01-01'),
      previousEndsAt: d('2025-01-01'),
    });
    const renewed = {
      ...yearly,
      renewedTerm: { startsAt: d('2026-01-01'), endsAt: d('2027-01-01') },
    };
    expect(renewalDue(renewed, d('2026-06-01'))).toBeNull();
    expect(renewalDue(renewed, d('2027-01-01T00:00:00.001Z'))).toMatchObject({
      startsAt: d('2027-01-01'),
      previousEndsAt: d('2027-01-01'),
    });
  });
  test('is never owed by a fixed term', () =>
    expect(renewalDue({ ...yearly, autoRenew: false }, d('2026-06-01'))).toBeNull());
});
