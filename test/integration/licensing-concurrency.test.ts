// Pools never over-allocate under concurrency, and the waitlist is served in order:
// 200 users become eligible at once for a 50-seat pool through concurrent SCIM
// requests; releases seat the next in line. Meaningful on the real PostgreSQL (PGlite
// runs one transaction at a time); it runs on both.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { withTenant } from '../../src/db/tenant-scope.js';
import { createLicense, createProduct } from '../../src/licensing/catalog.js';
import { createRule } from '../../src/licensing/rules.js';
import { reconcile } from '../../src/licensing/reconcile.js';
import { systemClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, PATCH, USER } from '../support/scim.js';

let db: TestDb;
let knex: Knex;
let tenant: CreatedTenant;
let server: Server;
let base: string;

beforeAll(async () => {
  db = await openTestDb();
  knex = db.another(24);
  tenant = await newTenant(db.knex, 'Concurrency');
  server = testApp(knex).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await db.close();
});

async function call(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
const scim = (method: string, path: string, body?: unknown) =>
  call(method, `/scim/v2${path}`, tenant.scimToken, body);
const api = (method: string, path: string, body?: unknown) =>
  call(method, `/api/v1${path}`, tenant.apiToken, body);

interface SeatRow {
  user_id: string;
  state: string;
  eligible_since: Date;
  queue_priority: number;
  seat_id: string;
}
const liveSeats = async (licenseId: string): Promise<SeatRow[]> =>
  db
    .owner('seats')
    .where({ tenant_id: tenant.id, license_id: licenseId })
    .whereNot('state', 'released')
    .orderBy([{ column: 'eligible_since' }, { column: 'queue_priority' }, { column: 'seat_id' }]);

test('200 users eligible at once for 50 seats: exactly 50 active, 150 waitlisted in order; releases seat the next in line', async () => {
  const users: string[] = [];
  for (let i = 0; i < 200; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: 50 }, (_, k) =>
        scim('POST', '/Users', {
          schemas: [USER],
          userName: `c${i + k}@example.com`,
          active: false,
        }),
      ),
    );
    users.push(...batch.map((r) => r.body.id as string));
  }
  // Everyone is in the group but inactive, so nobody is eligible yet.
  const group = await scim('POST', '/Groups', {
    schemas: [GROUP],
    displayName: 'Everyone',
    members: users.map((value) => ({ value })),
  });
  const product = await api('POST', '/products', { name: 'Pool' });
  const licence = await api('POST', '/licenses', {
    productId: product.body.id,
    name: '50 seats',
    type: 'subscription',
    quantity: 50,
    // Deprovisioning frees the seat at once (no reclaim grace, issue 14): the rounds
    // below release by deactivating.
    reclaimGraceDays: 0,
  });
  const lic = licence.body.item.id as string;
  await api('POST', '/rules', { licenseId: lic, groupId: group.body.id });

  // Every user is activated by their own concurrent request: each locks only its own
  // user row, so the licence lock alone stands between them and over-allocation.
  const activate = (id: string, active: boolean) =>
    scim('PATCH', `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'active', value: active }],
    });
  const joins = await Promise.all(users.map((id) => activate(id, true)));
  expect(joins.map((j) => j.status).filter((s) => s !== 200)).toEqual([]);

  let seats = await liveSeats(lic);
  expect(seats.filter((s) => s.state === 'active')).toHaveLength(50);
  expect(seats.filter((s) => s.state === 'waitlisted')).toHaveLength(150);
  expect(new Set(seats.map((s) => s.user_id)).size).toBe(200);
  // First eligible, first served: nobody waiting became eligible before someone seated.
  const lastSeated = Math.max(
    ...seats.filter((s) => s.state === 'active').map((s) => s.eligible_since.getTime()),
  );
  const firstWaiting = Math.min(
    ...seats.filter((s) => s.state === 'waitlisted').map((s) => s.eligible_since.getTime()),
  );
  expect(lastSeated).toBeLessThanOrEqual(firstWaiting);

  // Rounds of concurrent releases: each freed seat goes to the next in line, never more.
  for (let round = 0; round < 5; round++) {
    const active = seats.filter((s) => s.state === 'active').map((s) => s.user_id);
    const queue = seats.filter((s) => s.state === 'waitlisted').map((s) => s.user_id);
    const leaving = active.slice(round * 3, round * 3 + 8);
    const results = await Promise.all(leaving.map((id) => activate(id, false)));
    expect(results.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    seats = await liveSeats(lic);
    const nowActive = seats.filter((s) => s.state === 'active').map((s) => s.user_id);
    expect(nowActive).toHaveLength(50);
    expect(nowActive.filter((id) => leaving.includes(id))).toEqual([]);
    expect(nowActive.filter((id) => queue.includes(id)).sort()).toEqual(
      queue.slice(0, leaving.length).sort(),
    );
    expect(seats.filter((s) => s.state === 'waitlisted').map((s) => s.user_id)).toEqual(
      queue.slice(leaving.length),
    );
  }
  const over = await db
    .owner('seats')
    .where({ tenant_id: tenant.id, license_id: lic })
    .whereIn('state', ['active', 'pending_reclaim'])
    .count({ n: '*' });
  expect(Number(over[0]!.n)).toBe(50);
});

// Through SCIM every write also takes the tenant's audit head lock, which happens to
// serialise them; here reconcilers race with nothing but the licence lock between them.
test('concurrent reconcilers of different users never over-allocate a pool', async () => {
  const ctx = { knex, tenantId: tenant.id, actor: { type: 'system' as const }, clock: systemClock };
  const { rows: groupRows } = await db.owner.raw(
    `INSERT INTO directory_groups (tenant_id, group_id, display_name, data, created_at, last_modified)
     VALUES (?, gen_random_uuid(), 'Race', '{"displayName":"Race"}', now(), now()) RETURNING group_id`,
    [tenant.id],
  );
  const groupId = groupRows[0].group_id as string;
  const product = await createProduct(ctx, { name: 'Race product' });
  const lic = (
    await createLicense(
      ctx,
      { productId: product.id, name: 'Race', type: 'subscription', quantity: 20 },
      { dryRun: false },
    )
  ).result.id;
  await createRule(ctx, { licenseId: lic, groupId }, { dryRun: false });
  // Users and memberships written behind the hooks' back: nobody is reconciled yet.
  const { rows } = await db.owner.raw(
    `INSERT INTO directory_users (tenant_id, user_id, user_name, active, data, created_at, last_modified)
     SELECT ?, gen_random_uuid(), 'race' || i || '@example.com', true, jsonb_build_object('userName', 'race' || i || '@example.com'), now(), now()
     FROM generate_series(1, 100) i RETURNING user_id`,
    [tenant.id],
  );
  const ids = rows.map((r: { user_id: string }) => r.user_id);
  await db.owner('directory_memberships').insert(
    ids.map((id: string) => ({
      tenant_id: tenant.id,
      group_id: groupId,
      member_id: id,
      member_type: 'User',
      added_at: new Date(),
    })),
  );

  await Promise.all(
    ids.map((id: string) =>
      withTenant(knex, tenant.id, (trx) => reconcile(trx, tenant.id, { userIds: [id] }, ctx)),
    ),
  );
  const seats = await liveSeats(lic);
  expect(seats.filter((s) => s.state === 'active')).toHaveLength(20);
  expect(seats.filter((s) => s.state === 'waitlisted')).toHaveLength(80);
});
