// Boot against a database that is not up yet (issue 12): a compose file or an
// orchestrator often starts the service before PostgreSQL accepts connections. The
// service retries with backoff for DATABASE_CONNECT_TIMEOUT_MS, logging each attempt,
// then gives up with one line that names the host (never the password).
import pg from 'pg';
import type { Logger } from '../log/logger.js';
import { AppError } from '../shared/errors.js';

/** host:port/database of a postgres:// URL, for messages: no user, no password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    const host = u.searchParams.get('host') ?? (decodeURIComponent(u.hostname) || 'localhost');
    const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
    return `${host}:${u.port || '5432'}${db ? `/${db}` : ''}`;
  } catch {
    return 'the DATABASE_URL host';
  }
}

// Wrong credentials or a refused role will not fix themselves: stop at once.
const PERMANENT = new Set(['28P01', '28000', '3D000']);

const reasonOf = (err: unknown): string => {
  const e = err as { code?: string; message?: string; errors?: Array<{ message?: string }> };
  // An AggregateError (IPv4 and IPv6 both refused) has an empty message of its own.
  const message = e.message || e.errors?.map((x) => x.message).join('; ') || String(err);
  return e.code && !message.includes(e.code) ? `${e.code}: ${message}` : message;
};

export async function waitForDatabase(
  connection: pg.ClientConfig & { connectionString?: string },
  opts: {
    timeoutMs: number;
    logger: Logger;
    /** First and largest pause between attempts. */
    initialDelayMs?: number;
    maxDelayMs?: number;
  },
): Promise<void> {
  const where = connection.connectionString
    ? describeDatabaseUrl(connection.connectionString)
    : 'the database';
  const started = Date.now();
  let delay = opts.initialDelayMs ?? 250;
  const maxDelay = opts.maxDelayMs ?? 5000;
  for (let attempt = 1; ; attempt++) {
    const left = opts.timeoutMs - (Date.now() - started);
    const client = new pg.Client({
      ...connection,
      connectionTimeoutMillis: Math.max(500, Math.min(5000, left)),
    });
    client.on('error', () => undefined); // a late socket error must not crash the process
    try {
      await client.connect();
      await client.query('select 1');
      if (attempt > 1) opts.logger.info('database reachable', { database: where, attempt });
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      const reason = reasonOf(err);
      const elapsed = Date.now() - started;
      if ((code && PERMANENT.has(code)) || elapsed >= opts.timeoutMs) {
        throw new AppError(
          'database_unreachable',
          `cannot connect to the database at ${where} after ${attempt} attempt${attempt > 1 ? 's' : ''} (${(elapsed / 1000).toFixed(1)} s): ${reason}`,
          { cause: err },
        );
      }
      const pause = Math.min(delay, opts.timeoutMs - elapsed);
      opts.logger.warn('database unreachable; retrying', {
        database: where,
        attempt,
        reason,
        retryInMs: pause,
      });
      await new Promise((r) => setTimeout(r, pause));
      delay = Math.min(delay * 2, maxDelay);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
