// Prometheus metrics (prom-client): process defaults, HTTP request durations by route,
// and the database pool and query timings. Each app has its own registry so several
// instances (tests) never collide.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Knex } from 'knex';
import client from 'prom-client';
import { unhandledRejections } from '../log/faults.js';
import { AppError } from '../shared/errors.js';
import { routeOf } from './route-of.js';

export interface Metrics {
  registry: client.Registry;
  middleware: RequestHandler;
}

/** `extra`: metrics made elsewhere (the scheduled jobs') served with these. */
export function createMetrics(knex: Knex, extra: client.Metric[] = []): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'seatkeeper_' });
  registry.registerMetric(unhandledRejections);
  for (const m of extra) registry.registerMetric(m);

  const http = new client.Histogram({
    name: 'seatkeeper_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  const query = new client.Histogram({
    name: 'seatkeeper_db_query_duration_seconds',
    help: 'Database query duration by statement kind',
    labelNames: ['kind', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });

  type Pool = { numUsed(): number; numFree(): number; numPendingAcquires(): number };
  const pool = () => (knex.client as { pool?: Pool }).pool;
  new client.Gauge({
    name: 'seatkeeper_db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const p = pool();
      this.set({ state: 'used' }, p?.numUsed() ?? 0);
      this.set({ state: 'free' }, p?.numFree() ?? 0);
      this.set({ state: 'pending' }, p?.numPendingAcquires() ?? 0);
    },
  });

  const started = new Map<string, [bigint, string]>();
  const kindOf = (sql: string) => (/^\s*(\w+)/.exec(sql)?.[1] ?? 'other').toLowerCase();
  const finish = (uid: string, outcome: string) => {
    const s = started.get(uid);
    if (!s) return;
    started.delete(uid);
    query.observe({ kind: s[1], outcome }, Number(process.hrtime.bigint() - s[0]) / 1e9);
  };
  knex.on('query', (q: { __knexQueryUid: string; sql: string }) => {
    started.set(q.__knexQueryUid, [process.hrtime.bigint(), kindOf(q.sql)]);
  });
  knex.on('query-response', (_r: unknown, q: { __knexQueryUid: string }) =>
    finish(q.__knexQueryUid, 'ok'),
  );
  knex.on('query-error', (_e: unknown, q: { __knexQueryUid: string }) =>
    finish(q.__knexQueryUid, 'error'),
  );

  const middleware: RequestHandler = (req, res, next) => {
    const end = http.startTimer();
    res.on('finish', () => {
      end({ method: req.method, route: routeOf(req), status: String(res.statusCode) });
    });
    next();
  };

  return { registry, middleware };
}

/**
 * /metrics for the operator only when METRICS_TOKEN is set (issue 12): the request
 * must carry `Authorization: Bearer <token>`, compared in constant time (both sides
 * hashed first, so neither the content nor the length leaks through timing).
 */
export function metricsAuth(token: string | undefined): RequestHandler {
  if (!token) return (_req, _res, next) => next();
  const want = createHash('sha256').update(token).digest();
  return (req, _res, next) => {
    const m = /^Bearer ([^\s]+)$/i.exec((req.get('authorization') ?? '').trim());
    const got = createHash('sha256')
      .update(m?.[1] ?? '')
      .digest();
    if (m && timingSafeEqual(got, want)) return next();
    next(
      new AppError('invalid_token', 'the metrics token is missing or wrong', {
        status: 401,
        headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
      }),
    );
  };
}
