// Reclamation at scale (issue 14), on the real PostgreSQL (DATABASE_URL), each figure
// beside a floor measured in the same run:
//  1. The inactivity scan over 100,000 users holding 200,000 seats (two licences of one
//     product each, granted 60 days ago; a tenth of the users active last week), which
//     schedules 180,000 reclaims, audits each and queues one email per seat; against a
//     hand-written `UPDATE … FROM` doing the same state change (the floor), run first and
//     undone. Target: under 10 s.
//  2. Activity ingestion over HTTP, 1,000 events a request (POST /api/v1/activity, by
//     userName, each with an id), events per second; against plain inserts of the same
//     rows, 1,000 a statement.
//
//   DATABASE_URL=postgres://… npm run bench:reclamation
//
// Fixtures are written as the service's role in transactions scoped to the tenant;
// BENCH_SCALE=0.01 gives a quick smoke run of the same shapes.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createApp } from '../src/app.js';
import { withTenant } from '../src/db/tenant-scope.js';
import { DirectoryHooks } from '../src/directory/changes.js';
import { createLicense, createProduct } from '../src/licensing/catalog.js';
import type { LicensingContext } from '../src/licensing/context.js';
import { scanInactivity } from '../src/licensing/reclamation.js';
import { createLogger } from '../src/log/logger.js';
import { systemClock } from '../src/shared/clock.js';
import { createTenant } from '../src/tenancy/service.js';
import { openBenchSchema } from './schema-db.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const USERS = Math.round(100_000 * SCALE);
const ACTIVITY_REQUESTS = Math.max(2, Math.round(50 * SCALE));
const logger = createLogger({ level: 'warn', format: 'pretty' });
const { db, drop } = await openBenchSchema('bench_rec', logger);
const knex = db.knex;
const analyze = () => db.withOwner((owner) => owner.raw('ANALYZE'));
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const results: string[] = [];
const record = (line: string) => {
  results.push(line);
  console.log(line);
};

