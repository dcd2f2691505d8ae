// The full reconcile: the safety net behind the in-transaction reconciles (and what
// reclaims seats whose removal grace has run out). A second run changes nothing.
import type { Knex } from 'knex';
import type { Actor } from '../audit/index.js';
import { allTenantIds, withTenant } from '../db/tenant-scope.js';
import type { Clock } from '../shared/clock.js';
import { reconcile, type SeatChange } from './reconcile.js';

export async function reconcileTenant(
  knex: Knex,
  tenantId: string,
  ctx: { clock: Clock; actor: Actor },
): Promise<SeatChange[]> {
  return withTenant(knex, tenantId, (trx) => reconcile(trx, tenantId, { all: true }, ctx));
}

/** Every tenant, one transaction each (a tenant's trouble never blocks another's). */
export async function reconcileAllTenants(
  knex: Knex,
  ctx: { clock: Clock; actor: Actor },
): Promise<Map<string, SeatChange[]>> {
  const out = new Map<string, SeatChange[]>();
  for (const t of await allTenantIds(knex)) out.set(t, await reconcileTenant(knex, t, ctx));
  return out;
}
