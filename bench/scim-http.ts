// SCIM over HTTP, end to end: the service runs as its own process (`node --import tsx
// src/main.ts`, NODE_ENV=production, LOG_LEVEL=warn) and this process drives it, with
// autocannon for throughput/latency and plain fetch for the IdP-style sync. Every figure
// has a floor measured in the same run: bench/baseline-server.ts, a bare express 5 + pg
// handler (one INSERT per POST, one indexed SELECT per GET) on its own tables in the same
// database, also in its own process.
//
//   DATABASE_URL=postgres://… npm run bench:scim
//
// Sections (BENCH_ONLY=post,get,patch,sync,sync-embedded picks some; all by default):
//   post           POST /Users at 1 and 32 connections (unique userName per request)
//   get            with 100,000 seeded users at 1 connection: filter userName eq, page
//                  startIndex=50000&count=100, the same page by cursor; plus EXPLAIN ANALYZE
//   patch          one PATCH adding 1,000 members to a new group, wall time
//   sync           initial sync (10,000 users, 500 groups, 50,000 memberships) on PostgreSQL
//   sync-embedded  the same sync on the embedded database (DATABASE_URL unset, temp DATA_DIR)
// BENCH_REPS (default 3) repetitions of each measurement, median reported;
// BENCH_DURATION (default 10) seconds per autocannon run, after BENCH_WARMUP (default 3)
// unrecorded seconds of POSTs against each server (BENCH_POST_CONNECTIONS, default
// "1,32", picks the connection counts); SYNC_CONCURRENCY (default 12)
// parallel requests in the sync.
//
// PostgreSQL sections run in a schema of their own (bench_scim_<random>), dropped at the end.
// BENCH_RLS=off disables row-level security on the schema's tenant tables once the service
// has migrated it, before anything is loaded (bench/rls-switch.ts): the cost of RLS is the
// difference between a run with it and one without, on the same code. The EXPLAINs run as
// the service does: as seatkeeper_app, in a transaction scoped to the tenant.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import knexFactory from 'knex';
import { USER_COLUMNS } from '../src/directory/users.js';
import { encodeCursor } from '../src/scim/list-query.js';
import { anchoredPageSql } from '../src/scim/page-anchors.js';
import { disableRowLevelSecurity, RLS_OFF } from './rls-switch.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPS = Number(process.env.BENCH_REPS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const POST_CONNECTIONS = (process.env.BENCH_POST_CONNECTIONS ?? '1,32').split(',').map(Number);
const SYNC_CONCURRENCY = Number(process.env.SYNC_CONCURRENCY ?? 12);
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const wanted = (section: string) => !ONLY || ONLY.includes(section);

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SCIM_JSON = 'application/scim+json';

// ---------------------------------------------------------------------------------------
// Statistics and printing

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
/** Spread of repeated runs: (max - min) / median, to say when the machine was noisy. */
const spread = (xs: number[]) => (Math.max(...xs) - Math.min(...xs)) / median(xs);
const f0 = (x: number) => x.toFixed(0);
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

const table: string[] = [];
function report(line: string) {
  table.push(line);
  console.log(line);
}

