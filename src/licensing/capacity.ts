// A pool's capacity: how many seats it has and how many are free, the one rule for it.
// The fill (pool.ts), compliance, explain and the CSV import all ask this module, given
// the pool's terms and how many seats it holds (seat-counts.ts counts them, one way).
//
// - A null quantity (unlimited) and a site licence have no limit.
// - Otherwise the quantity bought is the capacity. A full pool waitlists; with the
//   `overdeploy` policy it may instead seat up to `overdeployLimit` more, each recorded
//   as over-deployed.
// - Occupied seats are active or pending reclaim (a seat in its removal grace is still paid for).

export interface PoolTerms {
  type: string;
  quantity: number | null;
  full_policy: 'waitlist' | 'overdeploy';
  overdeploy_limit: number;
}

/** Capacity of a pool: Infinity for unlimited and site licences. */
export function capacityOf(l: Pick<PoolTerms, 'type' | 'quantity'>): number {
  return l.type === 'site' || l.quantity === null ? Infinity : l.quantity;
}

export interface PoolRoom {
  /** What was bought: null when unlimited (a null quantity, or a site licence). */
  purchased: number | null;
  /** Seats held: active or pending reclaim. */
  occupied: number;
  /** Free seats within what was bought (0 when over-deployed); Infinity when unlimited. */
  available: number;
  /** Seats that may still be granted now: `available` plus what over-deployment allows. */
  free: number;
}

/** The room in a pool holding `occupied` seats. */
export function roomIn(pool: PoolTerms, occupied: number): PoolRoom {
  const capacity = capacityOf(pool);
  const headroom = pool.full_policy === 'overdeploy' ? pool.overdeploy_limit : 0;
  return {
    purchased: Number.isFinite(capacity) ? capacity : null,
    occupied,
    available: Math.max(0, capacity - occupied),
    free: Math.max(0, capacity + headroom - occupied),
  };
}

/** A pool with no room: nothing is seated (a licence not in force, or not in play). */
export const NO_ROOM: PoolRoom = { purchased: 0, occupied: 0, available: 0, free: 0 };

/**
 * The k-th newcomer (from 0) to a pool with this room, in line order: whether they are
 * seated, and whether their seat lies beyond what was bought (recorded as over-deployed).
 */
export function place(room: PoolRoom, k: number): { seated: boolean; overdeployed: boolean } {
  const seated = k < room.free;
  return { seated, overdeployed: seated && k >= room.available };
}
