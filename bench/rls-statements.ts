// The cost of row-level security per statement, paired: the SCIM read and create
// statements, each run many times in one session, alternately as seatkeeper_app under
// the tenant policies and as the tables' owner (who bypasses them), both in a
// transaction scoped to the tenant. The pairs are interleaved statement by statement, so
// a loaded machine slows both sides alike: the medians' difference is what the policies
// cost, where the HTTP benches' on/off runs minutes apart cannot see a few percent.
//
//   DATABASE_URL=postgres://… npx tsx bench/rls-statements.ts   (BENCH_ITER, default 400)
//
// 100,000 users are seeded into a tenant of a schema of its own (dropped at the end).
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import knexFactory from 'knex';
import { openDatabase } from '../src/db/database.js';
import { migrateUp } from '../src/db/migrate.js';
import { createLogger } from '../src/log/logger.js';
import { useAuditMacKey } from '../src/audit/mac.js';
import { createTenant } from '../src/tenancy/service.js';
import { USER_COLUMNS } from '../src/directory/users.js';
import { anchoredPageSql } from '../src/scim/page-anchors.js';

if (!process.env.DATABASE_URL) throw new Error('set DATABASE_URL to a PostgreSQL database');
const ITER = Number(process.env.BENCH_ITER ?? 400);
const SEEDED = 100_000;
const schema = `bench_rls_${randomBytes(4).toString('hex')}`;
const logger = createLogger({ level: 'warn', format: 'pretty' });
const sql = new pg.Client({ connectionString: process.env.DATABASE_URL });
await sql.connect();
await sql.query(`CREATE SCHEMA ${schema}`);
await sql.query(`SET search_path = ${schema}`);
try {
  const url = `${process.env.DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const db = await openDatabase({
    databaseUrl: url,
    dataDir: '',
    poolMax: 2,
    embeddedMaxConnections: 4,
    mode: 'service',
    logger,
  });
  await db.withOwner((owner) => migrateUp(owner));
  useAuditMacKey(randomBytes(32)); // the tenant's creation is audited
  const tenant = await createTenant(db.knex, 'bench-rls', { actor: { type: 'system' } });
  await db.close();
  const t = tenant.id;
  await sql.query(
    `INSERT INTO directory_users (tenant_id, user_id, user_name, external_id, active, data, version, created_at, last_modified)
     SELECT $1, gen_random_uuid(), 'seed' || i || '@bench.example', 'ext-seed' || i, true,
            jsonb_build_object('userName', 'seed' || i || '@bench.example', 'active', true), 1, now(), now()
       FROM generate_series(1, ${SEEDED}) AS i`,
    [t],
  );
  await sql.query('VACUUM (ANALYZE) directory_users');
  const nth = async (n: number) =>
    (
      await sql.query(
        'SELECT user_id FROM directory_users WHERE tenant_id = $1 ORDER BY user_id OFFSET $2 LIMIT 1',
        [t, n],
      )
    ).rows[0].user_id as string;
  const after = await nth(50_000 - 2);
  const anchor = await nth(49_000);
  const anchored = knexFactory({ client: 'pg' })
    .raw(
      anchoredPageSql({ table: 'directory_users', idColumn: 'user_id', columns: USER_COLUMNS }),
      {
        tenant: t,
        kind: 'User',
        anchor,
        skip: 999,
        count: 100,
      },
    )
    .toSQL()
    .toNative();
  const cols = USER_COLUMNS.map((c) => `r.${c}`).join(', ');
  const seed = () => `seed${1 + Math.floor(Math.random() * SEEDED)}@bench.example`;
  const statements: [string, () => [string, unknown[]]][] = [
    [
      'filter userName eq: count',
      () => [
        'SELECT count(*) AS n FROM directory_users AS r WHERE r.tenant_id = $1 AND r.user_name_lower = lower($2)',
        [t, seed()],
      ],
    ],
    [
      'filter userName eq: rows',
      () => [
        `SELECT ${cols} FROM directory_users AS r WHERE r.tenant_id = $1 AND r.user_name_lower = lower($2) ORDER BY r.user_id LIMIT 100`,
        [t, seed()],
      ],
    ],
    [
      'page startIndex=50000 (anchored, with its count)',
      () => [anchored.sql, [...anchored.bindings]],
    ],
    [
      'page by cursor',
      () => [
        `SELECT ${cols} FROM directory_users AS r WHERE r.tenant_id = $1 AND r.user_id > $2 ORDER BY r.user_id ASC LIMIT 101`,
        [t, after],
      ],
    ],
    [
      'insert one user (rolled back)',
      () => {
        const n = `x${randomUUID()}@bench.example`;
        return [
          `INSERT INTO directory_users (tenant_id, user_id, user_name, active, data, version, created_at, last_modified)
           VALUES ($1, $2, $3, true, $4, 1, now(), now()) ON CONFLICT DO NOTHING RETURNING user_id`,
          [t, randomUUID(), n, JSON.stringify({ userName: n, active: true })],
        ];
      },
    ],
  ];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`rls-statements: ${ITER} pairs per statement, ${SEEDED} users, schema ${schema}`);
  console.log('| statement | policies (seatkeeper_app) ms | bypassed (owner) ms | difference |');
  console.log('|---|---|---|---|');
  for (const [label, make] of statements) {
    const times = { app: [] as number[], owner: [] as number[] };
    for (let i = 0; i < ITER; i++) {
      const order = Math.random() < 0.5 ? (['app', 'owner'] as const) : (['owner', 'app'] as const);
      for (const who of order) {
        const [text, values] = make();
        await sql.query('BEGIN');
        if (who === 'app') await sql.query('SET LOCAL ROLE seatkeeper_app');
        await sql.query("SELECT set_config('seatkeeper.tenant_id', $1, true)", [t]);
        const t0 = process.hrtime.bigint();
        await sql.query(text, values);
        times[who].push(Number(process.hrtime.bigint() - t0) / 1e6);
        await sql.query('ROLLBACK');
      }
    }
    const a = median(times.app);
    const o = median(times.owner);
    console.log(
      `| ${label} | ${a.toFixed(3)} | ${o.toFixed(3)} | ${(a - o).toFixed(3)} ms (${(((a - o) / o) * 100).toFixed(0)} %) |`,
    );
  }
} finally {
  await sql.query(`DROP SCHEMA ${schema} CASCADE`);
  await sql.end();
}
