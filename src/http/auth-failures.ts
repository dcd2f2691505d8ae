// Failed authentication is rate limited (issue 12): per client address and per
// presented token id, so that neither one address trying many tokens nor many
// addresses guessing one token's secret get more than AUTH_FAILURE_LIMIT_PER_MINUTE
// tries a minute. express-rate-limit makes the decisions; its store is the database
// (auth_failures), the state every replica shares.
//
// Only failures count, and only failures write: a request that authenticates never
// reaches the limiter, so genuine traffic costs nothing here, on the embedded database
// as on PostgreSQL. Over the limit:
// - a failing request from the address gets 429 with Retry-After instead of 401/403
//   (a request from that address that authenticates still passes);
// - a failing request presenting that token id gets 429 too, from any address. The
//   genuine secret still passes: a token id is no secret (it is inside the token and in
//   the audit trail), and locking it would let anyone who saw it shut its IdP out, while
//   a 256-bit secret needs no lock to stay unguessable.
// A replica that has seen a key go over the limit remembers it until the window ends
// and answers without writing, so a flood of failures does not become a flood of writes.
import type { Request, Response } from 'express';
import {
  ipKeyGenerator,
  rateLimit,
  type AugmentedRequest,
  type ClientRateLimitInfo,
  type Options,
  type Store,
} from 'express-rate-limit';
import type { Knex } from 'knex';
import type { Logger } from '../log/logger.js';
import { AppError } from '../shared/errors.js';
import type { AuthError } from '../tenancy/index.js';

export const WINDOW_MS = 60_000;

/** express-rate-limit's Store over the auth_failures table: fixed windows, atomic upserts. */
export class DatabaseStore implements Store {
  readonly localKeys = false;
  private windowMs = WINDOW_MS;
  /** Keys this replica has seen over the limit, until their window ends. */
  private readonly over = new Map<string, ClientRateLimitInfo & { resetTime: Date }>();
  private lastSweep = 0;

  constructor(
    private readonly knex: Knex,
    readonly prefix: string,
    private readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const row = (await this.knex('auth_failures')
      .where({ key: this.prefix + key })
      .first('hits', 'window_start')) as { hits: number; window_start: Date } | undefined;
    if (!row) return undefined;
    const resetTime = new Date(row.window_start.getTime() + this.windowMs);
    return resetTime.getTime() > this.now() ? { totalHits: row.hits, resetTime } : undefined;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const k = this.prefix + key;
    const known = this.over.get(k);
    if (known && known.resetTime.getTime() > this.now()) {
      known.totalHits += 1;
      return { ...known };
    }
    const now = this.now();
    // One statement: a new key, a hit in the current window, or a fresh window.
    const { rows } = await this.knex.raw<{ rows: Array<{ hits: number; window_start: Date }> }>(
      `INSERT INTO auth_failures AS f (key, window_start, hits) VALUES (?, ?, 1)
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN f.window_start <= ? THEN 1 ELSE f.hits + 1 END,
         window_start = CASE WHEN f.window_start <= ? THEN excluded.window_start ELSE f.window_start END
       RETURNING hits, window_start`,
      [k, new Date(now), new Date(now - this.windowMs), new Date(now - this.windowMs)],
    );
    const row = rows[0]!;
    const info = {
      totalHits: row.hits,
      resetTime: new Date(row.window_start.getTime() + this.windowMs),
    };
    if (info.totalHits > this.limit) {
      this.over.set(k, { ...info });
      if (this.over.size > 10_000) this.over.delete(this.over.keys().next().value!);
    }
    this.sweep(now);
    return info;
  }

  async decrement(key: string): Promise<void> {
    await this.knex('auth_failures')
      .where({ key: this.prefix + key })
      .update({ hits: this.knex.raw('greatest(hits - 1, 0)') });
  }

  async resetKey(key: string): Promise<void> {
    this.over.delete(this.prefix + key);
    await this.knex('auth_failures')
      .where({ key: this.prefix + key })
      .delete();
  }

  /** Now and then (on a failure, never on the hot path), drop windows long gone. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    void this.knex('auth_failures')
      .where('window_start', '<', new Date(now - 2 * this.windowMs))
      .delete()
      .catch(() => undefined);
  }
}

export interface AuthFailureGuard {
  /** Count a failed authentication; throws 429 when over a limit, else logs and returns. */
  failed(req: Request, res: Response, err: AuthError, tokenId: string | undefined): Promise<void>;
}

const tooMany = (resetTime: Date | undefined, now: number, what: string) =>
  new AppError('too_many_auth_failures', `too many failed authentications ${what}; retry later`, {
    status: 429,
    headers: {
      'Retry-After': String(
        Math.max(1, Math.ceil(((resetTime?.getTime() ?? now + WINDOW_MS) - now) / 1000)),
      ),
    },
  });

/** The client address as express sees it (TRUST_PROXY decides whether X-Forwarded-For counts). */
const addressOf = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';

export function authFailureGuard(opts: {
  knex: Knex;
  logger: Logger;
  limitPerMinute: number;
  now?: () => number;
}): AuthFailureGuard {
  const { knex, logger, limitPerMinute: limit } = opts;
  const now = opts.now ?? Date.now;
  // With a limit of 0 failures are still logged, and nothing is counted.
  const byAddress = new DatabaseStore(knex, 'ip:', limit, now);
  const byToken = new DatabaseStore(knex, 'token:', limit, now);
  const limiter = (
    store: DatabaseStore,
    what: string,
    key: (req: Request, res: Response) => string,
  ) =>
    rateLimit({
      windowMs: WINDOW_MS,
      limit,
      store,
      keyGenerator: key,
      requestPropertyName: `authFailures_${store.prefix}`,
      standardHeaders: false,
      legacyHeaders: false,
      // A store that fails (database down) must not turn a 401 into a 500.
      passOnStoreError: true,
      validate: { xForwardedForHeader: false },
      logger: {
        warn: (e: unknown) => logger.warn('rate limiter', { error: String(e) }),
        error: (e: unknown) => logger.error('rate limiter', { error: String(e) }),
      },
      handler: (req, res, next) => {
        const info = (req as AugmentedRequest)[`authFailures_${store.prefix}`];
        // Say so once per key and window, not once per refused request.
        if (info?.used === limit + 1) {
          logger.warn('authentication failures over the limit', {
            limit: what,
            address: addressOf(req),
            tokenId: res.locals.authTokenId as string | undefined,
            perMinute: limit,
            requestId: res.locals.requestId as string | undefined,
          });
        }
        next(tooMany(info?.resetTime, now(), what));
      },
    });
  const addressLimiter = limiter(byAddress, 'from this address', (req) =>
    ipKeyGenerator(addressOf(req)),
  );
  const tokenLimiter = limiter(byToken, 'for this token', (_req, res) =>
    String(res.locals.authTokenId),
  );
  const run = (mw: ReturnType<typeof rateLimit>, req: Request, res: Response) =>
    new Promise<void>((resolve, reject) => {
      void mw(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
    });

  return {
    async failed(req, res, err, tokenId) {
      if (limit > 0) {
        // Either throws 429 (logged once per key and window, above) or counts the failure.
        res.locals.authTokenId = tokenId;
        await run(addressLimiter, req, res);
        if (tokenId) await run(tokenLimiter, req, res);
      }
      logger.warn('authentication failed', {
        reason: err.reason,
        address: addressOf(req),
        ...(tokenId ? { tokenId } : {}),
        method: req.method,
        path: req.originalUrl.split('?')[0],
        requestId: res.locals.requestId as string | undefined,
      });
    },
  };
}
