import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { appendAuditEvents } from '../../src/audit/append.js';
import { createCheckpoints, listCheckpoints } from '../../src/audit/checkpoint.js';
import { settleAudit } from '../../src/audit/settle.js';
import { loadSigningKey, type SigningKey } from '../../src/audit/signing-key.js';
import { verifyTenantChain } from '../../src/audit/verify.js';
import { fixedClock } from '../../src/shared/clock.js';
import { createTenant } from '../../src/tenancy/service.js';
import { scopeToTenant, withTenant } from '../../src/db/tenant-scope.js';
import { openTestDb, type TestDb } from '../support/db.js';

const TENANTS = 4;
const APPENDERS = 32;
const EVENTS_PER_APPEND = 3;
const CREATION_EVENTS = 3;
const rollsBack = (i: number) => i % 5 === 0;

const clock = fixedClock('2026-12-01T09:00:00.000Z');

let db: TestDb;
let keyDir: string;
let key: SigningKey;
let tenants: string[];
let pools: Knex[];

beforeAll(async () => {
  db = await openTestDb();
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'sk-audit-keys-'));
  key = loadSigningKey(path.join(keyDir, 'checkpoint.pem'), { create: true })!;
  tenants = [];
  for (let i = 0; i < TENANTS; i += 1) {
    tenants.push(
      (await createTenant(db.knex, `Tenant ${i}`, { actor: { type: 'cli' }, clock })).id,
    );
  }
  // A pool of one connection per appender: 32 connections, 32 sessions.
  pools = Array.from({ length: APPENDERS }, () => db.another(1));
});
afterAll(async () => {
  await db.close();
  await rm(keyDir, { recursive: true, force: true });
});

class RolledBack extends Error {}

/** Resolves every arrive() once n callers have arrived. */
function barrier(n: number) {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return {
    all,
    arrive(): Promise<void> {
      arrived += 1;
      if (arrived === n) release();
      return all;
    },
  };
}

/** One round of APPENDERS concurrent transactions, appender i to tenant i % TENANTS. */
async function appendRound(
  round: string,
  opts: { whileAppended?: () => Promise<unknown> } = {},
): Promise<Map<string, number[]>> {
  // On the embedded database the socket server runs one transaction at a time, so
  // there is nothing to contend for and a barrier would wait forever.
  const real = db.kind === 'postgres';
  const opened = barrier(real ? APPENDERS : 1);
  const appended = barrier(real ? APPENDERS : 1);
  const pids = new Set<number>();
  const checkpointing: Promise<unknown>[] = [];
  const runs = pools.map((pool, i) =>
    withTenant(pool, tenants[i % TENANTS]!, async (trx) => {
      const { rows } = (await trx.raw('select pg_backend_pid() as pid')) as {
        rows: Array<{ pid: number }>;
      };
      pids.add(rows[0]!.pid);
      await opened.arrive();
      await appendAuditEvents(
        trx,
        tenants[i % TENANTS]!,
        Array.from({ length: EVENTS_PER_APPEND }, (_, j) => ({
          action: 'seat.assigned',
          actor: { type: 'job' as const, id: `${round}-${i}` },
          target: { type: 'seat', id: `seat-${i}-${j}` },
          subject: `${round}-user-${i}`,
          payload: { appender: i, n: j },
        })),
        clock,
      );
      // Every appender has appended before any commits: no append waited for another.
      await appended.arrive();
      if (rollsBack(i)) throw new RolledBack(`appender ${i} rolls back`);
    })
      // Checkpoints signed while the others are still appending must match the chains.
      // (In a transaction: the embedded socket server keeps only a transaction's
      // messages together, so concurrent statements outside one could interleave.)
      .finally(() =>
        checkpointing.push(db.knex.transaction((trx) => createCheckpoints(trx, key, { clock }))),
      ),
  );
  if (real) {
    await appended.all;
    expect(pids.size).toBe(APPENDERS);
    await opts.whileAppended?.();
  }
  const results = await Promise.allSettled(runs);
  await Promise.all(checkpointing);

  const committedBy = new Map(tenants.map((t) => [t, [] as number[]]));
  results.forEach((r, i) => {
    if (rollsBack(i)) {
      expect(r).toMatchObject({ status: 'rejected', reason: expect.any(RolledBack) });
    } else {
      expect(r).toMatchObject({ status: 'fulfilled' });
      committedBy.get(tenants[i % TENANTS]!)!.push(i);
    }
  });
  return committedBy;
}

