// Write coalescing (src/db/coalesce.ts): which items travel together, how many batches
// are out at once, and that every item ends with its own result or its own error.
import { coalescer } from '../../src/db/coalesce.js';

/** A write path that records what it was asked to do and answers when told to. */
function recorder(
  opts: { maxInFlight?: number; maxBatch?: number; retryAlone?: (err: unknown) => boolean } = {},
) {
  const batches: number[][] = [];
  const alone: number[] = [];
  const open: Array<() => void> = [];
  let failBatches = false;
  let declined = new Set<number>();
  const gate = () => new Promise<void>((resolve) => open.push(resolve));
  const c = coalescer<number, string>({
    maxInFlight: opts.maxInFlight ?? 2,
    maxBatch: opts.maxBatch ?? 100,
    ...(opts.retryAlone ? { retryAlone: opts.retryAlone } : {}),
    async runBatch(items) {
      batches.push(items);
      await gate();
      if (failBatches) throw new Error('batch refused');
      return items.map((i) => (declined.has(i) ? undefined : `batch:${i}`));
    },
    async runOne(item) {
      alone.push(item);
      if (item < 0) throw new Error(`no ${item}`);
      return `alone:${item}`;
    },
  });
  return {
    c,
    batches,
    alone,
    /** Let every write waiting at the server answer. */
    release: () => open.splice(0).forEach((r) => r()),
    failBatches: () => (failBatches = true),
    /** The batch will leave these items out (as ON CONFLICT DO NOTHING would). */
    decline: (...items: number[]) => (declined = new Set(items)),
  };
}

const turn = () => new Promise((r) => setImmediate(r));
/** A few turns of the event loop, until `done` holds. */
async function until(done: () => boolean) {
  for (let i = 0; i < 10 && !done(); i++) await turn();
  expect(done()).toBe(true);
}

test('an item with no company goes alone, on the single path', async () => {
  const r = recorder();
  await expect(r.c.submit(1)).resolves.toBe('alone:1');
  expect(r.batches).toEqual([]);
  expect(r.alone).toEqual([1]);
});

test('items submitted in the same turn leave as one batch, each getting its own result', async () => {
  const r = recorder();
  const results = Promise.all([1, 2, 3].map((i) => r.c.submit(i)));
  await turn();
  expect(r.batches).toEqual([[1, 2, 3]]);
  r.release();
  await expect(results).resolves.toEqual(['batch:1', 'batch:2', 'batch:3']);
  expect(r.c.stats).toMatchObject({ batches: 1, batchedItems: 3 });
});

test('no more than maxInFlight batches are out; later items wait and leave together', async () => {
  const r = recorder({ maxInFlight: 1 });
  const first = Promise.all([1, 2].map((i) => r.c.submit(i)));
  await turn();
  const second = Promise.all([3, 4, 5].map((i) => r.c.submit(i)));
  await turn();
  await turn();
  expect(r.batches).toEqual([[1, 2]]); // 3, 4, 5 wait for the first batch
  r.release();
  await first;
  await until(() => r.batches.length === 2);
  expect(r.batches[1]).toEqual([3, 4, 5]);
  r.release();
  await expect(second).resolves.toEqual(['batch:3', 'batch:4', 'batch:5']);
});

test('a batch never holds more than maxBatch items', async () => {
  const r = recorder({ maxInFlight: 3, maxBatch: 2 });
  const all = Promise.all([1, 2, 3, 4, 5].map((i) => r.c.submit(i)));
  await turn();
  expect(r.batches).toEqual([
    [1, 2],
    [3, 4],
  ]);
  expect(r.alone).toEqual([5]);
  r.release();
  await expect(all).resolves.toEqual(['batch:1', 'batch:2', 'batch:3', 'batch:4', 'alone:5']);
});

test('when a batch fails, each of its items runs alone and meets its own fate', async () => {
  const r = recorder();
  r.failBatches();
  const results = [1, -2, 3].map((i) => r.c.submit(i));
  await turn();
  r.release();
  await expect(results[0]).resolves.toBe('alone:1');
  await expect(results[1]).rejects.toThrow('no -2');
  await expect(results[2]).resolves.toBe('alone:3');
  expect(r.alone).toEqual([1, -2, 3]);
});

test('an item the batch left out runs alone; the others keep the batch result', async () => {
  const r = recorder();
  r.decline(2);
  const results = Promise.all([1, 2, 3].map((i) => r.c.submit(i)));
  await turn();
  r.release();
  await expect(results).resolves.toEqual(['batch:1', 'alone:2', 'batch:3']);
  expect(r.alone).toEqual([2]);
});

test('after everything returns, nothing is left waiting and a new item goes at once', async () => {
  const r = recorder({ maxInFlight: 1 });
  const a = Promise.all([1, 2].map((i) => r.c.submit(i)));
  await turn();
  r.release();
  await a;
  await turn();
  await expect(r.c.submit(9)).resolves.toBe('alone:9');
  expect(r.batches).toHaveLength(1);
});

test('a batch that failed for a reason other than its data is not written again: each item gets the error', async () => {
  const r = recorder({ retryAlone: (err) => !/refused/.test(String(err)) });
  r.failBatches();
  const results = [1, 2].map((i) => r.c.submit(i));
  await turn();
  r.release();
  await expect(results[0]).rejects.toThrow('batch refused');
  await expect(results[1]).rejects.toThrow('batch refused');
  expect(r.alone).toEqual([]);
});

describe('a write path that throws before it returns a promise (issue 12)', () => {
  // A lone surrogate made canonicalize throw synchronously inside runOne: the throw
  // escaped as an unhandled rejection and ended the process.
  const throwing = () =>
    coalescer<number, string>({
      maxInFlight: 2,
      maxBatch: 100,
      runBatch: () => {
        throw new Error('batch threw');
      },
      runOne: (item) => {
        if (item < 0) throw new Error(`threw for ${item}`);
        return Promise.resolve(`alone:${item}`);
      },
    });

  test('a lone item gets the throw as its own error, and nothing escapes', async () => {
    const escaped: unknown[] = [];
    const onUnhandled = (e: unknown) => escaped.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(throwing().submit(-1)).rejects.toThrow('threw for -1');
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(escaped).toEqual([]);
  });

  test('in a batch, each item meets its own fate alone', async () => {
    const c = throwing();
    const results = await Promise.allSettled([c.submit(1), c.submit(-2), c.submit(3)]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason)))).toEqual([
      'alone:1',
      'Error: threw for -2',
      'alone:3',
    ]);
  });
});
