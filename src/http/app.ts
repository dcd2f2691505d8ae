// The express application: cross-cutting middleware, then one router per door.
import express from 'express';
import helmet from 'helmet';
import type { Knex } from 'knex';
import { apiRouter } from '../api/router.js';
import { DirectoryHooks } from '../directory/changes.js';
import { reconcileOnDirectoryChanges } from '../licensing/directory-listener.js';
import { scimRouter } from '../scim/router.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { Logger } from '../log/logger.js';
import { AppError } from '../shared/errors.js';
import { TokenCache } from '../tenancy/token-cache.js';
import { healthRoutes } from './health.js';
import { createMetrics } from './metrics.js';
import { problemHandler } from './problem.js';
import { requestContext } from './request-context.js';

export interface AppDeps {
  knex: Knex;
  logger: Logger;
  bodyLimit: number;
  state: { shuttingDown: boolean };
  clock?: Clock;
  /** Directory-change listeners (the seat reconciler subscribes here). */
  hooks?: DirectoryHooks;
  /** Token rows trusted for a moment once read (TOKEN_CACHE_TTL_MS); none by default. */
  tokens?: TokenCache;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // express' default "extended" parser builds nested objects from a[b]=c; simple is enough.
  app.set('query parser', 'simple');
  const metrics = createMetrics(deps.knex);

  app.use(requestContext(deps.logger));
  app.use(helmet());
  app.use(metrics.middleware);

  app.use(healthRoutes(deps.knex, deps.state));
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const clock = deps.clock ?? systemClock;
  const hooks = deps.hooks ?? new DirectoryHooks();
  // Directory changes reconcile seats in the same transaction (the heart of Seatkeeper).
  reconcileOnDirectoryChanges(hooks, clock);
  const tokens = deps.tokens ?? new TokenCache(0);
  app.use('/api/v1', apiRouter({ ...deps, clock, tokens }));
  app.use('/scim/v2', scimRouter({ knex: deps.knex, logger: deps.logger, clock, hooks, tokens }));

  app.use((req) => {
    throw new AppError('not_found', `no route for ${req.method} ${req.path}`, { status: 404 });
  });
  app.use(problemHandler(deps.logger));
  return app;
}
