// Seat changes as webhook events (issue 14): what a receiver is told, with the ids it can
// look up. A seat moved to released by the reconciler or reclamation is "reclaimed",
// whatever its reason (left the group, deprovisioned, inactive, licence gone): the
// reason says which. An admin's release or transfer (seats.ts) is "released".
import type { Knex } from 'knex';
import {
  publishSubscribedEvents,
  type DomainEvent,
  type EventType,
} from '../notifications/index.js';
import type { SeatChange } from './records.js';

function typeOf(c: SeatChange): EventType {
  if (c.to === 'active') return c.from === 'pending_reclaim' ? 'seat.restored' : 'seat.granted';
  if (c.to === 'waitlisted') return 'seat.waitlisted';
  if (c.to === 'pending_reclaim') return 'seat.reclaim_scheduled';
  return c.reason === 'released_by_admin' || c.reason === 'transferred'
    ? 'seat.released'
    : 'seat.reclaimed';
}

/** Publish the changes' events (the subscribed ones) in the changing transaction. */
export function publishSeatEvents(
  trx: Knex.Transaction,
  tenantId: string,
  changes: SeatChange[],
  now: Date,
): Promise<number> {
  if (changes.length === 0) return Promise.resolve(0);
  return publishSubscribedEvents(
    trx,
    tenantId,
    (subscribed) => seatDomainEvents(changes, now.toISOString(), subscribed),
    now,
  );
}

/**
 * The events of the changes made at `at`, for the subscribed types only. The key names
 * the seat, the move and its time: a transaction retried after a rollback publishes
 * once, and the same seat granted again next week is a new event.
 */
export function seatDomainEvents(
  changes: SeatChange[],
  at: string,
  subscribed: Set<EventType>,
): DomainEvent[] {
  const events: DomainEvent[] = [];
  for (const c of changes) {
    const type = typeOf(c);
    if (!subscribed.has(type)) continue;
    events.push({
      type,
      dedupeKey: `${c.seatId}:${c.from ?? 'new'}>${c.to}:${at}`,
      data: {
        seatId: c.seatId,
        userId: c.userId,
        licenseId: c.licenseId,
        ruleId: c.ruleId,
        from: c.from,
        to: c.to,
        reason: c.reason,
      },
    });
  }
  return events;
}
