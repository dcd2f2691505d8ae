// The pure parts of seat allocation: when a licence is in force, a pool's capacity, and
// how a waitlist position and compliance status are derived.
import { capacityOf } from '../../src/licensing/capacity.js';
import { licenseInForce } from '../../src/licensing/term.js';
import { LicenseInput, RuleInput } from '../../src/licensing/model.js';
import { planImport } from '../../src/licensing/import.js';

const now = new Date('2026-06-15T12:00:00Z');
const base = {
  starts_at: null,
  ends_at: null,
  grace_days: 0,
  auto_renew: false,
  renewal_lead_days: 30,
  maintenance_ends_at: null,
  deleted_at: null,
};

describe('a licence is in force', () => {
  test('with no dates, always', () => expect(licenseInForce(base, now)).toBe(true));
  test('not before it starts', () =>
    expect(licenseInForce({ ...base, starts_at: new Date('2026-07-01') }, now)).toBe(false));
  test('until its end plus the grace period', () => {
    const ended = { ...base, ends_at: new Date('2026-06-10T00:00:00Z') };
    expect(licenseInForce(ended, now)).toBe(false);
    expect(licenseInForce({ ...ended, grace_days: 7 }, now)).toBe(true);
    expect(licenseInForce({ ...ended, grace_days: 5 }, now)).toBe(false);
  });
  test('past its end date when it renews automatically', () =>
    expect(
      licenseInForce({ ...base, ends_at: new Date('2026-06-10T00:00:00Z'), auto_renew: true }, now),
    ).toBe(true));
  test('never once deleted', () =>
    expect(licenseInForce({ ...base, deleted_at: new Date('2026-01-01') }, now)).toBe(false));
});

describe('pool capacity', () => {
  test('is the quantity', () =>
    expect(capacityOf({ type: 'subscription', quantity: 50 })).toBe(50));
  test('is unlimited for a null quantity', () =>
    expect(capacityOf({ type: 'perpetual', quantity: null })).toBe(Infinity));
  test('is unlimited for a site licence, whatever its quantity', () =>
    expect(capacityOf({ type: 'site', quantity: 3 })).toBe(Infinity));
});

describe('licence and rule input', () => {
  test('defaults: waitlist when full, thresholds 80/90/100', () => {
    const l = LicenseInput.parse({
      productId: '6f1c1a59-3c56-4c1a-9b6a-1b0b0c0d0e0f',
      name: 'Pool',
      type: 'trial',
      quantity: 5,
    });
    expect(l).toMatchObject({
      fullPolicy: 'waitlist',
      alertThresholds: [80, 90, 100],
      graceDays: 0,
      entitlements: [],
    });
  });
  test('unknown fields are refused (no silent typos)', () => {
    expect(() =>
      LicenseInput.parse({
        productId: '6f1c1a59-3c56-4c1a-9b6a-1b0b0c0d0e0f',
        name: 'P',
        type: 'trial',
        quantity: 1,
        quantitty: 2,
      }),
    ).toThrow();
  });
  test('a rule needs a licence and a group', () => {
    expect(() => RuleInput.parse({ licenseId: '6f1c1a59-3c56-4c1a-9b6a-1b0b0c0d0e0f' })).toThrow();
  });
});

describe('import planning', () => {
  test('rows of one licence merge; each assignee is a seat', async () => {
    const { plan, errors } = await planImport(
      'product,license,type,quantity,assignee\nA,L,trial,2,x@y\nA,L,,,z@y\n',
    );
    expect(errors).toEqual([]);
    expect(plan).toHaveLength(1);
    expect(plan[0]!.assignees.map((a) => a.userName)).toEqual(['x@y', 'z@y']);
  });
  test('a contradiction between rows of one licence is reported on the later line', async () => {
    const { errors } = await planImport(
      'product,license,type,quantity\nA,L,trial,2\nA,L,trial,3\n',
    );
    expect(errors).toEqual([
      { line: 3, message: 'quantity contradicts line 2 for the same licence' },
    ]);
  });
  test('unknown and missing columns are reported on line 1', async () => {
    const { errors } = await planImport('product,licence,type\nA,L,trial\n');
    expect(errors.map((e) => e.message)).toEqual([
      'missing column "license"',
      'unknown column: licence',
    ]);
  });
  test('a CSV syntax error is a clear error with its line', async () => {
    await expect(planImport('product,license,type\n"A,L,trial\n')).rejects.toThrow(/line \d/);
  });
});
