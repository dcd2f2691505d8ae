// Tenant isolation enforced by PostgreSQL (issue 13): row-level security on every table
// that holds a tenant's data, keyed by the transaction's tenant (src/db/tenant-scope.ts).
// Everything here runs as the service role (seatkeeper_app), on both databases: the
// superuser that owns the tables bypasses the policies and would hide a missing one.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { TENANT_TABLES } from '../../migrations/20261207001000_tenant_isolation.js';
import { RECLAMATION_TENANT_TABLES } from '../../migrations/20261207001300_reclamation.js';
import { JOB_RUNS_TENANT_TABLES } from '../../migrations/20261207001400_job_runs.js';
import { OUTBOX_TENANT_TABLES } from '../../migrations/20261207001500_outbox.js';
import { SSO_TABLES } from '../../migrations/20261207001700_sso.js';
import { OAUTH_TABLES } from '../../migrations/20261207001800_oauth_clients.js';
import { WEBHOOK_TENANT_TABLES } from '../../migrations/20261208000100_webhooks.js';
import { LICENSE_SCHEDULE_TENANT_TABLES } from '../../migrations/20261208000200_license_schedules.js';
import { LICENSE_KEY_TENANT_TABLES } from '../../migrations/20261208000300_license_keys.js';
import { MACHINE_LEASE_TENANT_TABLES } from '../../migrations/20261208000400_machines_leases.js';

import { scopedBeginSql } from '../../src/db/scoped-begin.js';
import { allTenantIds, withTenant } from '../../src/db/tenant-scope.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, userBody } from '../support/scim.js';

/** Every table that holds a tenant's data, by the migration that made it. */
const ALL_TENANT_TABLES = [
  ...TENANT_TABLES,
  ...RECLAMATION_TENANT_TABLES,
  ...JOB_RUNS_TENANT_TABLES,
  ...OUTBOX_TENANT_TABLES,
  ...SSO_TABLES,
  ...OAUTH_TABLES,
  ...WEBHOOK_TENANT_TABLES,
  ...LICENSE_SCHEDULE_TENANT_TABLES,
  ...LICENSE_KEY_TENANT_TABLES,
  ...MACHINE_LEASE_TENANT_TABLES,
];
/** The tables beforeAll puts rows in for both tenants, which each query below could leak. */
const SEEDED_TABLES = [
  ...TENANT_TABLES,
  ...SSO_TABLES,
  ...OAUTH_TABLES,
  ...WEBHOOK_TENANT_TABLES,
  ...LICENSE_KEY_TENANT_TABLES,
];

let db: TestDb;
let a: CreatedTenant;
let b: CreatedTenant;

