// The request limits of issue 12, measured where they bite: on the embedded database,
// which runs one transaction at a time, so a long request holds every tenant.
//  1. A group PATCH at the operation limit (PATCH_MAX_OPERATIONS single-member adds),
//     and the same members in one `add` operation: wall time, against the probe's
//     10,000-operation PATCH (6-7 s) that the limit now refuses.
//  2. The CSV import's parser on a 1 MiB (BODY_LIMIT_BYTES) and a 10 MiB body: the
//     longest stall of the event loop while it parses, against the probe's 1.8 s for
//     10 MiB parsed in one synchronous call (csv-parse/sync, measured here too).
//
//   npm run bench:limits         (embedded PGlite in a temporary data directory)
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parse as parseSync } from 'csv-parse/sync';
import request from 'supertest';
import { loadMacKey, useAuditMacKey } from '../src/audit/mac.js';
import { openDatabase } from '../src/db/database.js';
import { migrateUp } from '../src/db/migrate.js';
import { createApp } from '../src/app.js';
import { readCsvRecords } from '../src/licensing/import-csv.js';
import { createLogger } from '../src/log/logger.js';
import { PATCH_MAX_OPERATIONS } from '../src/scim/limits.js';
import { createTenant } from '../src/tenancy/service.js';

const REPS = Number(process.env.BENCH_REPS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const logger = createLogger({ level: 'warn', format: 'pretty' });
const dir = await mkdtemp(path.join(os.tmpdir(), 'sk-bench-limits-'));
const db = await openDatabase({
  dataDir: dir,
  poolMax: 10,
  embeddedMaxConnections: 32,
  mode: 'service',
  logger,
});
await db.withOwner((owner) => migrateUp(owner));
useAuditMacKey(loadMacKey(path.join(dir, 'keys', 'mac.key'), { create: true })!);
const app = createApp({
  knex: db.knex,
  logger,
  bodyLimit: 1024 * 1024,
  state: { shuttingDown: false },
  publicUrl: () => 'http://localhost',
});
const tenant = await createTenant(db.knex, 'bench', { actor: { type: 'system', id: 'bench' } });
const scim = (method: 'post' | 'patch', url: string, body: unknown) => {
  const req = request(app);
  return (method === 'post' ? req.post(`/scim/v2${url}`) : req.patch(`/scim/v2${url}`))
    .set('Authorization', `Bearer ${tenant.scimToken}`)
    .set('Content-Type', 'application/scim+json')
    .send(JSON.stringify(body));
};

// Users to add: created once, in bulk-sized requests.
const userIds: string[] = [];
for (let i = 0; i < PATCH_MAX_OPERATIONS; i++) {
  const res = await scim('post', '/Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: `u${i}@example.com`,
  });
  userIds.push(res.body.id as string);
}
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
async function timedPatch(ops: unknown[]): Promise<number> {
  const group = await scim('post', '/Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: `g${Math.random()}`,
  });
  const t0 = performance.now();
  const res = await scim('patch', `/Groups/${group.body.id as string}`, {
    schemas: [PATCH_OP],
    Operations: ops,
  });
  const ms = performance.now() - t0;
  if (res.status >= 300) throw new Error(`PATCH answered ${res.status}: ${res.text}`);
  return ms;
}
const perOp = userIds.map((value) => ({ op: 'add', path: 'members', value: [{ value }] }));
const oneOp = [{ op: 'add', path: 'members', value: userIds.map((value) => ({ value })) }];
const manyOps: number[] = [];
const single: number[] = [];
for (let r = 0; r < REPS; r++) {
  manyOps.push(await timedPatch(perOp));
  single.push(await timedPatch(oneOp));
}
console.log(
  `\n| group PATCH, embedded | median of ${REPS} | runs |\n|---|---|---|\n` +
    `| ${PATCH_MAX_OPERATIONS} operations of one member | ${median(manyOps).toFixed(0)} ms | ${manyOps.map((x) => x.toFixed(0)).join(', ')} |\n` +
    `| one operation of ${PATCH_MAX_OPERATIONS} members | ${median(single).toFixed(0)} ms | ${single.map((x) => x.toFixed(0)).join(', ')} |`,
);
await db.close();
await rm(dir, { recursive: true, force: true });

// The parser alone: the longest event-loop stall while a body is parsed.
function csvOf(bytes: number): string {
  const rows = ['product,vendor,license,type,quantity,assignee'];
  let size = rows[0]!.length;
  for (let i = 0; size < bytes; i++) {
    const row = `Product ${i % 50},Vendor,Licence ${i},subscription,10,user${i}@example.com`;
    rows.push(row);
    size += row.length + 1;
  }
  return rows.join('\n');
}
async function stall(run: () => Promise<unknown>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await run();
  // The sampling timer records a stall when it fires after it: give it the chance.
  await new Promise((r) => setTimeout(r, 20));
  h.disable();
  return h.max / 1e6;
}
/** The body as it arrives over a socket: 64 KiB chunks, a turn of the loop between them. */
async function* chunks(text: string) {
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += 65536) {
    yield buf.subarray(i, i + 65536);
    await new Promise((r) => setImmediate(r));
  }
}
const lines = [
  '\n| CSV parse | bytes | longest stall, streamed | longest stall, one sync call |',
  '|---|---|---|---|',
];
for (const mib of [1, 10]) {
  const text = csvOf(mib * 1024 * 1024);
  const streamed: number[] = [];
  const sync: number[] = [];
  for (let r = 0; r < REPS; r++) {
    streamed.push(await stall(() => readCsvRecords(chunks(text))));
    // One synchronous call holds the loop for exactly as long as it runs.
    const t0 = performance.now();
    parseSync(text, { columns: true, info: true, bom: true, skip_empty_lines: true });
    sync.push(performance.now() - t0);
  }
  lines.push(
    `| ${mib} MiB | ${Buffer.byteLength(text)} | ${median(streamed).toFixed(0)} ms | ${median(sync).toFixed(0)} ms |`,
  );
}
console.log(lines.join('\n'));
