// The transaction retry (src/db/retry.ts): a deadlock (40P01) or serialisation failure
// (40001) re-runs the whole transaction, bounded; the failed attempt leaves nothing
// behind, so the effects, audit events included, appear once. The forced failures are
// raised by the database itself (RAISE ... USING ERRCODE), so they run on both databases;
// a real deadlock between two transactions needs the real PostgreSQL.
import type { Knex } from 'knex';
import { appendAuditEvent } from '../../src/audit/append.js';
import { isRetryable, retryingTransaction } from '../../src/db/retry.js';
import { scopeToTenant } from '../../src/db/tenant-scope.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { onRealPostgres, openTestDb, type TestDb } from '../support/db.js';
import { newTenant, testActor } from '../support/fixtures.js';

let db: TestDb;
let knex: Knex;
/** The tables' owner: this file's own seeding and inspection. */
let owner: Knex;
let tenant: CreatedTenant;

beforeAll(async () => {
  db = await openTestDb();
  knex = db.knex;
  owner = db.owner;
  tenant = await newTenant(knex, 'Retry');
});
afterAll(() => db.close());

const raise = (trx: Knex.Transaction, sqlstate: string) =>
  trx.raw(`DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '${sqlstate}'; END $$`);

let n = 0;
/** A product and its audit event, written in `trx`; returns the product's name. */
async function change(trx: Knex.Transaction): Promise<string> {
  // The retried transaction is the raw one (retryingTransaction, not withTenant): it
  // scopes itself, as withTenant would, before touching a tenant's rows.
  await scopeToTenant(trx, tenant.id);
  const name = `retry ${++n}`;
  const [row] = await trx('products')
    .insert({
      tenant_id: tenant.id,
      product_id: trx.raw('gen_random_uuid()'),
      name,
      created_at: new Date(),
      updated_at: new Date(),
    })
    .returning('product_id');
  await appendAuditEvent(trx, tenant.id, {
    action: 'product.created',
    actor: testActor,
    target: { type: 'product', id: row.product_id },
    payload: { name },
  });
  return name;
}

const productsNamed = async (prefix: string) =>
  Number((await owner('products').where('name', 'like', `${prefix}%`).count({ n: '*' }))[0]!.n);
const eventsFor = async (names: string[]) => {
  const { rows } = await owner.raw(
    `SELECT count(*) AS n FROM (
       SELECT body FROM audit_events WHERE tenant_id = ? AND action = 'product.created'
       UNION ALL
       SELECT body FROM audit_pending WHERE tenant_id = ? AND action = 'product.created') e
      WHERE e.body ->> 'name' = ANY(?)`,
    [tenant.id, tenant.id, names],
  );
  return Number(rows[0].n);
};

test.each(['40P01', '40001'])(
  'a forced %s on the first attempt is retried: the transaction runs twice, its effects and audit event appear once',
  async (sqlstate) => {
    const attempts: string[] = [];
    const retried: unknown[] = [];
    const result = await retryingTransaction(
      knex,
      async (trx) => {
        const name = await change(trx);
        attempts.push(name);
        if (attempts.length === 1) await raise(trx, sqlstate);
        return name;
      },
      { onRetry: (err) => retried.push(err) },
    );
    expect(attempts).toHaveLength(2);
    expect(retried).toHaveLength(1);
    expect(isRetryable(retried[0])).toBe(true);
    expect(result).toBe(attempts[1]);
    // The first attempt's product and event were rolled back; the second's committed.
    expect(await owner('products').where({ name: attempts[0] }).first()).toBeUndefined();
    expect(await owner('products').where({ name: attempts[1] }).first()).toBeDefined();
    expect(await eventsFor(attempts)).toBe(1);
  },
);

test('bounded: after 3 attempts the last error reaches the caller, and nothing was written', async () => {
  const before = await productsNamed('retry ');
  let runs = 0;
  const err = await retryingTransaction(
    knex,
    async (trx) => {
      runs += 1;
      await change(trx);
      await raise(trx, '40P01');
    },
    { baseDelayMs: 1 },
  ).catch((e: unknown) => e);
  expect(runs).toBe(3);
  expect((err as { code?: string }).code).toBe('40P01');
  expect(await productsNamed('retry ')).toBe(before);
});

test('other errors are not retried', async () => {
  let runs = 0;
  const err = await retryingTransaction(knex, async (trx) => {
    runs += 1;
    await raise(trx, '23505');
  }).catch((e: unknown) => e);
  expect(runs).toBe(1);
  expect((err as { code?: string }).code).toBe('23505');
  runs = 0;
  await expect(
    retryingTransaction(knex, async () => {
      runs += 1;
      throw new Error('not the database');
    }),
  ).rejects.toThrow('not the database');
  expect(runs).toBe(1);
});

test('inside another transaction it is not retried (the outer transaction must re-run)', async () => {
  let runs = 0;
  const err = await knex
    .transaction((outer) =>
      retryingTransaction(outer, async (trx) => {
        runs += 1;
        await raise(trx, '40P01');
      }),
    )
    .catch((e: unknown) => e);
  expect(runs).toBe(1);
  expect((err as { code?: string }).code).toBe('40P01');
});

test('isRetryable looks through wrapped causes', () => {
  expect(isRetryable({ code: '40P01' })).toBe(true);
  expect(isRetryable(new Error('x', { cause: { code: '40001' } }))).toBe(true);
  expect(isRetryable({ code: '23505' })).toBe(false);
  expect(isRetryable(null)).toBe(false);
});

(onRealPostgres() ? test : test.skip)(
  'a real deadlock: two transactions locking two rows in opposite orders both commit',
  async () => {
    const other = db.another(4);
    const ids: string[] = await owner('products')
      .insert(
        ['deadlock a', 'deadlock b'].map((name) => ({
          tenant_id: tenant.id,
          product_id: owner.raw('gen_random_uuid()'),
          name,
          vendor: '0',
          created_at: new Date(),
          updated_at: new Date(),
        })),
      )
      .returning('product_id')
      .then((rows) => rows.map((r: { product_id: string }) => r.product_id));
    let retries = 0;
    let arrived = 0;
    let release: () => void = () => {};
    const bothHoldOne = new Promise<void>((r) => (release = r));
    const bump = (first: string, second: string) =>
      retryingTransaction(
        other,
        async (trx) => {
          await scopeToTenant(trx, tenant.id);
          const lock = (id: string) =>
            trx('products')
              .where({ tenant_id: tenant.id, product_id: id })
              .update({ vendor: trx.raw('(vendor::int + 1)::text') });
          await lock(first);
          // Each waits until the other holds its first row, so the cycle always forms.
          if (++arrived === 2) release();
          await bothHoldOne;
          await lock(second);
        },
        { onRetry: () => (retries += 1) },
      );
    await Promise.all([bump(ids[0]!, ids[1]!), bump(ids[1]!, ids[0]!)]);
    expect(retries).toBe(1);
    // Each transaction's effect applied exactly once: both rows bumped twice.
    const vendors = await owner('products').whereIn('product_id', ids).pluck('vendor');
    expect(vendors).toEqual(['2', '2']);
  },
);