test("32 appenders on their own connections, contending for four tenants' heads, never wait for each other and leave every chain contiguous and verifiable", async () => {
  // Round 1: a gate transaction holds every head, so all 32 appenders find theirs
  // taken; they must all append (queue) without waiting for it. Round 2: no gate, the
  // appenders race for the heads themselves (some chain, some queue).
  const gate = db.kind === 'postgres' ? await db.knex.transaction() : null;
  if (gate) for (const t of tenants) await gate.raw('SELECT * FROM audit_lock_head(?, true)', [t]);
  // (Had an appender waited for the gate, the `appended` barrier would never open.)
  const first = await appendRound('r1', { whileAppended: () => gate!.commit() });
  const second = await appendRound('r2');
  await settleAudit(db.knex);
  expect(await db.owner('audit_pending').count({ n: '*' })).toEqual([{ n: 0 }]);

  const publicKeys = new Map<string, KeyObject>([[key.keyId, key.publicKey]]);
  let total = 0;
  for (const t of tenants) {
    const committed = [
      ...first.get(t)!.map((i) => `r1-${i}`),
      ...second.get(t)!.map((i) => `r2-${i}`),
    ];
    const n = CREATION_EVENTS + committed.length * EVENTS_PER_APPEND;
    total += n;
    const rows = (await db
      .owner('audit_events as e')
      .whereNotNull('e.body')
      .where('e.tenant_id', t)
      .orderBy('e.seq')
      .select('e.seq', 'e.actor_id', 'e.body')) as Array<{
      seq: number;
      actor_id: string | null;
      body: { n?: number };
    }>;
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: n }, (_, k) => k + 1));
    // Each committed transaction's events are all there, in the order it appended them.
    for (const actor of committed) {
      expect(rows.filter((r) => r.actor_id === actor).map((r) => r.body.n)).toEqual([0, 1, 2]);
    }

    const report = await verifyTenantChain(db.knex, t, { publicKeys });
    expect(report).toMatchObject({
      ok: true,
      events: n,
      headSeq: n,
      pending: 0,
      firstBroken: null,
    });
    expect(report.checkpointsChecked).toBeGreaterThan(0);
    expect((await listCheckpoints(db.knex, t)).every((c) => c.seq <= n)).toBe(true);
  }

  // Nothing of the rolled-back transactions is left anywhere.
  const rolledBack = pools.flatMap((_, i) => (rollsBack(i) ? [`r1-${i}`, `r2-${i}`] : []));
  expect(await db.owner('audit_events').whereIn('actor_id', rolledBack).count({ n: '*' })).toEqual([
    { n: 0 },
  ]);
  expect(
    await db
      .owner('audit_events')
      .whereIn(
        'subject_id',
        rolledBack.map((a) => a.replace('-', '-user-')),
      )
      .count({ n: '*' }),
  ).toEqual([{ n: 0 }]);
  expect(await db.owner('audit_events').count({ n: '*' })).toEqual([{ n: total }]);
});

describe('verifying a chain that is being appended to', () => {
  /** Resolves once some statement is waiting for a lock on `table` (in this file's schema). */
  async function someoneWaitsFor(table: string): Promise<void> {
    for (;;) {
      const [{ n }] = (await db
        .knex('pg_locks')
        .whereRaw('relation = ?::regclass', [table])
        .where('granted', false)
        .count({ n: '*' })) as [{ n: number }];
      if (Number(n) > 0) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Verify tenant t while an append to it commits at the moment verification is held up
   * on `table`. On the embedded database a transaction shuts out every other statement,
   * so the append can only come before or after; there it is before.
   */
  async function verifyDuringAppend(t: string, table: 'audit_heads' | 'audit_events') {
    const append = (trx: Knex.Transaction) =>
      appendAuditEvents(trx, t, [{ action: 'seat.assigned', actor: { type: 'job' } }], clock);
    if (db.kind !== 'postgres') {
      await withTenant(db.knex, t, append);
      return verifyTenantChain(db.knex, t);
    }
    // LOCK TABLE needs more than the service's role may do: the owner holds the gate.
    const gate = await db.owner.transaction();
    await gate.raw(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    await scopeToTenant(gate, t);
    await append(gate);
    const verifying = verifyTenantChain(db.knex, t);
    await someoneWaitsFor(table);
    await gate.commit();
    return verifying;
  }

  test('an append committing just before the head is read is not taken for a cut-off tail', async () => {
    const { id } = await createTenant(db.knex, 'Busy heads', { actor: { type: 'cli' }, clock });
    const report = await verifyDuringAppend(id, 'audit_heads');
    expect(report.firstBroken).toBeNull();
    expect(report.ok).toBe(true);
  });

  test('an append committing while the events are read is not taken for a forgery', async () => {
    const { id } = await createTenant(db.knex, 'Busy events', { actor: { type: 'cli' }, clock });
    const report = await verifyDuringAppend(id, 'audit_events');
    expect(report.firstBroken).toBeNull();
    expect(report.ok).toBe(true);
  });
});