beforeAll(async () => {
  db = await openTestDb();
  a = await newTenant(db.knex, 'Isolation A');
  b = await newTenant(db.knex, 'Isolation B');
  // Rows in every table for both tenants, so every query below has rows it could leak
  // (a policy is only evaluated against rows: an empty table answers nothing either way).
  for (const t of [a, b]) {
    const app = testApp(db.knex);
    const scim = scimClient(app, t.scimToken);
    const api = apiClient(app, t.apiToken);
    const user = (await scim.post('/Users', userBody(`u@${t.id}.example`)).expect(201)).body.id;
    const group = (
      await scim
        .post('/Groups', { schemas: [GROUP], displayName: 'G', members: [{ value: user }] })
        .expect(201)
    ).body.id;
    const product = (await api.post('/products', { name: 'P' }).expect(201)).body.id;
    const licence = (
      await api
        .post('/licenses', { productId: product, name: 'L', type: 'subscription', quantity: 5 })
        .expect(201)
    ).body.item.id;
    await api.post('/rules', { licenseId: licence, groupId: group }).expect(201);
    // A signed licence key: a signing key and an issued key.
    await api.post(`/licenses/${licence}/keys`, {}).expect(201);
    // Single sign-on: a connection, a sign-in in flight, a used assertion, a session.
    const connection = (
      await api
        .post('/sso/connections', {
          type: 'oidc',
          issuer: 'https://idp.example.org',
          clientId: 'c',
          clientSecret: 's',
          linkBy: 'email',
          domains: [`${t.id}.example`],
        })
        .expect(201)
    ).body.id;
    const now = new Date();
    const later = new Date(now.getTime() + 600_000);
    await db.owner('sso_login_requests').insert({
      tenant_id: t.id,
      request_id: `state-${t.id}`,
      connection_id: connection,
      return_to: '/me',
      created_at: now,
      expires_at: later,
    });
    await db.owner('sso_assertions').insert({
      tenant_id: t.id,
      connection_id: connection,
      assertion_id: `_a-${t.id}`,
      expires_at: later,
    });
    await api.post('/oauth/clients', { name: 'CI', scopes: ['api:read'] }).expect(201);
    await db.owner('sso_sessions').insert({
      tenant_id: t.id,
      session_id: randomUUID(),
      secret_hash: Buffer.alloc(32),
      user_id: user,
      connection_id: connection,
      is_admin: false,
      csrf_token: 'x',
      created_at: now,
      last_seen_at: now,
      expires_at: later,
    });
    // Webhooks: an endpoint, a message it is owed, and an attempt logged.
    const endpoint = (
      await api
        .post('/webhooks', { url: 'https://hooks.example.com/', events: ['seat.granted'] })
        .expect(201)
    ).body.id;
    const messageId = randomUUID();
    await db.owner('outbox').insert({
      tenant_id: t.id,
      message_id: messageId,
      channel: 'webhook',
      type: 'seat.granted',
      dedupe_key: `seat.granted:${messageId}`,
      payload: JSON.stringify({ type: 'seat.granted', timestamp: now, data: {} }),
      created_at: now,
      next_attempt_at: later,
    });
    await db.owner('webhook_targets').insert({
      tenant_id: t.id,
      message_id: messageId,
      endpoint_id: endpoint,
      attempts: 1,
      next_attempt_at: later,
    });
    await db.owner('webhook_deliveries').insert({
      tenant_id: t.id,
      delivery_id: randomUUID(),
      endpoint_id: endpoint,
      message_id: messageId,
      type: 'seat.granted',
      attempt: 1,
      status: 500,
      at: now,
    });
    // A checkpoint row (its signature is not what this file tests) and a queued event.
    await db.owner('audit_checkpoints').insert({
      tenant_id: t.id,
      seq: 1,
      head_hash: '0'.repeat(64),
      signed_at: new Date(),
      key_id: 'k',
      signature: 's',
    });
  }
});
afterAll(() => db.close());

const noTenant = expect.objectContaining({
  code: '42501',
  message: expect.stringMatching(/no tenant is set for this transaction/),
});

test('every table with a tenant_id column has row-level security and the tenant policy', async () => {
  const { rows } = (await db.owner.raw(
    `SELECT c.relname AS table, c.relrowsecurity AS rls,
            EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid
                     AND p.polname = 'tenant_isolation') AS policy
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
      WHERE c.relkind = 'r'
        AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                     AND a.attname = 'tenant_id' AND NOT a.attisdropped)
      ORDER BY 1`,
  )) as { rows: Array<{ table: string; rls: boolean; policy: boolean }> };
  expect(rows.map((r) => r.table)).toEqual([...ALL_TENANT_TABLES].sort());
  for (const r of rows) expect(r).toEqual({ table: r.table, rls: true, policy: true });
});

