// Domain events for webhook receivers (issue 14; the Standard Webhooks specification):
// what happened, to which seat, user or licence, published in the transaction of the
// change that caused it. Each event is one outbox message on the 'webhook' channel whose
// payload is the body receivers get, `{"type", "timestamp", "data"}`; delivery to the
// tenant's subscribed endpoints happens afterwards (at least once, signed per attempt).
// The dedupe key makes a retried job publish an event once: a reclaim scheduled for a
// seat is "seat.reclaim_scheduled" once per scheduled date, not once per scan.
import type { Knex } from 'knex';
import { enqueue } from './outbox.js';

export const EVENT_TYPES = [
  'seat.granted',
  'seat.waitlisted',
  'seat.reclaim_scheduled',
  'seat.restored',
  'seat.reclaimed',
  // An admin released a manual seat or transferred it (seat.reclaimed is the policy's).
  'seat.released',
  'license.threshold_crossed',
  'license.expiring',
  'license.renewed',
  'license.expired',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface DomainEvent {
  type: EventType;
  /** Ids a receiver can look up (seatId, userId, licenseId) and what changed. */
  data: Record<string, unknown>;
  /** Same key, same event: published once however often the cause is seen again. */
  dedupeKey: string;
}

/** The body a receiver gets for an event. */
export interface EventBody {
  type: EventType;
  timestamp: string;
  data: Record<string, unknown>;
}

/** Publish events in the caller's transaction; answers how many were new. */
export function publishEvents(
  trx: Knex.Transaction,
  tenantId: string,
  events: DomainEvent[],
  now: Date,
): Promise<number> {
  const timestamp = now.toISOString();
  return enqueue(
    trx,
    tenantId,
    events.map((e) => ({
      channel: 'webhook' as const,
      type: e.type,
      dedupeKey: `${e.type}:${e.dedupeKey}`,
      payload: { type: e.type, timestamp, data: e.data } satisfies EventBody,
    })),
    now,
  );
}

/**
 * The event types some enabled endpoint of the tenant subscribes to, read in the
 * caller's transaction. Publishers with many events (a full reconcile changes 100,000
 * seats) ask this first and build only those: a tenant without webhooks pays one
 * indexed query, not an outbox row per change.
 */
export async function subscribedEventTypes(
  trx: Knex.Transaction,
  tenantId: string,
): Promise<Set<EventType>> {
  const { rows } = (await trx.raw(
    `SELECT DISTINCT unnest(events) AS type FROM webhook_endpoints
      WHERE tenant_id = ? AND NOT disabled`,
    [tenantId],
  )) as { rows: Array<{ type: EventType }> };
  return new Set(rows.map((r) => r.type));
}

/** Publish the events `build` makes for the subscribed types, if any are subscribed. */
export async function publishSubscribedEvents(
  trx: Knex.Transaction,
  tenantId: string,
  build: (subscribed: Set<EventType>) => DomainEvent[],
  now: Date,
): Promise<number> {
  const subscribed = await subscribedEventTypes(trx, tenantId);
  if (subscribed.size === 0) return 0;
  const events = build(subscribed).filter((e) => subscribed.has(e.type));
  return publishEvents(trx, tenantId, events, now);
}