// ---------------------------------------------------------------------------------------
// Processes: the service, the baseline server, the CLI

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** This process's environment with overrides; `undefined` removes a variable. */
function envWith(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

interface Child {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

function track(child: ChildProcess) {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return () => out;
}

async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Poll until `check` succeeds, the child dies, or the timeout passes. */
async function waitFor(child: ChildProcess, output: () => string, check: () => Promise<boolean>) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`child exited (${child.exitCode}):\n${output()}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`child did not become ready:\n${output()}`);
}

/** The service as production runs it, ready when /readyz says so (migrations applied). */
async function startService(db: { databaseUrl: string } | { dataDir: string }): Promise<Child> {
  const port = await freePort();
  // BENCH_SERVICE_NODE_ARGS: extra node flags for the service, e.g. "--cpu-prof
  // --cpu-prof-dir=/tmp/prof" for a CPU profile written when it stops, or "--trace-gc"
  // with BENCH_SERVICE_OUTPUT=1.
  const extra = process.env.BENCH_SERVICE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...extra, '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: envWith({
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: 'databaseUrl' in db ? db.databaseUrl : undefined,
      DATA_DIR: 'dataDir' in db ? db.dataDir : undefined,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = track(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(child, output, async () => (await fetch(`${url}/readyz`)).ok);
  return {
    url,
    child,
    async stop() {
      await stopChild(child);
      // BENCH_SERVICE_OUTPUT=1 prints what the service wrote (with --trace-gc, its GCs).
      if (process.env.BENCH_SERVICE_OUTPUT === '1') console.log(output());
    },
  };
}

async function startBaseline(db: { databaseUrl: string } | { dataDir: string }): Promise<Child> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/baseline-server.ts'], {
    cwd: ROOT,
    env: envWith({
      PORT: String(port),
      DATABASE_URL: 'databaseUrl' in db ? db.databaseUrl : undefined,
      PGHOST: 'dataDir' in db ? db.dataDir : undefined,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = track(child);
  await waitFor(child, output, async () => output().includes('baseline listening'));
  return { url: `http://127.0.0.1:${port}`, child, stop: () => stopChild(child) };
}

/** `seatkeeper tenant create <name> --json` against the same database: the SCIM token. */
async function createTenant(
  name: string,
  db: { databaseUrl: string } | { dataDir: string },
): Promise<{ id: string; scimToken: string }> {
  const child = spawn(process.execPath, ['bin/seatkeeper.js', 'tenant', 'create', name, '--json'], {
    cwd: ROOT,
    env: envWith({
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: 'databaseUrl' in db ? db.databaseUrl : undefined,
      DATA_DIR: 'dataDir' in db ? db.dataDir : undefined,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`tenant create failed (${String(code)}): ${err}`);
  return JSON.parse(out) as { id: string; scimToken: string };
}

// ---------------------------------------------------------------------------------------
// Load: autocannon, with our own latency record (autocannon's histogram has 1 ms
// resolution; the targets are a few ms, so keep every 2xx response time, in fractional ms)

interface Load {
  rps: number;
  p50: number;
  p99: number;
  bad: number;
}

async function load(
  url: string,
  connections: number,
  request: autocannon.Request,
  headers: Record<string, string> = {},
  duration = DURATION,
): Promise<Load> {
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url, connections, duration, headers, requests: [request] },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) times.push(ms);
    });
  });
  times.sort((a, b) => a - b);
  return {
    rps: result['2xx'] / result.duration,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    bad: result.non2xx + result.errors + result.timeouts,
  };
}

/** Repeat service and baseline runs alternately (drift hits both) and report medians. */
async function compare(
  label: string,
  runService: () => Promise<Load>,
  runBaseline: () => Promise<Load>,
  target: string,
) {
  const svc: Load[] = [];
  const base: Load[] = [];
  for (let r = 0; r < REPS; r++) {
    base.push(await runBaseline());
    svc.push(await runService());
    const [s, b] = [svc[r]!, base[r]!];
    console.log(
      `  ${label} rep ${r + 1}: service ${f0(s.rps)}/s p50 ${f1(s.p50)} p99 ${f1(s.p99)} ms` +
        ` (bad ${s.bad}); baseline ${f0(b.rps)}/s p50 ${f1(b.p50)} p99 ${f1(b.p99)} ms (bad ${b.bad})`,
    );
  }
  const m = (xs: Load[], k: keyof Load) => median(xs.map((x) => x[k]));
  const sRps = m(svc, 'rps');
  const bRps = m(base, 'rps');
  report(
    `| ${label} | ${f0(sRps)} | ${f1(m(svc, 'p50'))} / ${f1(m(svc, 'p99'))} | ${f0(bRps)} | ` +
      `${f1(m(base, 'p50'))} / ${f1(m(base, 'p99'))} | ${f2(sRps / bRps)} | ` +
      `${f0(spread(svc.map((x) => x.rps)) * 100)} % / ${f0(spread(base.map((x) => x.rps)) * 100)} % | ${target} |`,
  );
}

// ---------------------------------------------------------------------------------------
// Request bodies, as an IdP sends them

let serial = 0;
const runTag = randomBytes(3).toString('hex');
function userBody(userName = `u${runTag}-${++serial}@bench.example`) {
  const n = userName.split('@')[0]!;
  return {
    schemas: [CORE_USER],
    userName,
    externalId: `ext-${n}`,
    name: { givenName: 'Bench', familyName: n },
    displayName: `Bench ${n}`,
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
  };
}

