// Coalesced creates (src/directory/user-creates.ts) against a real database: creates that
// arrive together are one statement per tenant, and still each request gets its own row, its own
// audit event and its own error; nothing of a refused create is written.
import { settleAudit } from '../../src/audit/settle.js';
import { verifyTenantChain } from '../../src/audit/verify.js';
import { validateUser } from '../../src/scim/schemas.js';
import { writeCreate, type UserCreate } from '../../src/directory/user-creates.js';
import { newId } from '../../src/shared/ids.js';
import { systemClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { scimClient, userBody } from '../support/scim.js';

let db: TestDb;
let a: CreatedTenant;
let b: CreatedTenant;

beforeAll(async () => {
  db = await openTestDb();
  a = await newTenant(db.knex, 'creates A');
  b = await newTenant(db.knex, 'creates B');
});
afterAll(() => db.close());

function create(tenantId: string, userName: string, extra: Record<string, unknown> = {}) {
  const id = newId();
  const data = validateUser(userBody(userName, extra));
  return {
    tenantId,
    id,
    data,
    now: systemClock.now(),
    event: {
      action: 'user.created',
      actor: { type: 'token', id: 'test-token' },
      target: { type: 'user', id },
      subject: id,
      payload: data,
    },
    clock: systemClock,
  } satisfies UserCreate;
}

let statements: string[] = [];
/** Submit every create in the same turn, so they travel together; settle each outcome. */
async function together(creates: UserCreate[]) {
  statements = [];
  const record = (q: { sql: string }) => statements.push(q.sql);
  db.knex.on('query', record);
  try {
    return await Promise.allSettled(creates.map((c) => writeCreate(db.knex, c)));
  } finally {
    db.knex.removeListener('query', record);
  }
}

const usersOf = (tenantId: string) =>
  db.owner('directory_users').where({ tenant_id: tenantId }).select('user_id', 'user_name', 'data');

async function createdEvents(tenantId: string) {
  await settleAudit(db.knex, { tenantId });
  return db.owner('audit_events').where({ tenant_id: tenantId, action: 'user.created' });
}

test('creates of two tenants sent together are batched per tenant, each stored in its own tenant with one event each (issue 13)', async () => {
  const creates = [
    ...Array.from({ length: 30 }, (_, i) => create(a.id, `mixed-a${i}@example.com`)),
    ...Array.from({ length: 30 }, (_, i) => create(b.id, `mixed-b${i}@example.com`)),
  ];
  const results = await together(creates);
  expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
  // One statement per tenant, each in a transaction scoped to that tenant (row-level
  // security: a statement never writes two tenants' rows).
  const inserts = statements.filter((q) => /jsonb_array_elements/.test(q));
  expect(inserts).toHaveLength(2);
  expect(statements.filter((q) => /set_config/.test(q))).toHaveLength(2);
  // The row handed back is the row stored.
  for (const [i, r] of results.entries()) {
    const row = (r as PromiseFulfilledResult<Awaited<ReturnType<typeof writeCreate>>>).value;
    expect(row).toMatchObject({ user_id: creates[i]!.id, version: 1, active: true });
    expect(row.user_name).toBe(creates[i]!.data.userName);
  }
  for (const t of [a, b]) {
    const mine = creates.filter((c) => c.tenantId === t.id);
    const stored = await usersOf(t.id);
    expect(stored.map((u) => u.user_id).sort()).toEqual(mine.map((c) => c.id).sort());
    for (const u of stored) {
      expect(u.data).toEqual(mine.find((c) => c.id === u.user_id)!.data);
    }
    const events = await createdEvents(t.id);
    expect(events.map((e) => e.target_id).sort()).toEqual(mine.map((c) => c.id).sort());
    for (const e of events) {
      expect(e).toMatchObject({
        actor_type: 'token',
        actor_id: 'test-token',
        subject_id: e.target_id,
      });
      expect(e.body).toEqual(mine.find((c) => c.id === e.target_id)!.data);
    }
    // Digests were computed over the payload the batch stored: the chain verifies.
    expect(await verifyTenantChain(db.knex, t.id)).toMatchObject({ ok: true, pending: 0 });
  }
});

test('duplicate userNames in one batch, or of a stored user: one wins, the rest get 409 and write nothing', async () => {
  await writeCreate(db.knex, create(a.id, 'taken@example.com'));
  const creates = [
    create(a.id, 'twin@example.com'),
    create(a.id, 'fresh1@example.com'),
    create(a.id, 'TWIN@example.com'),
    create(a.id, 'Taken@Example.com'),
    create(a.id, 'fresh2@example.com'),
    // The same userName in another tenant is not a duplicate.
    create(b.id, 'twin@example.com'),
  ];
  const eventsBefore = (await createdEvents(a.id)).length;
  const results = await together(creates);
  expect(results.map((r) => r.status)).toEqual([
    'fulfilled',
    'fulfilled',
    'rejected',
    'rejected',
    'fulfilled',
    'fulfilled',
  ]);
  for (const r of [results[2]!, results[3]!]) {
    expect((r as PromiseRejectedResult).reason).toMatchObject({
      status: 409,
      code: 'uniqueness', // rendered as SCIM's scimType "uniqueness" (src/scim/errors.ts)
    });
  }
  const names = (await usersOf(a.id)).map((u) => u.user_name.toLowerCase());
  expect(names.filter((n) => n === 'twin@example.com')).toHaveLength(1);
  expect(names.filter((n) => n === 'taken@example.com')).toHaveLength(1);
  const refused = new Set([creates[2]!.id, creates[3]!.id]);
  const events = await createdEvents(a.id);
  expect(events).toHaveLength(eventsBefore + 3);
  expect(events.some((e) => refused.has(e.target_id))).toBe(false);
  expect(await verifyTenantChain(db.knex, a.id)).toMatchObject({ ok: true });
});

test('a create the database refuses fails alone; the others of its batch are written', async () => {
  // 600 characters: past the column's CHECK. validateUser refuses it first in a request;
  // here it is written as if that check were missing, so only the database refuses it.
  const long = `${'x'.repeat(588)}@example.com`;
  const bad = create(b.id, 'bad@example.com');
  bad.data = { ...bad.data, userName: long };
  const creates = [
    create(b.id, 'before-bad@example.com'),
    bad,
    create(b.id, 'after-bad@example.com'),
  ];
  const results = await together(creates);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: '23514' });
  const ids = (await usersOf(b.id)).map((u) => u.user_id);
  expect(ids).toEqual(expect.arrayContaining([creates[0]!.id, creates[2]!.id]));
  expect(ids).not.toContain(creates[1]!.id);
  const events = await createdEvents(b.id);
  expect(events.some((e) => e.target_id === creates[1]!.id)).toBe(false);
  expect(await verifyTenantChain(db.knex, b.id)).toMatchObject({ ok: true });
});

test('concurrent POST /Users over HTTP: every response is the user as a later GET reads it', async () => {
  const tenant = await newTenant(db.knex, 'creates over HTTP');
  const scim = scimClient(testApp(db.knex), tenant.scimToken);
  const posted = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      scim.post('/Users', userBody(`http${i}@example.com`, { externalId: `ext-${i}` })),
    ),
  );
  // Each supertest request has a server (and port) of its own: compare past the host.
  const pastHost = (body: { meta: { location: string } }) => ({
    ...body,
    meta: { ...body.meta, location: new URL(body.meta.location).pathname },
  });
  for (const res of posted) {
    expect(res.status).toBe(201);
    const got = await scim.get(`/Users/${res.body.id}`).expect(200);
    expect(pastHost(res.body)).toEqual(pastHost(got.body));
    expect(res.headers.etag).toBe(got.headers.etag);
  }
  const list = await scim.get('/Users?count=1').expect(200);
  expect(list.body.totalResults).toBe(40);
});