describe('a query that forgets its tenant is refused by the database', () => {
  test.each(SEEDED_TABLES)('reading %s outside a tenant scope', async (table) => {
    await expect(db.knex(table).select('tenant_id').limit(1)).rejects.toEqual(noTenant);
  });

  test('writing outside a tenant scope', async () => {
    await expect(
      db.knex('products').insert({
        tenant_id: a.id,
        product_id: '00000000-0000-4000-8000-000000000001',
        name: 'unscoped',
        created_at: new Date(),
        updated_at: new Date(),
      }),
    ).rejects.toEqual(noTenant);
    await expect(db.knex('directory_users').update({ active: false })).rejects.toEqual(noTenant);
    await expect(db.knex('seats').del()).rejects.toEqual(noTenant);
  });

  test('a transaction of its own is not a scope either', async () => {
    await expect(
      db.knex.transaction((trx) => trx('directory_users').count({ n: '*' })),
    ).rejects.toEqual(noTenant);
  });

  test('the scope ends with its transaction: the pooled connection carries nothing over', async () => {
    const one = db.another(1);
    try {
      await withTenant(one, a.id, (trx) => trx('directory_users').select('user_id'));
      await expect(one('directory_users').select('user_id')).rejects.toEqual(noTenant);
      // …nor after a rollback: the scope came with the BEGIN (db/scoped-begin.ts).
      await expect(
        withTenant(one, a.id, async (trx) => {
          await trx('directory_users').select('user_id');
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      await expect(one('directory_users').select('user_id')).rejects.toEqual(noTenant);
    } finally {
      await one.destroy();
    }
  });

  test("a scope nested in another tenant's transaction is its own (a savepoint re-scopes)", async () => {
    const seen = await withTenant(db.knex, a.id, (outer) =>
      withTenant(outer, b.id, (inner) => inner('directory_users').distinct('tenant_id')),
    );
    expect(seen.map((r) => r.tenant_id)).toEqual([b.id]);
  });

  test("a tenant id that is not a UUID never reaches the scoped BEGIN's text", () => {
    expect(() => scopedBeginSql("x', true); SELECT set_config('seatkeeper.tenant_id', 'y")).toThrow(
      /not a tenant id/,
    );
    expect(scopedBeginSql(a.id)).toBe(
      `BEGIN; SELECT set_config('seatkeeper.tenant_id', '${a.id}', true);`,
    );
  });
});

describe("a transaction scoped to one tenant reaches none of another's rows", () => {
  const asA = <T>(fn: (k: Knex.Transaction) => Promise<T>) => withTenant(db.knex, a.id, fn);

  test.each(SEEDED_TABLES)('%s: naming the other tenant finds nothing', async (table) => {
    const theirs = await asA((k) => k(table).where({ tenant_id: b.id }).select('tenant_id'));
    expect(theirs).toEqual([]);
    // …while the other tenant's rows are there (the owner sees them). audit_pending is
    // empty once the settler's work is done, so it is not asked.
    if (table !== 'audit_pending') {
      const [row] = await db.owner(table).where({ tenant_id: b.id }).count({ n: '*' });
      expect(Number(row?.n)).toBeGreaterThan(0);
    }
  });

  test("updates and deletes aimed at the other tenant's rows change nothing", async () => {
    const before = await db.owner('directory_users').where({ tenant_id: b.id }).select('*');
    await asA(async (k) => {
      expect(await k('directory_users').where({ tenant_id: b.id }).update({ active: false })).toBe(
        0,
      );
      expect(await k('directory_memberships').where({ tenant_id: b.id }).del()).toBe(0);
    });
    expect(await db.owner('directory_users').where({ tenant_id: b.id }).select('*')).toEqual(
      before,
    );
  });

  test('a row written for the other tenant is refused (WITH CHECK)', async () => {
    await expect(
      asA((k) =>
        k('products').insert({
          tenant_id: b.id,
          product_id: '00000000-0000-4000-8000-000000000002',
          name: 'planted',
          created_at: new Date(),
          updated_at: new Date(),
        }),
      ),
    ).rejects.toEqual(
      expect.objectContaining({
        code: '42501',
        message: expect.stringMatching(/row-level security/),
      }),
    );
  });

  test('moving a row to the other tenant is refused', async () => {
    await expect(
      asA((k) => k('directory_groups').where({ tenant_id: a.id }).update({ tenant_id: b.id })),
    ).rejects.toEqual(expect.objectContaining({ code: '42501' }));
  });

  test('the service role cannot switch row-level security off', async () => {
    await expect(
      asA(async (k) => {
        await k.raw('SET LOCAL row_security = off');
        return k('directory_users').select('user_id');
      }),
    ).rejects.toEqual(
      expect.objectContaining({ message: expect.stringMatching(/row-level security/) }),
    );
  });
});

test('the tenants that exist are listed by id only, for work that walks them one by one', async () => {
  const ids = await allTenantIds(db.knex);
  expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
  await expect(db.knex('tenants').select('name')).rejects.toEqual(noTenant);
});