async function call(
  method: string,
  url: string,
  token: string | undefined,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> | undefined }> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': token ? SCIM_JSON : 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 300)}`);
  return {
    status: res.status,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

/** Run `fn` over 0..n-1 with `concurrency` in flight, like an IdP's provisioning workers. */
async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

// ---------------------------------------------------------------------------------------
// Sections

/** POST /Users vs baseline POST, at 1 and 32 connections. */
async function benchPost(svc: Child, base: Child, token: string) {
  const scimHeaders = { authorization: `Bearer ${token}`, 'content-type': SCIM_JSON };
  await call('POST', `${svc.url}/scim/v2/Users`, token, userBody()); // sanity: 201
  const service = (connections: number, duration?: number) =>
    load(
      svc.url,
      connections,
      {
        method: 'POST',
        path: '/scim/v2/Users',
        headers: scimHeaders,
        setupRequest: (req) => ({ ...req, body: JSON.stringify(userBody()) }),
      },
      {},
      duration,
    );
  const baseline = (connections: number, duration?: number) =>
    load(
      base.url,
      connections,
      {
        method: 'POST',
        path: '/users',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify(userBody()) }),
      },
      {},
      duration,
    );
  // Warm both up first (JIT, pools, caches), unrecorded: the first timed run of either
  // used to be the slowest by up to half.
  await baseline(8, WARMUP);
  await service(8, WARMUP);
  for (const connections of POST_CONNECTIONS) {
    await compare(
      `POST /Users, ${connections} conn`,
      () => service(connections),
      () => baseline(connections),
      '≥ 0.5× baseline',
    );
  }
}

const SEEDED = 100_000;
const seedName = (i: number) => `seed${i}@bench.example`;
// The seeded rows look like what POST /Users stores (data is the SCIM JSON without id/meta).
const seedData = `jsonb_build_object(
  'userName', 'seed' || i || '@bench.example', 'externalId', 'ext-seed' || i,
  'name', jsonb_build_object('givenName', 'Bench', 'familyName', 'seed' || i),
  'displayName', 'Bench seed' || i,
  'emails', jsonb_build_array(jsonb_build_object('value', 'seed' || i || '@bench.example', 'type', 'work', 'primary', true)),
  'active', true)`;

async function seedUsers(sql: pg.Client, tenantId: string) {
  const t0 = Date.now();
  await sql.query(
    `INSERT INTO directory_users
       (tenant_id, user_id, user_name, external_id, active, data, version, created_at, last_modified)
     SELECT $1, gen_random_uuid(), 'seed' || i || '@bench.example', 'ext-seed' || i, true,
            ${seedData}, 1, now(), now()
     FROM generate_series(1, ${SEEDED}) AS i`,
    [tenantId],
  );
  // The baseline gets the same 100,000 rows (and only those) in its own table.
  await sql.query('TRUNCATE baseline_users');
  await sql.query(
    `INSERT INTO baseline_users (user_name, data)
     SELECT 'seed' || i || '@bench.example', ${seedData} FROM generate_series(1, ${SEEDED}) AS i`,
  );
  // Vacuumed as autovacuum would soon after a load (PostgreSQL 13+ vacuums after inserts
  // too): the visibility map is what lets the deep page skip by an index-only scan.
  await sql.query('VACUUM (ANALYZE) directory_users');
  await sql.query('VACUUM (ANALYZE) baseline_users');
  console.log(`  seeded ${SEEDED} users (service tenant and baseline) in ${Date.now() - t0} ms`);
}

