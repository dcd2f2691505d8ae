// Liveness says the process answers; readiness says it can do its job: the database
// answers, its schema is current, and the service is not shutting down.
import { Router } from 'express';
import type { Knex } from 'knex';
import { migrationStatus } from '../db/migrate.js';

export function healthRoutes(knex: Knex, state: { shuttingDown: boolean }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    let ready = !state.shuttingDown;
    if (state.shuttingDown) checks.service = 'shutting down';
    try {
      await knex.raw('select 1');
      checks.database = 'ok';
      const { pending } = await migrationStatus(knex);
      checks.migrations = pending.length === 0 ? 'ok' : `${pending.length} pending`;
      ready &&= pending.length === 0;
    } catch {
      checks.database = 'unreachable';
      ready = false;
    }
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  return router;
}
