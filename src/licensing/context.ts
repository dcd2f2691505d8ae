// What every licensing operation runs with: the database, the tenant it acts for, who
// acts, and the clock. Its own module, so that the writers (catalog.ts) and what they
// call (reconcile, compliance) all depend on it rather than on each other.
import type { Knex } from 'knex';
import type { Actor } from '../audit/index.js';
import type { Clock } from '../shared/clock.js';
import { withTenant } from '../db/tenant-scope.js';

export interface LicensingContext {
  knex: Knex;
  tenantId: string;
  actor: Actor;
  clock: Clock;
}

/** Run `fn` in a transaction scoped to the context's tenant (src/db/tenant-scope.ts). */
export function inTenant<T>(
  ctx: LicensingContext,
  fn: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  return withTenant(ctx.knex, ctx.tenantId, fn);
}
