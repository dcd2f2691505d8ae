// Writing POST /Users. A create is one statement: the user's INSERT with its audit event
// queued as a CTE (chained later by the settler), in autocommit, scoping itself to its
// tenant (resource-table.ts insertBatch). Creates of one tenant that arrive
// together, as an IdP's provisioning workers send them, are coalesced into one such
// statement for the lot (src/db/coalesce.ts): under load, the statement, not the row,
// was most of a create's cost. Each request still gets its own row or its own error: a
// create the statement left out (a duplicate userName) runs again alone, in a scoped
// transaction, and meets its error there.
import type { Knex } from 'knex';
import { type AuditEventInput, queuedEventInsert, queuedEvents } from '../audit/index.js';
import { coalescer, type Coalescer } from '../db/coalesce.js';
import { withTenant } from '../db/tenant-scope.js';
import type { BatchRows } from './resource-table.js';
import type { StoredData, UserRow } from './types.js';
import { insertUser, insertUsers, newUserRow } from './users.js';
import type { Clock } from '../shared/clock.js';

export interface UserCreate {
  tenantId: string;
  id: string;
  data: StoredData;
  now: Date;
  event: AuditEventInput;
  clock: Clock;
}

/** Batches at the server at once, and creates in one batch. */
const MAX_IN_FLIGHT = 4;
const MAX_BATCH = 100;

/** One create, one statement. */
export function insertCreate(db: Knex, c: UserCreate): Promise<UserRow> {
  return insertUser(db, c.tenantId, c.data, c.now, {
    id: c.id,
    alongside: { audit: queuedEventInsert(c.tenantId, c.event, c.clock) },
  });
}

// The batch's events: each created user's event, its payload what the user's row stored.
const eventsOfBatch = (rows: BatchRows) =>
  queuedEvents.insert({ from: rows.from, event: rows.extra, body: rows.data, order: rows.order });

async function insertCreates(db: Knex, creates: UserCreate[]) {
  const ids = await insertUsers(
    db,
    creates.map((c) => ({
      tenantId: c.tenantId,
      id: c.id,
      data: c.data,
      now: c.now,
      extra: queuedEvents.document(c.tenantId, c.event, c.clock),
    })),
    eventsOfBatch,
  );
  return creates.map((c, i) =>
    ids[i] === undefined ? undefined : newUserRow(c.id, c.data, c.now),
  );
}

// SQLSTATE classes that say nothing about the statement's data: connection exception,
// insufficient resources, operator intervention, system error, internal error. After
// one of these (or an error with no SQLSTATE: the socket), the batch may have committed.
const NOT_THE_DATA = new Set(['08', '53', '57', '58', 'XX']);
const refusedForItsData = (err: unknown) => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && !NOT_THE_DATA.has(code.slice(0, 2));
};

// One coalescer per database handle: tests run apps on several, one schema each.
const perDatabase = new WeakMap<Knex, Coalescer<UserCreate, UserRow>>();

/**
 * Write a create, together with whatever other creates of its tenant are waiting. Inside
 * a transaction (scoped already), just the insert.
 */
export function writeCreate(db: Knex, c: UserCreate): Promise<UserRow> {
  if (db.isTransaction) return insertCreate(db, c);
  let creates = perDatabase.get(db);
  if (!creates) {
    // The exact path: the plain INSERT, whose error (a duplicate userName) is the request's.
    const exactly = (one: UserCreate) =>
      withTenant(db, one.tenantId, (trx) => insertCreate(trx, one));
    creates = coalescer({
      // Alone, the same statement; if it left the create out or refused it for its data
      // (it wrote nothing then), the exact path says why.
      runOne: async (one) => {
        const row = await insertCreates(db, [one]).then(
          (rows) => rows[0],
          (err: unknown) => {
            if (refusedForItsData(err)) return undefined;
            throw err;
          },
        );
        return row ?? exactly(one);
      },
      runBatch: (many) => insertCreates(db, many),
      keyOf: (one) => one.tenantId,
      maxInFlight: MAX_IN_FLIGHT,
      maxBatch: MAX_BATCH,
      retryAlone: refusedForItsData,
    });
    perDatabase.set(db, creates);
  }
  return creates.submit(c);
}
