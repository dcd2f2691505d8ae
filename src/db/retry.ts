// A request's transaction, re-run when PostgreSQL aborts it for a concurrency reason that
// says nothing about the request: a serialisation failure (SQLSTATE 40001) or a deadlock
// (40P01). The whole transaction runs again from its first statement, at most `attempts`
// times with a short jittered backoff between tries; the client sees only the attempt
// that committed, or the last error.
//
// What makes the re-run safe: the callback does all its work inside the transaction
// (reads, writes and audit events commit or roll back together), so a failed attempt
// leaves nothing behind, and the caller answers only once, with what the callback
// returned. Callbacks must keep side effects outside the database (responses, webhooks,
// caches) until it returns; the write paths that use this do.
//
// The lock order (src/licensing/reconcile.ts, "Lock order") keeps these aborts rare; the
// retry covers what no ordering can: a set of licences that grew between reading it and
// locking it, and PostgreSQL's own serialisation failures.
//
// Only a top-level transaction is retried: inside another one (a savepoint) the outer
// transaction holds locks taken before the failure, so the outer one must re-run.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';

/** SQLSTATEs for which the same transaction, run again, may well succeed. */
export const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set(['40001', '40P01']);

export interface RetryOptions {
  /** Attempts in all, the first included (default 3). */
  attempts?: number;
  /** Backoff before the second attempt, doubled for each further one, ±50 % jitter (default 10 ms). */
  baseDelayMs?: number;
  /** Told of each failed attempt that will be retried (for logs and tests). */
  onRetry?: (err: unknown, attempt: number) => void;
  /** knex's transaction config (db/tenant-scope.ts passes the tenant its BEGIN scopes to). */
  config?: Knex.TransactionConfig;
}

/** Whether an error (or its cause, for errors wrapped on the way up) is 40001 or 40P01. */
export function isRetryable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_SQLSTATES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** `knex.transaction(fn)`, re-run on a serialisation failure or deadlock (see above). */
export async function retryingTransaction<T>(
  knex: Knex,
  fn: (trx: Knex.Transaction) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  if (knex.isTransaction) return knex.transaction(fn, opts.config);
  const attempts = Math.max(1, opts.attempts ?? 3);
  const base = opts.baseDelayMs ?? 10;
  for (let attempt = 1; ; attempt++) {
    try {
      return await knex.transaction(fn, opts.config);
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err)) throw err;
      opts.onRetry?.(err, attempt);
      await sleep(base * 2 ** (attempt - 1) * (0.5 + Math.random()));
    }
  }
}
