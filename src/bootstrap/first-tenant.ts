// On the first start with an empty database, create a tenant so that a newcomer can
// point an identity provider at the service right away. Its tokens are printed once,
// to stdout (never to the log), and cannot be shown again.
import type { Knex } from 'knex';
import { allTenantIds } from '../db/tenant-scope.js';
import type { Clock } from '../shared/clock.js';
import { type CreatedTenant, createTenant } from '../tenancy/index.js';

/**
 * Create the first tenant unless one exists. Safe with several replicas starting at
 * once: an advisory lock held for the transaction serialises the check.
 */
export async function ensureFirstTenant(
  knex: Knex,
  name: string,
  clock: Clock,
): Promise<CreatedTenant | null> {
  return knex.transaction(async (trx) => {
    await trx.raw("select pg_advisory_xact_lock(hashtext('seatkeeper:first-tenant'))");
    if ((await allTenantIds(trx)).length > 0) return null;
    return createTenant(trx, name, { clock, actor: { type: 'system', id: 'first-start' } });
  });
}

export function firstTenantBanner(t: CreatedTenant, baseUrl: string): string {
  return [
    '',
    '  Seatkeeper created your first tenant. These tokens are shown only now: store them.',
    '',
    `  Tenant      ${t.name} (${t.id})`,
    `  SCIM token  ${t.scimToken}`,
    `  API token   ${t.apiToken}`,
    '',
    '  Next: point your identity provider (Okta, Entra ID, ...) at',
    `    ${baseUrl}/scim/v2   with the SCIM token as a Bearer token,`,
    `  and try the admin API:  curl -H "Authorization: Bearer <API token>" ${baseUrl}/api/v1/tenant`,
    '',
  ].join('\n');
}