/** The three reads at 1 connection, and the plans of the SQL the service runs for them. */
async function benchGet(svc: Child, base: Child, token: string, sql: pg.Client, tenantId: string) {
  const headers = { authorization: `Bearer ${token}` };
  const randomSeed = () => 1 + Math.floor(Math.random() * SEEDED);
  const filterPath = (name: string) =>
    `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`;

  // Sanity: one user per filter, 100 per page, the page starts where we think.
  const one = await call('GET', `${svc.url}${filterPath(seedName(42))}`, token);
  if (one.json?.totalResults !== 1)
    throw new Error(`filter found ${String(one.json?.totalResults)}`);
  const after = (
    await sql.query(
      'SELECT user_id FROM directory_users WHERE tenant_id = $1 ORDER BY user_id OFFSET $2 LIMIT 1',
      [tenantId, 50_000 - 2],
    )
  ).rows[0].user_id as string;
  const baseAfter = (
    await sql.query('SELECT id FROM baseline_users ORDER BY id OFFSET $1 LIMIT 1', [50_000 - 2])
  ).rows[0].id as string;
  // RFC 9865 cursor in the service's format (src/scim/list-query.ts): keyset after this id.
  const cursor = encodeCursor({ after });
  const byIndex = await call('GET', `${svc.url}/scim/v2/Users?startIndex=50000&count=100`, token);
  const byCursor = await call('GET', `${svc.url}/scim/v2/Users?cursor=${cursor}&count=100`, token);
  const firstId = (r: typeof byIndex) => (r.json?.Resources as { id: string }[])[0]?.id;
  if (
    firstId(byIndex) !== firstId(byCursor) ||
    (byIndex.json?.Resources as unknown[]).length !== 100
  )
    throw new Error('index page and cursor page do not start at the same user');

  await compare(
    'GET filter userName eq, 1 conn',
    () =>
      load(svc.url, 1, {
        method: 'GET',
        headers,
        setupRequest: (req) => ({ ...req, path: filterPath(seedName(randomSeed())) }),
      }),
    () =>
      load(base.url, 1, {
        method: 'GET',
        setupRequest: (req) => ({
          ...req,
          path: `/users?userName=${encodeURIComponent(seedName(randomSeed()))}`,
        }),
      }),
    'p99 < 10 ms',
  );
  await compare(
    'GET startIndex=50000&count=100, 1 conn',
    () =>
      load(svc.url, 1, {
        method: 'GET',
        headers,
        path: '/scim/v2/Users?startIndex=50000&count=100',
      }),
    () => load(base.url, 1, { method: 'GET', path: '/users?offset=49999&limit=100' }),
    'p99 < 10 ms',
  );
  await compare(
    'GET cursor (mid-set)&count=100, 1 conn',
    () =>
      load(svc.url, 1, {
        method: 'GET',
        headers,
        path: `/scim/v2/Users?cursor=${cursor}&count=100`,
      }),
    () => load(base.url, 1, { method: 'GET', path: `/users?after=${baseAfter}&limit=100` }),
    'p99 < 10 ms',
  );

  // The SQL the service runs for these requests (knex's output for src/scim/list.ts, and
  // the anchored page's own statement), explained on the same data.
  const cols =
    'r.user_id, r.user_name, r.external_id, r.active, r.data, r.version, r.created_at, r.last_modified';
  // The deep page starts from the anchor at position 49,001 (src/scim/page-anchors.ts).
  const anchorId = (
    await sql.query(
      'SELECT user_id FROM directory_users WHERE tenant_id = $1 ORDER BY user_id OFFSET $2 LIMIT 1',
      [tenantId, 49_000],
    )
  ).rows[0].user_id as string;
  const anchored = knexFactory({ client: 'pg' })
    .raw(
      anchoredPageSql({ table: 'directory_users', idColumn: 'user_id', columns: USER_COLUMNS }),
      { tenant: tenantId, kind: 'User', anchor: anchorId, skip: 999, count: 100 },
    )
    .toSQL()
    .toNative();
  const plans: [string, string, unknown[]][] = [
    [
      'filter: count',
      `SELECT count(*) AS n FROM directory_users AS r WHERE r.tenant_id = $1 AND r.user_name_lower = lower($2)`,
      [tenantId, seedName(50_000)],
    ],
    [
      'page by index (startIndex=50000): the anchored page with its count, as the service runs it',
      anchored.sql,
      [...anchored.bindings],
    ],
    [
      'page by cursor: rows',
      `SELECT ${cols} FROM directory_users AS r WHERE r.tenant_id = $1 AND r.user_id > $2 ORDER BY r.user_id ASC LIMIT $3`,
      [tenantId, after, 101],
    ],
  ];
  // As the service runs them: its role, its tenant's scope (row-level security applies).
  await sql.query('BEGIN');
  await sql.query('SET LOCAL ROLE seatkeeper_app');
  await sql.query("SELECT set_config('seatkeeper.tenant_id', $1, true)", [tenantId]);
  for (const [label, text, values] of plans) {
    const plan = await sql.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
    console.log(`\n  EXPLAIN ANALYZE, ${label}:`);
    for (const row of plan.rows as { 'QUERY PLAN': string }[])
      console.log(`    ${row['QUERY PLAN']}`);
  }
  await sql.query('ROLLBACK');
  console.log();
}

