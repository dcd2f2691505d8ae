// knex's PostgreSQL client, with one change: a transaction opened for a tenant
// (src/db/tenant-scope.ts) sends its BEGIN and its tenant scope in one round trip.
//
// Why (issue 13, bench/RESULTS.md §15): since row-level security every request is a
// transaction that starts with BEGIN and then `set_config`, two round trips before any
// work, where the reads of a page were one or two statements before. On this machine a
// round trip is 0.15–0.3 ms, and the deep-page and cursor reads missed p99 < 10 ms by
// about that much per statement. The scope stays transaction-local (`set_config`'s third
// argument): it ends with the COMMIT or ROLLBACK like any SET LOCAL.
//
// The tenant id is written into the statement text because a simple-protocol query
// (the only kind that carries two statements) takes no parameters. It is a UUID checked
// here, character by character, so nothing else can reach the text. A nested transaction
// (a savepoint) never comes here: tenant-scope.ts scopes those with its own statement.
import type { Knex } from 'knex';
import { createRequire } from 'node:module';
import { isUuid } from '../shared/ids.js';

const require = createRequire(import.meta.url);
// knex's own classes (CommonJS, untyped): the client and its transaction.
type Ctor = new (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any
const PgClient = require('knex/lib/dialects/postgres/index.js') as Ctor;
const PgTransaction = require('knex/lib/dialects/postgres/execution/pg-transaction.js') as Ctor;

/** The custom setting row-level security reads (migrations/…_tenant_isolation.ts). */
export const TENANT_SETTING = 'seatkeeper.tenant_id';

/**
 * The transaction config that opens a transaction already scoped to `tenantId`. Its own
 * key, not knex's userParams: knex.transaction() overwrites those with the instance's.
 */
export function scopedTransactionConfig(tenantId: string): Knex.TransactionConfig {
  return { scopedTo: tenantId } as Knex.TransactionConfig;
}

/** The one statement text that begins a transaction scoped to `tenantId`. */
export function scopedBeginSql(tenantId: string): string {
  if (!isUuid(tenantId)) throw new Error(`not a tenant id: ${tenantId}`);
  return `BEGIN; SELECT set_config('${TENANT_SETTING}', '${tenantId}', true);`;
}

class ScopedTransaction extends PgTransaction {
  // Set before knex begins: the constructor only starts acquiring a connection, and
  // begin() runs once that promise settles.
  private readonly scopedTo: string | undefined;

  constructor(client: unknown, container: unknown, config: unknown, outerTx: unknown) {
    super(client, container, config, outerTx);
    this.scopedTo = (config as { scopedTo?: string } | undefined)?.scopedTo;
  }

  begin(conn: unknown): Promise<unknown> {
    if (!this.scopedTo || this.isolationLevel || this.readOnly) return super.begin(conn);
    return this.query(conn, scopedBeginSql(this.scopedTo));
  }
}

class ScopedClient extends PgClient {
  transaction(container: unknown, config: unknown, outerTx: unknown): unknown {
    return new ScopedTransaction(this, container, config, outerTx);
  }
}

/** Pass as knex's `client`: the pg client whose tenant transactions begin scoped. */
export const ScopedPgClient = ScopedClient as unknown as typeof Knex.Client;
