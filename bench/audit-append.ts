// Audit append throughput with the hash chain, against plain inserts of the same rows
// into a copy of the table without the chain (the baseline), in the same run.
//
//   DATABASE_URL=postgres://… npm run bench:audit      (real PostgreSQL; the figure that matters)
//   npm run bench:audit                                 (embedded PGlite, reported too)
//
// Each operation is one transaction appending one event, as a typical change does;
// CONNECTIONS workers run concurrently, spread over 1 or 10 tenants.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { appendAuditEvent } from '../src/audit/append.js';
import { settleAudit } from '../src/audit/settle.js';
import { openDatabase } from '../src/db/database.js';
import { migrateUp } from '../src/db/migrate.js';
import { useAuditMacKey } from '../src/audit/mac.js';
import { createLogger } from '../src/log/logger.js';
import { createTenant } from '../src/tenancy/service.js';

const OPS = Number(process.env.BENCH_OPS ?? 4000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const logger = createLogger({ level: 'warn', format: 'pretty' });
const schema = `bench_${randomBytes(4).toString('hex')}`;
const dataDir = process.env.DATABASE_URL
  ? undefined
  : await mkdtemp(path.join(os.tmpdir(), 'sk-bench-'));
const url = process.env.DATABASE_URL
  ? `${process.env.DATABASE_URL}${process.env.DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`
  : undefined;

if (process.env.DATABASE_URL) {
  const setup = await openDatabase({
    databaseUrl: process.env.DATABASE_URL,
    dataDir: '',
    poolMax: 1,
    embeddedMaxConnections: 4,
    mode: 'cli',
    logger,
    as: 'owner',
  });
  await setup.knex.raw(`CREATE SCHEMA ${schema}`);
  await setup.close();
}
const db = await openDatabase({
  databaseUrl: url,
  dataDir: dataDir ?? '',
  poolMax: CONNECTIONS,
  embeddedMaxConnections: CONNECTIONS + 8,
  mode: 'service',
  logger,
});
const knex = db.knex;
await db.withOwner((owner) => migrateUp(owner));
// The service MACs its audit events with a key of its own (src/audit/mac.ts).
useAuditMacKey(randomBytes(32));
// The baseline table: same columns, checks and indexes (LIKE … INCLUDING ALL), no chain.
// LIKE copies no foreign keys: add the same one, so that the two sides differ by the chain
// alone (head row lock, hashing, head update) and not by a foreign-key check.
// Created by the owner (the service's role creates no tables); the MAC check is left off.
await db.withOwner(async (owner) => {
  await owner.raw('CREATE TABLE audit_events_plain (LIKE audit_events INCLUDING ALL)');
  await owner.raw(
    'ALTER TABLE audit_events_plain ADD FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id)',
  );
  await owner.raw('ALTER TABLE audit_events_plain DROP CONSTRAINT IF EXISTS audit_events_mac');
});

const tenants: string[] = [];
for (let i = 0; i < 10; i++)
  tenants.push((await createTenant(knex, `bench ${i}`, { actor: { type: 'system' } })).id);

const payload = {
  userName: 'alice@example.com',
  displayName: 'Alice Example',
  groups: ['Design', 'Engineering'],
};
const hex = () => randomBytes(32).toString('hex');
let plainSeq = 1_000_000;

async function plainInsert(trx: Knex.Transaction, tenantId: string) {
  const eventId = randomUUID();
  plainSeq += 1;
  await trx('audit_events_plain').insert({
    tenant_id: tenantId,
    seq: plainSeq,
    event_id: eventId,
    occurred_at: new Date().toISOString(),
    actor_type: 'token',
    actor_id: randomUUID(),
    action: 'user.created',
    target_type: 'user',
    target_id: randomUUID(),
    payload_digest: hex(),
    prev_hash: hex(),
    hash: hex(),
    subject_id: randomUUID(),
    salt: randomBytes(16),
    body: JSON.stringify(payload),
  });
}

// Appends that found the head busy and were queued for chaining (src/audit/append.ts).
let queued = 0;
async function chained(trx: Knex.Transaction, tenantId: string) {
  const { seq } = await appendAuditEvent(trx, tenantId, {
    action: 'user.created',
    actor: { type: 'token', id: randomUUID() },
    target: { type: 'user', id: randomUUID() },
    subject: randomUUID(),
    payload,
  });
  if (seq === null) queued += 1;
}

async function run(
  op: (trx: Knex.Transaction, tenantId: string) => Promise<void>,
  tenantCount: number,
  finish: () => Promise<unknown> = async () => undefined,
): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < OPS) {
        const i = next++;
        await knex.transaction((trx) => op(trx, tenants[i % tenantCount]!));
      }
    }),
  );
  // The chained side's clock stops only when every event is in a chain.
  await finish();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return OPS / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `database: ${db.kind}; ${OPS} transactions per run, ${CONNECTIONS} connections, median of ${ROUNDS} rounds`,
);
const rows: string[] = [];
for (const tenantCount of [1, 10]) {
  const plain: number[] = [];
  const chain: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Interleave so drift in the machine's load hits both sides alike.
    plain.push(await run(plainInsert, tenantCount));
    chain.push(await run(chained, tenantCount, () => settleAudit(knex)));
  }
  const p = median(plain);
  const c = median(chain);
  // Every round, so the noise of a shared machine shows.
  const rounds = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(
    `  ${tenantCount} tenant(s): plain ${rounds(plain)}; chained ${rounds(chain)}; ` +
      `${((queued / (OPS * ROUNDS)) * 100).toFixed(0)} % of appends queued behind a busy head`,
  );
  queued = 0;
  const line = `| ${db.kind} | ${tenantCount} | ${p.toFixed(0)} | ${c.toFixed(0)} | ${(c / p).toFixed(2)} |`;
  rows.push(line);
  console.log(line);
}

const verify = await import('../src/audit/verify.js');
for (const t of tenants) {
  const report = await verify.verifyTenantChain(knex, t);
  if (!report.ok || report.pending > 0)
    throw new Error(`chain of ${t} broken after the benchmark: ${report.firstBroken?.message}`);
}
console.log('all chains verify');
console.log(
  '\n| database | tenants | plain inserts/s | chained appends/s | ratio |\n|---|---|---|---|---|',
);
for (const r of rows) console.log(r);

// The schema is the owner's: the service role may not drop it.
if (process.env.DATABASE_URL)
  await db.withOwner((owner) => owner.raw(`DROP SCHEMA ${schema} CASCADE`));
await db.close();
if (dataDir) await rm(dataDir, { recursive: true, force: true });
