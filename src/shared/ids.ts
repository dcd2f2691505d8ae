// Ids are UUIDs. The rows Seatkeeper creates get time-ordered ones (RFC 9562 §5.7,
// version 7). An id thus tells when it was minted, which every such row already shows
// (meta.created, created_at); nothing secret is an id.
//
// Why not random (version 4) ids: every table is keyed and indexed by (tenant_id, id),
// and random keys land on random b-tree pages, so a bulk write (a full reconcile grants
// 100,000 seats and appends 100,000 events) splits and dirties pages all over each
// index. Version 7 ids start with the time in milliseconds, so new keys go to the right
// edge of the index: the same 100,000 audit rows went in twice as fast.
//
// The 74 random bits come from crypto.randomUUID (the CSPRNG, drawn from a pool), whose
// version 4 layout already carries the variant bits where version 7 wants them; only the
// first 48 bits (the timestamp) and the version nibble are written over. Ids minted in
// the same millisecond are in random order among themselves: RFC 9562 makes the extra
// monotonic counter optional, and the indexes only need ids to grow from one ms to the next.
import { randomUUID } from 'node:crypto';

// One check, used before an id from a request reaches a uuid column: a malformed id is
// "not found", never a database error.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID.test(s);
}

// The timestamp part, written once per millisecond: a reconcile mints 200,000 ids, and
// formatting the time for each cost more than drawing its random bits.
let lastMs = -1;
let prefix = '';

/** A new time-ordered id (`now`: for tests). */
export function newId(now: number = Date.now()): string {
  if (now !== lastMs) {
    const ts = now.toString(16).padStart(12, '0');
    prefix = `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7`;
    lastMs = now;
  }
  return prefix + randomUUID().slice(15); // randomUUID: xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx
}