try {
  const tenant = await createTenant(knex, 'bench-reclamation', { actor: { type: 'system' } });
  const t = tenant.id;
  const ctx: LicensingContext = {
    knex,
    tenantId: t,
    actor: { type: 'system' },
    clock: systemClock,
  };
  const product = await createProduct(ctx, { name: 'Idle Suite' });
  const licence = async (name: string) =>
    (
      await createLicense(
        ctx,
        {
          productId: product.id,
          name,
          type: 'subscription',
          quantity: USERS,
          cost: { unitCost: 120, currency: 'EUR' },
          inactivityDays: 30,
          reclaimGraceDays: 7,
        },
        { dryRun: false },
      )
    ).result.id;
  const licences = [await licence('Seats A'), await licence('Seats B')];

  // ---- fixtures: users with an email, two seats each, a tenth of them active ----
  const t0 = process.hrtime.bigint();
  await withTenant(knex, t, async (trx) => {
    await trx.raw(
      `INSERT INTO directory_users (tenant_id, user_id, user_name, active, data, created_at, last_modified)
       SELECT ?, gen_random_uuid(), 'idle' || i || '@example.com', true,
              jsonb_build_object('userName', 'idle' || i || '@example.com',
                'emails', jsonb_build_array(jsonb_build_object('value', 'idle' || i || '@example.com', 'primary', true))),
              now(), now()
         FROM generate_series(1, ?) i`,
      [t, USERS],
    );
    await trx.raw(
      `INSERT INTO seats (tenant_id, seat_id, license_id, user_id, state, source, assigned_by,
                          eligible_since, granted_at, created_at, updated_at)
       SELECT ?, gen_random_uuid(), l, u.user_id, 'active', 'manual', 'bench',
              now() - interval '60 days', now() - interval '60 days', now(), now()
         FROM directory_users u CROSS JOIN unnest(?::uuid[]) AS l
        WHERE u.tenant_id = ?`,
      [t, licences, t],
    );
    await trx.raw(
      `INSERT INTO user_activity (tenant_id, user_id, product_id, last_active_at)
       SELECT tenant_id, user_id, ?, now() - interval '7 days'
         FROM directory_users WHERE tenant_id = ? AND user_name ~ '0@'`,
      [product.id, t],
    );
  });
  await analyze();
  console.log(`fixtures: ${USERS} users, ${2 * USERS} seats in ${seconds(t0).toFixed(1)} s`);

  // ---- 1. the floor, then the scan ----
  const floorStart = process.hrtime.bigint();
  const floorRows = await withTenant(knex, t, async (trx) => {
    const { rowCount } = (await trx.raw(
      `UPDATE seats s SET state = 'pending_reclaim', reclaim_reason = 'inactive',
              reclaim_after = now() + make_interval(days => l.reclaim_grace_days), updated_at = now()
         FROM licenses l
        WHERE s.tenant_id = ? AND l.tenant_id = s.tenant_id AND l.license_id = s.license_id
          AND s.state = 'active' AND l.inactivity_days IS NOT NULL
          AND s.granted_at <= now() - make_interval(days => l.inactivity_days)
          AND NOT EXISTS (SELECT 1 FROM user_activity a
                           WHERE a.tenant_id = s.tenant_id AND a.user_id = s.user_id
                             AND a.product_id = l.product_id
                             AND a.last_active_at > now() - make_interval(days => l.inactivity_days))`,
      [t],
    )) as { rowCount: number };
    return rowCount;
  });
  const floor = seconds(floorStart);
  // Undone, untimed, so that the scan finds the same seats.
  await withTenant(knex, t, (trx) =>
    trx.raw(
      `UPDATE seats SET state = 'active', reclaim_reason = NULL, reclaim_after = NULL WHERE tenant_id = ?`,
      [t],
    ),
  );
  await db.withOwner((owner) => owner.raw('VACUUM ANALYZE seats'));

  const scanStart = process.hrtime.bigint();
  const scheduled = await scanInactivity(ctx);
  const scan = seconds(scanStart);
  if (scheduled.length !== floorRows)
    throw new Error(`the scan scheduled ${scheduled.length}, the floor ${floorRows}`);
  record(
    `| inactivity scan, ${USERS} users / ${2 * USERS} seats: ${scheduled.length} reclaims scheduled, audited, mailed | floor ${floor.toFixed(2)} s | ${scan.toFixed(2)} s | ${(scan / floor).toFixed(2)}× |`,
  );

  // ---- 2. activity ingestion ----
  const app = createApp({
    knex,
    logger,
    bodyLimit: 1 << 20,
    state: { shuttingDown: false },
    hooks: new DirectoryHooks(),
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  const names = (req: number) =>
    Array.from({ length: 1000 }, (_, i) => `idle${((req * 1000 + i) % USERS) + 1}@example.com`);
  // Activity for a product of its own: the scan's seats stay in their grace, so what is
  // measured is the ingestion, not the restoring of 100,000 seats.
  const used = (await createProduct(ctx, { name: 'Busy Suite' })).id;
  const at = new Date().toISOString();
  const ingestStart = process.hrtime.bigint();
  for (let r = 0; r < ACTIVITY_REQUESTS; r++) {
    const res = await fetch(`${base}/activity`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tenant.apiToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        events: names(r).map((userName) => ({
          userName,
          occurredAt: at,
          productId: used,
          id: randomUUID(),
        })),
      }),
    });
    const body = (await res.json()) as { accepted: number };
    if (res.status !== 200 || body.accepted !== 1000)
      throw new Error(`activity: ${res.status} ${JSON.stringify(body)}`);
  }
  const ingest = seconds(ingestStart);
  server.close();
  // The floor: the same rows, 1,000 a statement, into a plain table of their own.
  await db.withOwner((owner) =>
    owner.raw(`CREATE TABLE floor_activity (user_name text, product_id uuid, occurred_at timestamptz, id uuid PRIMARY KEY);
               GRANT INSERT ON floor_activity TO seatkeeper_app`),
  );
  const plainStart = process.hrtime.bigint();
  for (let r = 0; r < ACTIVITY_REQUESTS; r++) {
    const doc = JSON.stringify(names(r).map((n) => ({ n, p: product.id, at, id: randomUUID() })));
    await knex.raw(
      `INSERT INTO floor_activity SELECT x.n, x.p, x.at, x.id
         FROM json_to_recordset(?::json) AS x(n text, p uuid, at timestamptz, id uuid)`,
      [doc],
    );
  }
  const plain = seconds(plainStart);
  const events = ACTIVITY_REQUESTS * 1000;
  record(
    `| activity ingestion, ${ACTIVITY_REQUESTS} requests of 1,000 events | plain inserts ${Math.round(events / plain)} events/s | ${Math.round(events / ingest)} events/s | ${(plain / ingest).toFixed(2)}× |`,
  );
} finally {
  await drop();
}

console.log('\n| benchmark | floor | Seatkeeper | ratio |\n|---|---|---|---|');
for (const r of results) console.log(r);
