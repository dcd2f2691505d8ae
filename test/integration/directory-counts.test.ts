// The running counts behind unfiltered SCIM totalResults must equal count(*) exactly:
// after single and multi-row writes, rollbacks, folds, and concurrent writers.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { countResources, foldCounts } from '../../src/directory/counts.js';
import { fixedClock } from '../../src/shared/clock.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { createTenant } from '../../src/tenancy/service.js';
import { onRealPostgres, openTestDb, type TestDb } from '../support/db.js';
import { directoryUserRows } from '../support/fixtures.js';

const clock = fixedClock('2026-12-01T09:00:00.000Z');
let db: TestDb;

beforeAll(async () => {
  db = await openTestDb();
});
afterAll(async () => {
  await db.close();
});

const newTenant = async (name: string) =>
  (await createTenant(db.knex, name, { actor: { type: 'cli' }, clock })).id;

const userRows = (tenantId: string, n: number) => directoryUserRows(tenantId, n, clock.now());

const groupRows = (tenantId: string, n: number) =>
  Array.from({ length: n }, () => ({
    tenant_id: tenantId,
    group_id: randomUUID(),
    display_name: 'G',
    data: '{}',
    created_at: clock.now(),
    last_modified: clock.now(),
  }));

/** Writes as the service makes them: its role, in a transaction scoped to the tenant. */
const asService = <T>(k: Knex, tenantId: string, fn: (trx: Knex.Transaction) => Promise<T>) =>
  withTenant(k, tenantId, fn);

async function counted(k: Knex, tenantId: string) {
  // The running counts as the service reads them; count(*) as the owner sees the table.
  const actual = async (table: string) =>
    Number(
      (
        (await db.owner(table).where({ tenant_id: tenantId }).count({ n: '*' })) as [{ n: number }]
      )[0].n,
    );
  return {
    users: await asService(k, tenantId, (trx) => countResources(trx, tenantId, 'User')),
    groups: await asService(k, tenantId, (trx) => countResources(trx, tenantId, 'Group')),
    actualUsers: await actual('directory_users'),
    actualGroups: await actual('directory_groups'),
  };
}

test('the counts follow single and multi-row inserts and deletes, per tenant', async () => {
  const a = await newTenant('Counted A');
  const b = await newTenant('Counted B');
  await asService(db.knex, a, (trx) => trx('directory_users').insert(userRows(a, 1)));
  await asService(db.knex, a, (trx) => trx('directory_users').insert(userRows(a, 250)));
  await asService(db.knex, b, (trx) => trx('directory_users').insert(userRows(b, 7)));
  await asService(db.knex, a, (trx) => trx('directory_groups').insert(groupRows(a, 3)));
  const one = await db.owner('directory_users').where({ tenant_id: a }).first('user_id');
  await asService(db.knex, a, (trx) =>
    trx('directory_users').where({ tenant_id: a, user_id: one.user_id }).del(),
  );
  const some = await db.owner('directory_users').where({ tenant_id: a }).limit(10).pluck('user_id');
  await asService(db.knex, a, (trx) =>
    trx('directory_users').where({ tenant_id: a }).whereIn('user_id', some).del(),
  );
  expect(await counted(db.knex, a)).toEqual({
    users: 240,
    groups: 3,
    actualUsers: 240,
    actualGroups: 3,
  });
  expect(await counted(db.knex, b)).toEqual({
    users: 7,
    groups: 0,
    actualUsers: 7,
    actualGroups: 0,
  });
});

test('a rolled-back insert is not counted', async () => {
  const t = await newTenant('Rolled back');
  await expect(
    asService(db.knex, t, async (trx) => {
      await trx('directory_users').insert(userRows(t, 5));
      throw new Error('the request failed');
    }),
  ).rejects.toThrow('the request failed');
  expect((await counted(db.knex, t)).users).toBe(0);
});

test('folding keeps the total and leaves one row; reading folds once deltas pile up', async () => {
  const t = await newTenant('Folded');
  for (let i = 0; i < 300; i += 1) {
    await asService(db.knex, t, (trx) => trx('directory_users').insert(userRows(t, 1)));
  }
  const rowsOf = async () =>
    Number(
      (
        (await db
          .owner('directory_counts')
          .where({ tenant_id: t, resource: 'User' })
          .count({ n: '*' })) as [{ n: number }]
      )[0].n,
    );
  const count = () => asService(db.knex, t, (trx) => countResources(trx, t, 'User'));
  const fold = () => asService(db.knex, t, (trx) => foldCounts(trx, t, 'User'));
  expect(await rowsOf()).toBe(300);
  expect(await count()).toBe(300);
  expect(await rowsOf()).toBe(1);
  await fold();
  expect(await rowsOf()).toBe(1);
  expect(await count()).toBe(300);
  await asService(db.knex, t, (trx) => trx('directory_users').where({ tenant_id: t }).del());
  await fold();
  expect(await count()).toBe(0);
});

test('the directory tables refuse TRUNCATE, which would bypass the counts', async () => {
  // As the owner: the service's role has no TRUNCATE privilege at all.
  // CASCADE: user_activity refers to the users; the counts' trigger still refuses.
  await expect(db.owner.raw('TRUNCATE directory_users CASCADE')).rejects.toThrow(
    /TRUNCATE refused/,
  );
});

(onRealPostgres() ? test : test.skip)(
  'concurrent writers on many connections, with folds running between them, keep the count exact',
  async () => {
    const t = await newTenant('Concurrent');
    const pools = Array.from({ length: 8 }, () => db.another(2));
    try {
      const writers = pools.map(async (pool, i) => {
        for (let j = 0; j < 25; j += 1) {
          await asService(pool, t, async (trx) => {
            await trx('directory_users').insert(userRows(t, 2));
            if ((i + j) % 7 === 0) throw new Error('rolled back');
          }).catch(() => undefined);
          if (j % 5 === 0) await asService(pool, t, (trx) => foldCounts(trx, t, 'User'));
        }
      });
      await Promise.all(writers);
      const c = await counted(db.knex, t);
      expect(c.users).toBe(c.actualUsers);
      expect(c.users).toBeGreaterThan(0);
    } finally {
      await Promise.all(pools.map((p) => p.destroy()));
    }
  },
);
