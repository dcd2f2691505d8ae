// Write coalescing: independent single-statement writes that arrive together go to the
// server as one statement. Under load (an IdP's provisioning workers, 32 connections)
// most of the cost of a one-row INSERT is the statement, not the row: the round trip
// and its socket writes, the driver, the server's executor start-up, statement
// triggers, the commit. Requests still wait for their own result and get their own
// error; what they share is the trip.
//
// How items group: a submitted item waits for the end of the current turn of the event
// loop, so every request whose body arrived in the same turn joins it. At most
// `maxInFlight` batches are at the server at once; items that arrive meanwhile wait and
// leave together when one returns. With nothing else in flight (one client), an item
// goes alone, on its own single-statement path, a turn later.
//
// Failure is per item: a batch is one statement, so if the server refused it, it wrote
// nothing, and each of its items is run again alone, where it meets its own error (a
// value out of range, a missing tenant) exactly as it would have without company. A
// batch may also decline an item (it returns undefined for it, e.g. ON CONFLICT DO
// NOTHING skipped it); that item, too, runs alone. A batch that failed for a reason that
// is not its data (the connection dropped, the server shut down: `retryAlone` says no)
// may or may not have committed, so its items are not written again: each gets the error.
//
// A batch never mixes keys (`keyOf`): the SCIM creates are keyed by tenant, since a
// statement runs in one tenant's row-level-security scope (src/db/tenant-scope.ts).

export interface CoalescerOptions<I, O> {
  /** Write several items in one statement; per item, its result or undefined to run it alone. */
  runBatch(items: I[]): Promise<Array<O | undefined>>;
  /** Write one item on its own: the path an item takes alone, and after a batch fails. */
  runOne(item: I): Promise<O>;
  /** Batches at the server at once. */
  maxInFlight: number;
  /** Items in one batch. */
  maxBatch: number;
  /** Whether a failed batch's items should run alone (default: always). */
  retryAlone?(err: unknown): boolean;
  /** Items with different keys never share a batch (default: all share one key). */
  keyOf?(item: I): string;
}

interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(err: unknown): void;
}

export interface Coalescer<I, O> {
  submit(item: I): Promise<O>;
  /** Batches and items written so far (what the tests look at). */
  readonly stats: { batches: number; batchedItems: number; alone: number };
}

export function coalescer<I, O>(opts: CoalescerOptions<I, O>): Coalescer<I, O> {
  const queue: Array<Waiting<I, O>> = [];
  const stats = { batches: 0, batchedItems: 0, alone: 0 };
  let inFlight = 0;
  let scheduled = false;

  // Whatever runOne does, even throw before it returns a promise, reaches the item's own
  // request (issue 12: a synchronous throw here escaped as an unhandled rejection).
  const alone = (w: Waiting<I, O>) => {
    stats.alone += 1;
    return Promise.resolve()
      .then(() => opts.runOne(w.item))
      .then(w.resolve, w.reject);
  };

  async function send(batch: Array<Waiting<I, O>>) {
    if (batch.length === 1) return alone(batch[0]!);
    let results: Array<O | undefined>;
    try {
      results = await opts.runBatch(batch.map((w) => w.item));
      stats.batches += 1;
      stats.batchedItems += batch.length;
    } catch (err) {
      if (opts.retryAlone && !opts.retryAlone(err)) {
        for (const w of batch) w.reject(err);
        return;
      }
      // Nothing of the batch was written: each item meets its own fate alone.
      await Promise.all(batch.map(alone));
      return;
    }
    await Promise.all(
      batch.map((w, i) => (results[i] === undefined ? alone(w) : w.resolve(results[i]!))),
    );
  }

  // The oldest item and up to maxBatch - 1 more of its key, in arrival order.
  function takeBatch(): Array<Waiting<I, O>> {
    const keyOf = opts.keyOf;
    if (!keyOf) return queue.splice(0, opts.maxBatch);
    const key = keyOf(queue[0]!.item);
    const batch: Array<Waiting<I, O>> = [];
    for (let i = 0; i < queue.length && batch.length < opts.maxBatch;) {
      if (keyOf(queue[i]!.item) === key) batch.push(...queue.splice(i, 1));
      else i += 1;
    }
    return batch;
  }

  function flush() {
    scheduled = false;
    while (queue.length > 0 && inFlight < opts.maxInFlight) {
      inFlight += 1;
      const batch = takeBatch();
      // send settles every item; should it ever fail itself, its items still get an answer.
      void send(batch)
        .catch((err: unknown) => {
          for (const w of batch) w.reject(err);
        })
        .finally(() => {
          inFlight -= 1;
          schedule();
        });
    }
  }

  function schedule() {
    if (scheduled || queue.length === 0 || inFlight >= opts.maxInFlight) return;
    scheduled = true;
    setImmediate(flush);
  }

  return {
    stats,
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
  };
}