/** One PATCH adding 1,000 existing users to a fresh group: wall time from this process. */
async function benchPatch(
  svc: Child,
  base: Child,
  token: string,
  sql: pg.Client,
  tenantId: string,
) {
  const ids = (
    await sql.query(
      'SELECT user_id FROM directory_users WHERE tenant_id = $1 ORDER BY user_id LIMIT 20000',
      [tenantId],
    )
  ).rows.map((r: { user_id: string }) => r.user_id);
  const baseIds = (
    await sql.query('SELECT id FROM baseline_users ORDER BY id LIMIT 20000')
  ).rows.map((r: { id: string }) => r.id);
  const runs = Math.max(REPS, 7);
  const svcMs: number[] = [];
  const baseMs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const slice = (xs: string[]) => xs.slice((r % 20) * 1000, (r % 20) * 1000 + 1000);
    const g = await call('POST', `${base.url}/groups`, undefined, { displayName: `patch ${r}` });
    let t0 = performance.now();
    await call('POST', `${base.url}/groups/${String(g.json!.id)}/members`, undefined, {
      members: slice(baseIds),
    });
    baseMs.push(performance.now() - t0);

    const group = await call('POST', `${svc.url}/scim/v2/Groups`, token, {
      schemas: [CORE_GROUP],
      displayName: `patch ${runTag} ${r}`,
    });
    const members = slice(ids).map((value) => ({ value }));
    t0 = performance.now();
    const res = await call('PATCH', `${svc.url}/scim/v2/Groups/${String(group.json!.id)}`, token, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: 'members', value: members }],
    });
    svcMs.push(performance.now() - t0);
    if (res.status !== 204) throw new Error(`PATCH answered ${res.status}`);
  }
  console.log(
    `  PATCH +1000 members: service ${svcMs.map(f0).join(', ')} ms; baseline ${baseMs.map(f0).join(', ')} ms`,
  );
  const s = median(svcMs);
  const b = median(baseMs);
  report(
    `| PATCH Group +1,000 members (median of ${runs}) | ${f0(s)} ms | | ${f0(b)} ms | | ${f1(s / b)}× the time | ${f0(spread(svcMs) * 100)} % / ${f0(spread(baseMs) * 100)} % | < 250 ms |`,
  );
}

/** What an IdP's initial push needs from a target: create users, create groups, add members. */
interface SyncTarget {
  createUser(i: number): Promise<string>;
  createGroup(g: number): Promise<string>;
  addMembers(groupId: string, memberIds: string[]): Promise<void>;
}

// SYNC_USERS scales the whole sync down for a quick try (groups = users / 20).
const SYNC_USERS = Number(process.env.SYNC_USERS ?? 10_000);
const SYNC_GROUPS = SYNC_USERS / 20;
const MEMBERS_PER_GROUP = 100; // 500 × 100 = 50,000 memberships; each user in 5 groups
const PATCH_BATCH = 100;

function scimTarget(url: string, token: string, tag: string): SyncTarget {
  return {
    async createUser(i) {
      const r = await call(
        'POST',
        `${url}/scim/v2/Users`,
        token,
        userBody(`${tag}-${i}@sync.example`),
      );
      return String(r.json!.id);
    },
    async createGroup(g) {
      const r = await call('POST', `${url}/scim/v2/Groups`, token, {
        schemas: [CORE_GROUP],
        displayName: `${tag} group ${g}`,
        externalId: `${tag}-g${g}`,
      });
      return String(r.json!.id);
    },
    async addMembers(groupId, memberIds) {
      await call('PATCH', `${url}/scim/v2/Groups/${groupId}`, token, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'add', path: 'members', value: memberIds.map((value) => ({ value })) }],
      });
    },
  };
}

