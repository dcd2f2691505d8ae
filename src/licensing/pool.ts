// A licence's pool: its capacity, and seating its waitlist while there is room. Called
// by the reconciler with the licences locked, so counts and promotions are exact.
import type { Knex } from 'knex';
import { countsOf, seatCounts } from './seat-counts.js';

export interface PoolLicense {
  license_id: string;
  type: string;
  quantity: number | null;
  full_policy: 'waitlist' | 'overdeploy';
  overdeploy_limit: number;
}

export interface PromotedSeat {
  seat_id: string;
  license_id: string;
  user_id: string;
  rule_id: string | null;
  overdeployed: boolean;
}

/** Capacity of a pool: Infinity for unlimited and site licences. */
export function capacityOf(l: Pick<PoolLicense, 'type' | 'quantity'>): number {
  return l.type === 'site' || l.quantity === null ? Infinity : l.quantity;
}

export interface Room {
  /** Seats still free for the newly eligible, over-deployment headroom included. */
  left: number;
  /** Free seats within the purchased quantity; below zero means over-deployed. */
  beyondCapacityAfter: number;
}

/**
 * Seat the waitlist in order while there is room; report the room left per licence. A
 * licence not in force (not started, expired) seats nobody: manual seats assigned to it
 * wait in line until it starts or is renewed.
 */
export async function fill(
  trx: Knex.Transaction,
  tenantId: string,
  licences: PoolLicense[],
  inForce: Set<string>,
  at: string,
): Promise<{ promoted: PromotedSeat[]; room: Map<string, Room> }> {
  const promoted: PromotedSeat[] = [];
  const room = new Map<string, Room>();
  const counts = await seatCounts(
    trx,
    tenantId,
    licences.map((l) => l.license_id),
  );
  for (const l of licences) {
    const capacity = capacityOf(l);
    const { occupied, waiting } = countsOf(counts, l.license_id);
    const headroom = l.full_policy === 'overdeploy' ? l.overdeploy_limit : 0;
    const free = capacity + headroom - occupied;
    let ids: string[] = [];
    if (free > 0 && waiting > 0 && inForce.has(l.license_id)) {
      // The first in line (an index scan of seats_queue_idx), promoted by primary key: a
      // join between the queue and the table is planned on stale statistics right after
      // a bulk insert, and crawled through as a nested loop.
      const next = trx('seats')
        .where({ tenant_id: tenantId, license_id: l.license_id, state: 'waitlisted' })
        .orderBy([
          { column: 'eligible_since' },
          { column: 'queue_priority' },
          { column: 'seat_id' },
        ])
        .pluck('seat_id');
      if (Number.isFinite(free)) next.limit(free);
      ids = await next;
    }
    // Seats beyond the purchased quantity are recorded as over-deployed.
    const within = Math.max(0, Math.min(ids.length, capacity - occupied));
    for (const [part, overdeployed] of [
      [ids.slice(0, within), false],
      [ids.slice(within), true],
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
    room.set(l.license_id, {
      left: inForce.has(l.license_id) ? Math.max(0, free - ids.length) : 0,
      beyondCapacityAfter: capacity - occupied - ids.length,
    });
  }
  return { promoted, room };
}
