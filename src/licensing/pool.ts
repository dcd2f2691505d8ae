// A licence's pool: its waiting line, and seating it while there is room. Called by the
// reconciler with the licences locked, so counts and promotions are exact. How much room
// there is comes from capacity.ts; how many seats are held, from seat-counts.ts.
import type { Knex } from 'knex';
import { place, roomIn, type PoolRoom, type PoolTerms } from './capacity.js';
import { countsOf, seatCounts } from './seat-counts.js';

export interface PoolLicense extends PoolTerms {
  license_id: string;
}

export interface PromotedSeat {
  seat_id: string;
  license_id: string;
  user_id: string;
  rule_id: string | null;
  overdeployed: boolean;
}

/** The line's order: first eligible first served; rule priority, then the seat id, break ties. */
export const QUEUE_ORDER = ['eligible_since', 'queue_priority', 'seat_id'] as const;

/**
 * Seat the waitlist in order while there is room; report the room left per licence. A
 * licence not in force (not started, expired) seats nobody: manual seats assigned to it
 * wait in line until it starts or is renewed, and it has no room for newcomers.
 */
export async function fill(
  trx: Knex.Transaction,
  tenantId: string,
  licences: PoolLicense[],
  inForce: ReadonlySet<string>,
  at: string,
): Promise<{ promoted: PromotedSeat[]; room: Map<string, PoolRoom> }> {
  const promoted: PromotedSeat[] = [];
  const room = new Map<string, PoolRoom>();
  const counts = await seatCounts(
    trx,
    tenantId,
    licences.map((l) => l.license_id),
  );
  for (const l of licences) {
    const { occupied, waiting } = countsOf(counts, l.license_id);
    const before = roomIn(l, occupied);
    let ids: string[] = [];
    if (before.free > 0 && waiting > 0 && inForce.has(l.license_id)) {
      // The first in line (an index scan of seats_queue_idx), promoted by primary key: a
      // join between the queue and the table is planned on stale statistics right after
      // a bulk insert, and crawled through as a nested loop.
      const next = trx('seats')
        .where({ tenant_id: tenantId, license_id: l.license_id, state: 'waitlisted' })
        .orderBy(QUEUE_ORDER.map((column) => ({ column })))
        .pluck('seat_id');
      if (Number.isFinite(before.free)) next.limit(before.free);
      ids = await next;
    }
    const within = ids.filter((_, k) => !place(before, k).overdeployed);
    for (const [part, overdeployed] of [
      [within, false],
      [ids.slice(within.length), true],
    ] as const) {
      for (let i = 0; i < part.length; i += 5000) {
        promoted.push(
          ...(await trx('seats')
            .where({ tenant_id: tenantId })
            .whereIn('seat_id', part.slice(i, i + 5000))
            .update({ state: 'active', granted_at: at, updated_at: at, overdeployed })
            .returning([
              'seat_id',
              'license_id',
              'user_id',
              'state',
              'source',
              'rule_id',
              'reclaim_after',
              'overdeployed',
            ])),
        );
      }
    }
    room.set(
      l.license_id,
      inForce.has(l.license_id)
        ? roomIn(l, occupied + ids.length)
        : { ...roomIn(l, occupied), free: 0 },
    );
  }
  return { promoted, room };
}

/** A waiting seat's place in its licence's line (1 is next), in QUEUE_ORDER. */
export async function placeInLine(
  db: Knex,
  tenantId: string,
  seat: { license_id: string; eligible_since: Date; queue_priority: number; seat_id: string },
): Promise<number> {
  const [ahead] = await db('seats')
    .where({ tenant_id: tenantId, license_id: seat.license_id, state: 'waitlisted' })
    .whereRaw(`(${QUEUE_ORDER.join(', ')}) < (?, ?, ?)`, [
      seat.eligible_since,
      seat.queue_priority,
      seat.seat_id,
    ])
    .count({ n: '*' });
  return Number(ahead?.n ?? 0) + 1;
}