function baselineTarget(url: string, tag: string): SyncTarget {
  return {
    async createUser(i) {
      const r = await call('POST', `${url}/users`, undefined, userBody(`${tag}-${i}@sync.example`));
      return String(r.json!.id);
    },
    async createGroup(g) {
      const r = await call('POST', `${url}/groups`, undefined, {
        displayName: `${tag} group ${g}`,
      });
      return String(r.json!.id);
    },
    async addMembers(groupId, memberIds) {
      await call('POST', `${url}/groups/${groupId}/members`, undefined, { members: memberIds });
    },
  };
}

interface SyncTimes {
  users: number;
  groups: number;
  members: number;
  total: number;
}

async function sync(target: SyncTarget): Promise<SyncTimes> {
  const t0 = performance.now();
  const userIds: string[] = new Array<string>(SYNC_USERS);
  await pool(SYNC_USERS, SYNC_CONCURRENCY, async (i) => {
    userIds[i] = await target.createUser(i);
  });
  const t1 = performance.now();
  const groupIds: string[] = new Array<string>(SYNC_GROUPS);
  await pool(SYNC_GROUPS, SYNC_CONCURRENCY, async (g) => {
    groupIds[g] = await target.createGroup(g);
  });
  const t2 = performance.now();
  // Group g holds users g*20 … g*20+99 (mod 10,000): 100 per group, 5 groups per user.
  const batches: [string, string[]][] = [];
  for (let g = 0; g < SYNC_GROUPS; g++) {
    const members = Array.from(
      { length: MEMBERS_PER_GROUP },
      (_, j) => userIds[(g * 20 + j) % SYNC_USERS]!,
    );
    for (let k = 0; k < members.length; k += PATCH_BATCH)
      batches.push([groupIds[g]!, members.slice(k, k + PATCH_BATCH)]);
  }
  await pool(batches.length, SYNC_CONCURRENCY, async (b) => {
    await target.addMembers(...batches[b]!);
  });
  const t3 = performance.now();
  return { users: t1 - t0, groups: t2 - t1, members: t3 - t2, total: t3 - t0 };
}

/** Repeated syncs into fresh tenants (service) and fresh names (baseline), medians reported. */
async function benchSync(
  label: string,
  svc: Child,
  base: Child,
  db: { databaseUrl: string } | { dataDir: string },
  sql: pg.Client,
) {
  const svcRuns: SyncTimes[] = [];
  const baseRuns: SyncTimes[] = [];
  for (let r = 0; r < REPS; r++) {
    const tag = `s${runTag}${r}`;
    baseRuns.push(await sync(baselineTarget(base.url, tag)));
    const tenant = await createTenant(`sync ${tag}`, db);
    svcRuns.push(await sync(scimTarget(svc.url, tenant.scimToken, tag)));
    // Check the service really holds the whole directory.
    const counts = (
      await sql.query(
        `SELECT (SELECT count(*) FROM directory_users WHERE tenant_id = $1) AS users,
                (SELECT count(*) FROM directory_groups WHERE tenant_id = $1) AS groups,
                (SELECT count(*) FROM directory_memberships WHERE tenant_id = $1) AS members`,
        [tenant.id],
      )
    ).rows[0] as { users: string; groups: string; members: string };
    const [s, b] = [svcRuns[r]!, baseRuns[r]!];
    console.log(
      `  ${label} rep ${r + 1}: service ${f1(s.total / 1000)} s (users ${f1(s.users / 1000)}, groups ${f1(s.groups / 1000)}, members ${f1(s.members / 1000)}); ` +
        `baseline ${f1(b.total / 1000)} s; stored ${counts.users} users, ${counts.groups} groups, ${counts.members} memberships`,
    );
    if (Number(counts.members) !== SYNC_GROUPS * MEMBERS_PER_GROUP)
      throw new Error('the sync did not store every membership');
  }
  const m = (xs: SyncTimes[], k: keyof SyncTimes) => median(xs.map((x) => x[k])) / 1000;
  report(
    `| initial sync, ${label} (users / groups / members phases) | ${f1(m(svcRuns, 'total'))} s | ${f1(m(svcRuns, 'users'))} / ${f1(m(svcRuns, 'groups'))} / ${f1(m(svcRuns, 'members'))} s | ` +
      `${f1(m(baseRuns, 'total'))} s | ${f1(m(baseRuns, 'users'))} / ${f1(m(baseRuns, 'groups'))} / ${f1(m(baseRuns, 'members'))} s | ` +
      `${f1(m(svcRuns, 'total') / m(baseRuns, 'total'))}× the time | ${f0(spread(svcRuns.map((x) => x.total)) * 100)} % / ${f0(spread(baseRuns.map((x) => x.total)) * 100)} % | < 60 s |`,
  );
}

