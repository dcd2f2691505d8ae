// Seat reconciliation at scale, on the real PostgreSQL (DATABASE_URL), each figure beside
// a baseline measured in the same run:
//  1. 10,000 users added to a group mapped to a licence, in one SCIM PATCH and in ten
//     PATCHes of 1,000: time until every seat is granted, against the same PATCHes into
//     a group no rule maps (membership insert without reconciliation).
//  2. Full reconcile of 100,000 users, 2,000 groups (nested) and 50 rules: from nothing
//     and again (a second run changes nothing), against one hand-written
//     INSERT … SELECT computing the same seats (the floor).
//  3. Dry-run of a rule change over the same data.
//
//   DATABASE_URL=postgres://… npm run bench:licensing
//
// The bench writes its fixtures and floors as the service does: as seatkeeper_app, in
// transactions scoped to the tenant (withTenant), so row-level security applies to the
// floors' reads too. ANALYZE runs as the tables' owner (the service role may not).
// BENCH_RLS=off disables row-level security on the schema's tenant tables right after
// the migration, before anything is loaded (bench/rls-switch.ts): the same code, without
// the policies, for the cost of RLS.
import type { Knex } from 'knex';
import type { AddressInfo } from 'node:net';
import { DirectoryHooks } from '../src/directory/changes.js';
import { createApp } from '../src/app.js';
import { createLicense, createProduct } from '../src/licensing/catalog.js';
import type { LicensingContext } from '../src/licensing/context.js';
import { createRule, updateRule } from '../src/licensing/rules.js';
import { reconcileTenant } from '../src/licensing/full-reconcile.js';
import { createLogger } from '../src/log/logger.js';
import { systemClock } from '../src/shared/clock.js';
import { createTenant } from '../src/tenancy/service.js';
import { withTenant } from '../src/db/tenant-scope.js';
import { disableRowLevelSecurity, RLS_OFF } from './rls-switch.js';
import { openBenchSchema } from './schema-db.js';

if (!process.env.DATABASE_URL) throw new Error('set DATABASE_URL to a PostgreSQL database');
// BENCH_SCALE=0.01 gives a quick smoke run of the same shapes; figures come from 1.
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const PATCH_USERS = Math.round(10_000 * SCALE);
const FULL_USERS = Math.round(100_000 * SCALE);
const logger = createLogger({ level: 'warn', format: 'pretty' });
const { db, drop } = await openBenchSchema('bench_lic', logger);
const knex = db.knex;
if (RLS_OFF) {
  const tables = await db.withOwner((owner) =>
    disableRowLevelSecurity(
      (q) => owner.raw(q) as Promise<{ rows: Array<Record<string, unknown>> }>,
    ),
  );
  console.log(`BENCH_RLS=off: row-level security disabled on ${tables.join(', ')}`);
} else console.log('row-level security on');
// Statistics as autovacuum would soon gather them; only the tables' owner may.
const analyze = () => db.withOwner((owner) => owner.raw('ANALYZE'));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const countOf = async (q: any): Promise<number> =>
  Number(((await q.count({ n: '*' })) as Array<{ n: number }>)[0]?.n ?? 0);
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const results: string[] = [];
const record = (line: string) => {
  results.push(line);
  console.log(line);
};

async function seedUsers(tenantId: string, count: number, prefix: string): Promise<string[]> {
  const { rows } = await withTenant(knex, tenantId, (trx) =>
    trx.raw(
      `INSERT INTO directory_users (tenant_id, user_id, user_name, active, data, created_at, last_modified)
     SELECT ?, gen_random_uuid(), ? || i || '@example.com', true,
            jsonb_build_object('userName', ? || i || '@example.com',
              'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', jsonb_build_object('department', 'D' || (i % 10))),
            now(), now()
     FROM generate_series(1, ?) i RETURNING user_id`,
      [tenantId, prefix, prefix, count],
    ),
  );
  return rows.map((r: { user_id: string }) => r.user_id);
}

