// The scheduler runs on both databases (agenda v6 + @agendajs/postgres-backend), and the
// audit checkpoint job proves it: it signs each grown chain with the injected clock.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkpointSignatureValid, listCheckpoints } from '../../src/audit/checkpoint.js';
import { loadSigningKey, type SigningKey } from '../../src/audit/signing-key.js';
import { createJobMetrics, JOB_NAMES, serviceJobs } from '../../src/jobs/index.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { createScheduler } from '../../src/jobs/scheduler.js';
import { fixedClock } from '../../src/shared/clock.js';
import { quietLogger } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';

let db: TestDb;
let keyDir: string;
let key: SigningKey;
beforeAll(async () => {
  db = await openTestDb();
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'sk-key-'));
  key = loadSigningKey(path.join(keyDir, 'k.pem'), { create: true })!;
});
afterAll(async () => {
  // agenda leaves a lockLifetime/2 liveness timer behind each job it ran (../shared/STACK.md);
  // let it fire so the worker exits cleanly instead of being force-killed.
  await new Promise((r) => setTimeout(r, 600));
  await db.close();
  await rm(keyDir, { recursive: true, force: true });
});

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('the checkpoint job runs on the scheduler and signs each chain at the injected time', async () => {
  const tenant = await newTenant(db.knex, 'Jobs');
  const clock = fixedClock('2031-05-04T03:02:01.000Z');
  const scheduler = createScheduler({
    connection: db.connection,
    embedded: db.kind === 'embedded',
    pollMs: 50,
    lockLifetimeMs: 1000,
    logger: quietLogger,
    // A long interval: the run below comes from now(), not from the clock ticking.
    jobs: serviceJobs({
      knex: db.knex,
      signingKey: key,
      clock,
      logger: quietLogger,
      checkpointEveryMs: 3_600_000,
    }),
  });
  await scheduler.start();
  try {
    await scheduler.agenda.now('audit-checkpoint');
    const [checkpoint] = await until(async () => {
      const cs = await listCheckpoints(db.knex, tenant.id);
      return cs.length ? cs : undefined;
    });
    expect(checkpoint).toMatchObject({
      tenantId: tenant.id,
      seq: 3,
      signedAt: '2031-05-04T03:02:01.000Z',
      keyId: key.keyId,
    });
    expect(checkpointSignatureValid(key.publicKey, checkpoint!)).toBe(true);
  } finally {
    await scheduler.stop(2000);
  }
});

test('a second run signs nothing when no chain grew', async () => {
  const { createCheckpoints } = await import('../../src/audit/checkpoint.js');
  await createCheckpoints(db.knex, key);
  expect(await createCheckpoints(db.knex, key)).toEqual([]);
});

test('every job is scheduled, and a scheduled run of a licence job stores its effect and counts in the metrics', async () => {
  const tenant = await newTenant(db.knex, 'Scheduled renewal');
  const clock = fixedClock('2031-05-04T00:00:00.000Z');
  // An auto-renewing licence whose first term ended a month ago.
  const licenseId = await withTenant(db.knex, tenant.id, async (trx) => {
    const [p] = await trx('products')
      .insert({
        tenant_id: tenant.id,
        product_id: randomUUID(),
        name: 'Tool',
        created_at: clock.now(),
        updated_at: clock.now(),
      })
      .returning('product_id');
    const [l] = await trx('licenses')
      .insert({
        tenant_id: tenant.id,
        license_id: randomUUID(),
        product_id: p.product_id,
        name: 'Yearly',
        type: 'subscription',
        quantity: 5,
        starts_at: '2030-04-01T00:00:00Z',
        ends_at: '2031-04-01T00:00:00Z',
        auto_renew: true,
        created_at: clock.now(),
        updated_at: clock.now(),
      })
      .returning('license_id');
    return l.license_id as string;
  });
  const metrics = createJobMetrics();
  const jobs = serviceJobs({
    knex: db.knex,
    clock,
    logger: quietLogger,
    checkpointEveryMs: 3_600_000,
    metrics,
  });
  expect(jobs.map((j) => j.name)).toEqual([...JOB_NAMES]);
  expect(jobs.find((j) => j.name === 'subscription-renewal')!.everyMs).toBe(86_400_000);
  expect(jobs.find((j) => j.name === 'compliance-scan')!.everyMs).toBe(3_600_000);
  const scheduler = createScheduler({
    connection: db.connection,
    embedded: db.kind === 'embedded',
    pollMs: 50,
    lockLifetimeMs: 1000,
    logger: quietLogger,
    jobs,
  });
  await scheduler.start();
  try {
    await scheduler.agenda.now('subscription-renewal');
    const [term] = await until(async () => {
      const rows = await db
        .owner('license_terms')
        .where({ tenant_id: tenant.id, license_id: licenseId });
      return rows.length ? rows : undefined;
    });
    expect(term).toMatchObject({
      starts_at: new Date('2031-04-01T00:00:00Z'),
      ends_at: new Date('2032-04-01T00:00:00Z'),
    });
  } finally {
    await scheduler.stop(2000);
  }
  const runs = (await metrics.all[0]!.get()).values.find(
    (v) => v.labels.job === 'subscription-renewal',
  );
  expect(runs?.value).toBeGreaterThanOrEqual(1);
});
