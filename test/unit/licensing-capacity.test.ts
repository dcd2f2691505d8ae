// The one capacity rule (issue 13): the room in a pool from its quantity, type, full
// policy and over-deployment limit, and who of the newcomers is seated and over-deployed.
import fc from 'fast-check';
import { place, roomIn, type PoolTerms } from '../../src/licensing/capacity.js';

const pool = (p: Partial<PoolTerms>): PoolTerms => ({
  type: 'subscription',
  quantity: 5,
  full_policy: 'waitlist',
  overdeploy_limit: 0,
  ...p,
});

describe('the room in a pool', () => {
  test('a pool of five holding three has two free seats, within what was bought', () =>
    expect(roomIn(pool({}), 3)).toEqual({ purchased: 5, occupied: 3, available: 2, free: 2 }));
  test('a full pool that waitlists has no free seat', () =>
    expect(roomIn(pool({}), 5)).toMatchObject({ available: 0, free: 0 }));
  test('over-deployment allows its limit beyond the quantity, and no more', () => {
    const p = pool({ full_policy: 'overdeploy', overdeploy_limit: 2 });
    expect(roomIn(p, 5)).toMatchObject({ available: 0, free: 2 });
    expect(roomIn(p, 7)).toMatchObject({ available: 0, free: 0 });
    expect(roomIn(p, 9)).toMatchObject({ available: 0, free: 0 });
  });
  test('an over-deployment limit counts only under the overdeploy policy', () =>
    expect(roomIn(pool({ overdeploy_limit: 3 }), 5).free).toBe(0));
  test('a null quantity is unlimited', () =>
    expect(roomIn(pool({ quantity: null }), 1_000)).toEqual({
      purchased: null,
      occupied: 1_000,
      available: Infinity,
      free: Infinity,
    }));
  test('a site licence is unlimited whatever its quantity', () =>
    expect(roomIn(pool({ type: 'site', quantity: 1 }), 10)).toMatchObject({
      purchased: null,
      free: Infinity,
    }));
  test('a quantity of zero seats nobody unless over-deployment allows', () => {
    expect(roomIn(pool({ quantity: 0 }), 0).free).toBe(0);
    expect(
      roomIn(pool({ quantity: 0, full_policy: 'overdeploy', overdeploy_limit: 1 }), 0).free,
    ).toBe(1);
  });
  test('a pool holding more than it bought (its quantity was lowered) has no room', () =>
    expect(roomIn(pool({ quantity: 2 }), 4)).toMatchObject({ available: 0, free: 0 }));
});

describe('newcomers to a pool, in line order', () => {
  test('are seated while there is room, the ones beyond the quantity over-deployed', () => {
    const room = roomIn(pool({ full_policy: 'overdeploy', overdeploy_limit: 1 }), 3);
    expect([0, 1, 2, 3].map((k) => place(room, k))).toEqual([
      { seated: true, overdeployed: false },
      { seated: true, overdeployed: false },
      { seated: true, overdeployed: true },
      { seated: false, overdeployed: false },
    ]);
  });

  test('never take more than the quantity plus the over-deployment limit, and the over-deployed only once the quantity is used up', () =>
    fc.assert(
      fc.property(
        fc.record({
          quantity: fc.option(fc.nat(10)),
          site: fc.boolean(),
          overdeploy: fc.option(fc.nat(5)),
          occupied: fc.nat(20),
          newcomers: fc.nat(30),
        }),
        (c) => {
          const p = pool({
            type: c.site ? 'site' : 'subscription',
            quantity: c.quantity,
            full_policy: c.overdeploy === null ? 'waitlist' : 'overdeploy',
            overdeploy_limit: c.overdeploy ?? 0,
          });
          const room = roomIn(p, c.occupied);
          const placed = Array.from({ length: c.newcomers }, (_, k) => place(room, k));
          const seated = placed.filter((x) => x.seated).length;
          const over = placed.filter((x) => x.overdeployed).length;
          const unlimited = c.site || c.quantity === null;
          if (unlimited) {
            expect([seated, over]).toEqual([c.newcomers, 0]);
            return;
          }
          const limit = c.quantity! + (c.overdeploy ?? 0);
          expect(c.occupied + seated).toBeLessThanOrEqual(Math.max(limit, c.occupied));
          expect(seated).toBe(Math.min(c.newcomers, Math.max(0, limit - c.occupied)));
          expect(seated - over).toBe(Math.min(seated, Math.max(0, c.quantity! - c.occupied)));
          // Seated ones come first in line, over-deployed ones last among them.
          const firstOver = placed.findIndex((x) => x.overdeployed);
          if (firstOver >= 0)
            expect(placed.slice(firstOver, seated).every((x) => x.overdeployed)).toBe(true);
        },
      ),
      { numRuns: 300 },
    ));
});