// ---- 1. 10,000 users into a mapped group over SCIM ----
{
  const tenant = await createTenant(knex, 'bench-patch', { actor: { type: 'system' } });
  const ctx: LicensingContext = {
    knex,
    tenantId: tenant.id,
    actor: { type: 'system' },
    clock: systemClock,
  };
  const app = createApp({
    knex,
    logger,
    bodyLimit: 1 << 20,
    state: { shuttingDown: false },
    hooks: new DirectoryHooks(),
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/scim/v2`;
  const scim = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${tenant.scimToken}`,
        'Content-Type': 'application/scim+json',
      },
      body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  };
  const group = async (name: string) =>
    (
      (await scim('POST', '/Groups', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
        displayName: name,
      })) as { id: string }
    ).id;
  const addAll = async (gid: string, ids: string[], batch: number) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ids.length; i += batch) {
      await scim('PATCH', `/Groups/${gid}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [
          {
            op: 'add',
            path: 'members',
            value: ids.slice(i, i + batch).map((value) => ({ value })),
          },
        ],
      });
    }
    return seconds(start);
  };
  const product = await createProduct(ctx, { name: 'Bench' });
  for (const batch of [PATCH_USERS, Math.max(1, Math.round(PATCH_USERS / 10))]) {
    const users = await seedUsers(tenant.id, PATCH_USERS, `p${batch}-`);
    const plainGroup = await group(`plain ${batch}`);
    const mappedGroup = await group(`mapped ${batch}`);
    const lic = (
      await createLicense(
        ctx,
        {
          productId: product.id,
          name: `Pool ${batch}`,
          type: 'subscription',
          quantity: PATCH_USERS,
        },
        { dryRun: false },
      )
    ).result.id;
    await createRule(ctx, { licenseId: lic, groupId: mappedGroup }, { dryRun: false });
    await analyze();
    const plain = await addAll(plainGroup, users, batch);
    const mapped = await addAll(mappedGroup, users, batch);
    const n = await withTenant(knex, tenant.id, (trx) =>
      countOf(trx('seats').where({ tenant_id: tenant.id, license_id: lic, state: 'active' })),
    );
    if (n !== PATCH_USERS) throw new Error(`expected ${PATCH_USERS} seats, got ${n}`);
    record(
      `| ${PATCH_USERS.toLocaleString('en')} members, PATCHes of ${batch.toLocaleString('en')} | ${plain.toFixed(2)} s | ${mapped.toFixed(2)} s | ${(mapped / plain).toFixed(2)}× |`,
    );
  }
  await new Promise((r) => server.close(r));
}

// ---- 2. Full reconcile of 100,000 users, 2,000 groups, 50 rules ----
{
  const tenant = await createTenant(knex, 'bench-full', { actor: { type: 'system' } });
  const ctx: LicensingContext = {
    knex,
    tenantId: tenant.id,
    actor: { type: 'job' },
    clock: systemClock,
  };
  const scoped = <T>(fn: (trx: Knex.Transaction) => Promise<T>) => withTenant(knex, tenant.id, fn);
  await seedUsers(tenant.id, FULL_USERS, 'f');
  // 2,000 groups: 50 department groups, each holding 39 team groups (nested); every user
  // is in one team and one of 10 project groups.
  await scoped((trx) =>
    trx.raw(
      `INSERT INTO directory_groups (tenant_id, group_id, display_name, data, created_at, last_modified)
     SELECT ?, gen_random_uuid(), 'G' || i, jsonb_build_object('displayName', 'G' || i), now(), now() FROM generate_series(1, 2000) i`,
      [tenant.id],
    ),
  );
  await scoped((trx) =>
    trx.raw(
      `WITH g AS (SELECT group_id, substring(display_name from 2)::int AS i FROM directory_groups WHERE tenant_id = ?),
          dept AS (SELECT group_id, i FROM g WHERE i <= 50),
          team AS (SELECT group_id, i FROM g WHERE i > 50 AND i <= 1990)
     INSERT INTO directory_memberships (tenant_id, group_id, member_id, member_type, added_at)
     SELECT ?::uuid, d.group_id, t.group_id, 'Group', now() FROM team t JOIN dept d ON d.i = 1 + (t.i % 50)`,
      [tenant.id, tenant.id],
    ),
  );
  await scoped((trx) =>
    trx.raw(
      `WITH u AS (SELECT user_id, row_number() OVER (ORDER BY user_id) AS n FROM directory_users WHERE tenant_id = ?),
          g AS (SELECT group_id, substring(display_name from 2)::int AS i FROM directory_groups WHERE tenant_id = ?)
     INSERT INTO directory_memberships (tenant_id, group_id, member_id, member_type, added_at)
     SELECT ?::uuid, g.group_id, u.user_id, 'User', now() FROM u JOIN g ON g.i = 51 + (u.n % 1940)
     UNION ALL
     SELECT ?::uuid, g.group_id, u.user_id, 'User', now() FROM u JOIN g ON g.i = 1991 + (u.n % 10)`,
      [tenant.id, tenant.id, tenant.id, tenant.id],
    ),
  );
  const depts: string[] = await scoped((trx) =>
    trx('directory_groups')
      .where({ tenant_id: tenant.id })
      .whereRaw('substring(display_name from 2)::int <= 50')
      .orderBy('display_name')
      .pluck('group_id'),
  );
  const product = await createProduct(ctx, { name: 'Full' });
  const ruleIds: string[] = [];
  for (const [i, g] of depts.entries()) {
    const lic = (
      await createLicense(
        ctx,
        {
          productId: product.id,
          name: `L${i}`,
          type: 'subscription',
          quantity: Math.max(1, Math.round(1_500 * SCALE)),
        },
        { dryRun: false },
      )
    ).result.id;
    // Rules are written straight to the table so that the full reconcile below does all the work.
    const [row] = await scoped((trx) =>
      trx('license_rules')
        .insert({
          tenant_id: tenant.id,
          rule_id: knex.raw('gen_random_uuid()'),
          license_id: lic,
          group_id: g,
          priority: 100,
          created_at: new Date(),
          updated_at: new Date(),
        })
        .returning('rule_id'),
    );
    ruleIds.push(row.rule_id);
  }
  await analyze();
  const memberships = await scoped((trx) =>
    countOf(trx('directory_memberships').where({ tenant_id: tenant.id })),
  );

  // The floors: one INSERT … SELECT computing the same desired seats (no waitlist, no
  // audit), twice: into a bare four-column heap (the floor as first written), and as
  // whole seat rows into a copy of the seats table with its indexes, checks and foreign
  // key, which any store of these seats has to maintain.
  const desiredSql = `WITH RECURSIVE rg(rule_id, license_id, group_id) AS (
       SELECT rule_id, license_id, group_id FROM license_rules WHERE tenant_id = :t
       UNION SELECT rg.rule_id, rg.license_id, m.member_id FROM rg JOIN directory_memberships m
         ON m.tenant_id = :t AND m.group_id = rg.group_id AND m.member_type = 'Group')
     SELECT DISTINCT ON (rg.license_id, m.member_id) rg.license_id, m.member_id AS user_id, rg.rule_id
       FROM rg JOIN directory_memberships m ON m.tenant_id = :t AND m.group_id = rg.group_id AND m.member_type = 'User'
       JOIN directory_users u ON u.tenant_id = :t AND u.user_id = m.member_id AND u.active`;
  // The floor's tables are the owner's (the service's role creates none); the service
  // role writes them, as it would its own, through the schema's default privileges.
  await db.withOwner(async (owner) => {
    await owner.raw(
      'CREATE TABLE floor_seats (tenant_id uuid, license_id uuid, user_id uuid, rule_id uuid)',
    );
    await owner.raw('CREATE TABLE floor_full_seats (LIKE seats INCLUDING ALL)');
    await owner.raw(
      `ALTER TABLE floor_full_seats ADD FOREIGN KEY (tenant_id, license_id)
         REFERENCES licenses (tenant_id, license_id)`,
    );
  });
  let start = process.hrtime.bigint();
  await scoped((trx) =>
    trx.raw(
      `INSERT INTO floor_seats SELECT :t::uuid, d.license_id, d.user_id, d.rule_id FROM (${desiredSql}) d`,
      { t: tenant.id },
    ),
  );
  const floor = seconds(start);
  start = process.hrtime.bigint();
  await scoped((trx) =>
    trx.raw(
      `INSERT INTO floor_full_seats (tenant_id, seat_id, license_id, user_id, state, source, rule_id,
       eligible_since, granted_at, created_at, updated_at)
     SELECT :t::uuid, gen_random_uuid(), d.license_id, d.user_id, 'active', 'rule', d.rule_id,
       now(), now(), now(), now() FROM (${desiredSql}) d`,
      { t: tenant.id },
    ),
  );
  const fullFloor = seconds(start);
  const floorSeats = await scoped((trx) => countOf(trx('floor_seats')));

  start = process.hrtime.bigint();
  const first = await reconcileTenant(knex, tenant.id, ctx);
  const full = seconds(start);
  start = process.hrtime.bigint();
  const second = await reconcileTenant(knex, tenant.id, ctx);
  const again = seconds(start);
  const active = await scoped((trx) =>
    countOf(trx('seats').where({ tenant_id: tenant.id, state: 'active' })),
  );
  const waiting = await scoped((trx) =>
    countOf(trx('seats').where({ tenant_id: tenant.id, state: 'waitlisted' })),
  );
  if (active + waiting !== floorSeats)
    throw new Error(`reconcile computed ${active + waiting} seats, the floor ${floorSeats}`);
  if (second.length !== 0) throw new Error(`second reconcile changed ${second.length} seats`);
  record(
    `| full reconcile, ${FULL_USERS.toLocaleString('en')} users / 2,000 groups / ${memberships.toLocaleString('en')} memberships / 50 rules: ${first.length.toLocaleString('en')} seat changes (${active} active, ${waiting} waitlisted) | floor ${floor.toFixed(2)} s | ${full.toFixed(2)} s | ${(full / floor).toFixed(2)}× |`,
  );
  record(
    `| the same, against whole seat rows into a copy of the seats table (indexes, checks, foreign key) | floor ${fullFloor.toFixed(2)} s | ${full.toFixed(2)} s | ${(full / fullFloor).toFixed(2)}× |`,
  );
  record(`| second full reconcile (no changes) | | ${again.toFixed(2)} s | |`);

  // ---- 3. Dry-run of a rule change over the same data ----
  start = process.hrtime.bigint();
  const dry = await updateRule(
    ctx,
    ruleIds[0]!,
    { filter: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "D3"' },
    { dryRun: true },
  );
  const dryRun = seconds(start);
  record(
    `| dry-run of a rule change (filter on department): ${dry.changes.length.toLocaleString('en')} seat changes, nothing committed | | ${dryRun.toFixed(2)} s | |`,
  );
}

console.log('\n| benchmark | baseline | Seatkeeper | ratio |\n|---|---|---|---|');
for (const r of results) console.log(r);
// The schema is the owner's: the service role may not drop it.
await drop();
