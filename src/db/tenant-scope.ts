// The one way the service reaches a tenant's rows (issue 13). PostgreSQL's row-level
// security (migrations/20261207001000_tenant_isolation.ts) shows a transaction only the
// rows of the tenant it set for itself, and refuses any tenant query in a transaction
// that set none. This module sets it: `withTenant` opens the transaction (retried on a
// deadlock, db/retry.ts) and scopes it before `fn` sees it.
//
// The setting is transaction-local (set_config's third argument, SQL's SET LOCAL), so
// it ends with the transaction and a pooled connection never carries it into the next
// one. Queries keep their own `tenant_id = ?` conditions too: they are what the
// indexes are chosen by, and they keep each query readable on its own.
import type { Knex } from 'knex';
import { AppError } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';
import { retryingTransaction, type RetryOptions } from './retry.js';
import { ScopedPgClient, scopedTransactionConfig, TENANT_SETTING } from './scoped-begin.js';

export { ScopedPgClient, TENANT_SETTING };

/** Scope an open transaction to `tenantId` for the rest of it. */
export async function scopeToTenant(trx: Knex.Transaction, tenantId: string): Promise<void> {
  // Ids reach here from verified tokens and stored rows; a malformed one is a bug.
  if (!isUuid(tenantId)) throw new AppError('internal', `not a tenant id: ${tenantId}`);
  await trx.raw('SELECT set_config(?, ?, true)', [TENANT_SETTING, tenantId]);
}

/**
 * Run `fn` in a transaction scoped to `tenantId`. Inside a transaction already (a
 * savepoint then), the scope is set again: a caller's transaction for another tenant
 * must not lend it its rows.
 */
export function withTenant<T>(
  knex: Knex,
  tenantId: string,
  fn: (trx: Knex.Transaction) => Promise<T>,
  opts?: RetryOptions,
): Promise<T> {
  // A top-level transaction on our client is scoped by its BEGIN (db/scoped-begin.ts);
  // a savepoint, or a knex made with knex's plain client, by a statement of its own.
  const scopedByBegin = !knex.isTransaction && knex.client instanceof ScopedPgClient;
  if (!isUuid(tenantId)) throw new AppError('internal', `not a tenant id: ${tenantId}`);
  return retryingTransaction(
    knex,
    async (trx) => {
      if (!scopedByBegin) await scopeToTenant(trx, tenantId);
      return fn(trx);
    },
    { ...opts, ...(scopedByBegin ? { config: scopedTransactionConfig(tenantId) } : {}) },
  );
}

/** Every tenant's id (a definer function: ids only), for work that walks them one by one. */
export async function allTenantIds(knex: Knex): Promise<string[]> {
  const { rows } = (await knex.raw('SELECT t AS id FROM seatkeeper_tenant_ids() AS t')) as {
    rows: Array<{ id: string }>;
  };
  return rows.map((r) => r.id);
}
