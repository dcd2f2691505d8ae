import type { Knex } from 'knex';
import { createTenant, type CreatedTenant } from '../../src/tenancy/service.js';

export const testActor = { type: 'system' as const, id: 'test' };

export function newTenant(knex: Knex, name = 'Test tenant'): Promise<CreatedTenant> {
  return createTenant(knex, name, { actor: testActor });
}
