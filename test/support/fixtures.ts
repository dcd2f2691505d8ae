import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { createTenant, type CreatedTenant } from '../../src/tenancy/service.js';

export const testActor = { type: 'system' as const, id: 'test' };

export function newTenant(knex: Knex, name = 'Test tenant'): Promise<CreatedTenant> {
  return createTenant(knex, name, { actor: testActor });
}

/** Directory user rows as stored, written straight to the table (no SCIM, no audit). */
export function directoryUserRows(tenantId: string, n: number, at: Date) {
  return Array.from({ length: n }, () => {
    const id = randomUUID();
    return {
      tenant_id: tenantId,
      user_id: id,
      user_name: `${id}@example.com`,
      data: JSON.stringify({ userName: `${id}@example.com` }),
      created_at: at,
      last_modified: at,
    };
  });
}

/** Column types of directoryUserRows, for insertMany. */
export const DIRECTORY_USER_COLUMNS = {
  tenant_id: 'uuid',
  user_id: 'uuid',
  user_name: 'text',
  data: 'jsonb',
  created_at: 'timestamptz',
  last_modified: 'timestamptz',
};
