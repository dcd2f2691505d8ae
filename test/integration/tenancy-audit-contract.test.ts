// The data-access contracts of src/tenancy and src/audit (issue 13, as directory- and
// licensing-contract.test.ts do for theirs): every call of their public modules made as
// another tenant sees nothing of the victim's data and changes none of it. The victim has
// tokens, a chain of events about a subject, and a signed checkpoint.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import {
  appendAuditEvents,
  countAuditEvents,
  createCheckpoints,
  eraseSubject,
  exportAudit,
  listCheckpoints,
  loadSigningKey,
  settleAudit,
  verifyTenantChain,
  type SigningKey,
} from '../../src/audit/index.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import {
  authenticate,
  getTenant,
  listTokens,
  revokeToken,
  type CreatedTenant,
} from '../../src/tenancy/index.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant, testActor } from '../support/fixtures.js';

let db: TestDb;
let victim: CreatedTenant;
let other: CreatedTenant;
let key: SigningKey;
let keyDir: string;

beforeAll(async () => {
  db = await openTestDb();
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'sk-contract-'));
  key = loadSigningKey(path.join(keyDir, 'checkpoint.pem'), { create: true })!;
  victim = await newTenant(db.knex, 'Victim');
  other = await newTenant(db.knex, 'Other');
  await withTenant(db.knex, victim.id, (trx) =>
    appendAuditEvents(
      trx,
      victim.id,
      ['alice', 'alice', 'bob'].map((who, i) => ({
        action: 'seat.assigned' as const,
        actor: testActor,
        target: { type: 'seat', id: `s-${i}` },
        subject: who,
        payload: { user: `${who}@victim.example` },
      })),
    ),
  );
  await settleAudit(db.knex);
  await createCheckpoints(db.knex, key, { tenantId: victim.id });
});
afterAll(async () => {
  await db.close();
  await rm(keyDir, { recursive: true, force: true });
});

/** The victim's rows as stored: what no call made as another tenant may change. */
async function victimState() {
  const rows = (table: string) =>
    db.owner(table).where({ tenant_id: victim.id }).orderByRaw('1, 2').select('*');
  return {
    tenant: await rows('tenants'),
    tokens: await rows('api_tokens'),
    events: await rows('audit_events'),
    head: await rows('audit_heads'),
    checkpoints: await rows('audit_checkpoints'),
  };
}

async function exported(tenantId: string): Promise<string> {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  await exportAudit(db.knex, { format: 'json', out, tenantId });
  return text;
}

describe('another tenant sees nothing of the tenancy and audit data (issue 13)', () => {
  test("its tokens: listed without the victim's, and the victim's token id names nothing", async () => {
    const mine = await listTokens(db.knex, other.id);
    expect(mine.every((t) => t.tenantId === other.id)).toBe(true);
    const victimTokenIds = (await listTokens(db.knex, victim.id)).map((t) => t.id);
    expect(mine.map((t) => t.id)).not.toEqual(expect.arrayContaining([victimTokenIds[0]]));
    expect((await getTenant(db.knex, other.id)).name).toBe('Other');
  });

  test("the audit trail: counts, export, verification and checkpoints are the tenant's own", async () => {
    const own = await countAuditEvents(db.knex, other.id);
    expect(own).toBe(3); // tenant.created and its two token.created events
    expect(await exported(other.id)).not.toContain('victim.example');
    expect(await verifyTenantChain(db.knex, other.id)).toMatchObject({ ok: true, events: own });
    expect(await listCheckpoints(db.knex, other.id)).toEqual([]);
    // …while the victim's are there (the fixture is real).
    expect(await countAuditEvents(db.knex, victim.id)).toBe(6);
    expect(await exported(victim.id)).toContain('alice@victim.example');
    expect(await listCheckpoints(db.knex, victim.id)).toHaveLength(1);
  });
});

describe('another tenant changes nothing of the tenancy and audit data (issue 13)', () => {
  test("revoking the victim's token, erasing its subject, checkpointing: nothing of the victim's moves", async () => {
    const before = await victimState();
    const victimToken = (await listTokens(db.knex, victim.id))[0]!;
    await expect(
      revokeToken(db.knex, other.id, victimToken.id, { actor: testActor }),
    ).rejects.toMatchObject({ status: 404 });
    expect(
      await eraseSubject(db.knex, other.id, 'alice', { actor: testActor, reason: 'attack' }),
    ).toBe(0);
    await createCheckpoints(db.knex, key, { tenantId: other.id });
    const after = await victimState();
    expect(after).toEqual(before);
    // The victim's token still authenticates as the victim.
    await expect(authenticate(db.knex, victim.apiToken, 'api')).resolves.toMatchObject({
      tenantId: victim.id,
    });
  });
});
