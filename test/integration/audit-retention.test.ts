// Audit retention (issue 14): a tenant's auditRetentionDays (PATCH /api/v1/tenant) erases
// the payloads of older events the way `audit erase` does, through the audit-retention
// job (POST /api/v1/jobs/audit-retention/run), bounded per run, recorded by its own
// event, and the chain still verifies. Time is a clock the test moves.
import { settleAudit, verifyTenantChain } from '../../src/audit/index.js';
import { eraseExpiredPayloads } from '../../src/audit/retention.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';

let db: TestDb;
let tenant: CreatedTenant;
const clock = fixedClock('2027-01-01T00:00:00.000Z');
const at = (iso: string) => clock.set(iso);

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Retention, another tenant');
});
afterAll(() => db.close());

const run = async (name: string, client: ApiClient) =>
  (await client.post(`/jobs/${name}/run`, {}).expect(200)).body as {
    result: Record<string, unknown>;
  };

describe('audit-retention', () => {
  test("erases payloads older than the tenant's auditRetentionDays; the chain still verifies", async () => {
    at('2027-01-01T00:00:00.000Z');
    const t = await newTenant(db.knex, 'Retention');
    const tApi = apiClient(testApp(db.knex, undefined, { clock }), t.apiToken);
    expect((await run('audit-retention', tApi)).result).toEqual({
      retentionDays: null,
      erased: 0,
      more: false,
    });
    await tApi.post('/products', { name: 'Old' }).expect(201);
    await tApi.patch('/tenant', { auditRetentionDays: 30 }).expect(200);
    at('2027-01-20T00:00:00.000Z');
    await tApi.post('/products', { name: 'Recent' }).expect(201);
    await settleAudit(db.knex, { tenantId: t.id, wait: true });
    const bodies = async () =>
      (await db
        .owner('audit_events')
        .where({ tenant_id: t.id })
        .orderBy('seq')
        .select('action', 'body', 'erased_at')) as Array<{
        action: string;
        body: unknown;
        erased_at: Date | null;
      }>;
    // tenant.created, two token.created, product.created, tenant.updated: five on 1 January.
    const old = (await bodies()).filter((e) => e.action !== 'product.created' || e.body);
    expect(old).toHaveLength(6);

    at('2027-02-01T00:00:00.000Z'); // cut-off 2027-01-02: the five of 1 January go
    const ran = await run('audit-retention', tApi);
    expect(ran.result).toEqual({
      retentionDays: 30,
      before: '2027-01-02T00:00:00.000Z',
      erased: 5,
      more: false,
    });
    const after = await bodies();
    expect(after.slice(0, 5).every((e) => e.body === null && e.erased_at !== null)).toBe(true);
    expect(after[5]).toMatchObject({ action: 'product.created', erased_at: null });
    expect(after[6]).toMatchObject({
      action: 'audit.payloads_expired',
      body: { reason: 'audit retention', before: '2027-01-02T00:00:00.000Z', payloadsErased: 5 },
    });
    expect(await verifyTenantChain(db.knex, t.id)).toMatchObject({ ok: true, firstBroken: null });
    // Again: nothing left to erase, and nothing recorded.
    expect((await run('audit-retention', tApi)).result).toMatchObject({ erased: 0 });
    expect(await bodies()).toHaveLength(7);
  });

  test('a run erases at most its batch, oldest first, and says more remain', async () => {
    at('2027-01-01T00:00:00.000Z');
    const t = await newTenant(db.knex, 'Retention batches'); // three events
    at('2027-03-01T00:00:00.000Z');
    const opts = {
      before: new Date('2027-02-01T00:00:00.000Z'),
      actor: { type: 'job' as const, id: 'test' },
      clock,
      limit: 2,
    };
    expect(await eraseExpiredPayloads(db.knex, t.id, opts)).toEqual({ erased: 2, more: true });
    expect(await eraseExpiredPayloads(db.knex, t.id, opts)).toEqual({ erased: 1, more: false });
    expect(await eraseExpiredPayloads(db.knex, t.id, opts)).toEqual({ erased: 0, more: false });
    expect((await verifyTenantChain(db.knex, t.id)).ok).toBe(true);
  });

  test('the service role cannot erase without the event that records it', async () => {
    const head = (await db.owner('audit_heads').where({ tenant_id: tenant.id }).first()) as {
      seq: number;
      hash: string;
    };
    await expect(
      withTenant(db.knex, tenant.id, (trx) =>
        trx.raw(`SELECT audit_erase_expired(?, now(), 10, ?, ?, ?::json)`, [
          tenant.id,
          head.seq,
          head.hash,
          JSON.stringify({ action: 'audit.payload_erased' }),
        ]),
      ),
    ).rejects.toThrow(/audit.payloads_expired event/);
  });
});