// ---------------------------------------------------------------------------------------
// Main

console.log(
  `scim-http: ${REPS} reps, ${DURATION} s per load run, sync concurrency ${SYNC_CONCURRENCY}, ` +
    `${os.cpus().length} CPUs, node ${process.version}`,
);
const started: Child[] = [];
const cleanups: (() => Promise<void>)[] = [];
try {
  if (wanted('post') || wanted('get') || wanted('patch') || wanted('sync')) {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('set DATABASE_URL to a PostgreSQL (or BENCH_ONLY=sync-embedded)');
    const schema = `bench_scim_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    cleanups.push(async () => {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    });
    const withOptions = (options: string) =>
      `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(options)}`;
    const db = { databaseUrl: withOptions(`-c search_path=${schema}`) };
    // BENCH_SERVICE_PGOPTIONS: extra settings for the service's connections only, e.g.
    // "-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=5"
    // to get the plans of its slow statements in the PostgreSQL server log.
    const serviceDb = {
      databaseUrl: withOptions(
        `-c search_path=${schema} ${process.env.BENCH_SERVICE_PGOPTIONS ?? ''}`.trim(),
      ),
    };
    const sql = new pg.Client({ connectionString: db.databaseUrl });
    await sql.connect();
    cleanups.unshift(() => sql.end());

    const svc = await startService(serviceDb);
    started.push(svc);
    const base = await startBaseline(db);
    started.push(base);
    if (RLS_OFF) {
      const tables = await disableRowLevelSecurity((q) => sql.query(q));
      console.log(`BENCH_RLS=off: row-level security disabled on ${tables.join(', ')}`);
    }
    console.log(
      `PostgreSQL (${schema}, row-level security ${RLS_OFF ? 'off' : 'on'}): service ${svc.url}, baseline ${base.url}`,
    );
    report(
      '\n| PostgreSQL 15 | service req/s (or time) | p50 / p99 ms | baseline req/s (or time) | p50 / p99 ms | ratio | spread svc / base | target |\n|---|---|---|---|---|---|---|---|',
    );

    if (wanted('post')) {
      const writer = await createTenant('bench write', db);
      await benchPost(svc, base, writer.scimToken);
    }
    if (wanted('get') || wanted('patch')) {
      const reader = await createTenant('bench read', db);
      await seedUsers(sql, reader.id);
      if (wanted('get')) await benchGet(svc, base, reader.scimToken, sql, reader.id);
      if (wanted('patch')) await benchPatch(svc, base, reader.scimToken, sql, reader.id);
    }
    if (wanted('sync')) await benchSync('PostgreSQL', svc, base, db, sql);
    await Promise.all(started.splice(0).map((c) => c.stop()));
  }

  if (wanted('sync-embedded')) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sk-bench-scim-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const db = { dataDir: path.join(dir, 'data') };
    const svc = await startService(db);
    started.push(svc);
    // The baseline uses the running service's socket: the same embedded database.
    const base = await startBaseline(db);
    started.push(base);
    const sql = new pg.Client({
      host: db.dataDir,
      port: 5432,
      user: 'postgres',
      database: 'postgres',
    });
    await sql.connect();
    cleanups.unshift(() => sql.end());
    console.log(`embedded (${db.dataDir}): service ${svc.url}, baseline ${base.url}`);
    report(
      '\n| embedded (PGlite) | service time | phases | baseline time | phases | ratio | spread svc / base | target |\n|---|---|---|---|---|---|---|---|',
    );
    await benchSync('embedded', svc, base, db, sql);
    await sql.end();
    cleanups.shift();
    await Promise.all(started.splice(0).map((c) => c.stop()));
  }
} finally {
  await Promise.all(started.map((c) => c.stop()));
  for (const c of cleanups) await c().catch((err: unknown) => console.error(err));
}
console.log(`\n${table.join('\n')}`);
