// The express application, composed: the HTTP plumbing (src/http), then one router per
// door (SCIM, the admin API), and the seat reconciler subscribed to directory changes.
// This is the one module that knows every door; capabilities do not know each other's.
import express from 'express';
import helmet from 'helmet';
import type { Knex } from 'knex';
import { apiRouter, jwksRoutes, oauthRouter } from './api/index.js';
import type { SigningKey } from './audit/index.js';
import { createJobMetrics, jobRunner, type JobMetrics } from './jobs/index.js';
import { SigningKeys, verifyAccessToken, type TokenContext } from './oauth/index.js';
import { DirectoryHooks } from './directory/index.js';
import { reconcileOnDirectoryChanges } from './licensing/index.js';
import { scimRouter } from './scim/index.js';
import { randomBytes } from 'node:crypto';
import { DEFAULT_SSO_SETTINGS, type SsoContext, type SsoSettings } from './sso/index.js';
import { webRouter } from './web/index.js';
import { systemClock, type Clock } from './shared/clock.js';
import type { Logger } from './log/logger.js';
import { AppError } from './shared/errors.js';
import { TokenCache } from './tenancy/index.js';
import {
  authFailureGuard,
  createMetrics,
  healthRoutes,
  metricsAuth,
  problemHandler,
  requestContext,
} from './http/index.js';

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
  /**
   * The public origin (and path prefix) for absolute URLs: PUBLIC_URL, or the origin the
   * service listens on (known only once it listens, hence a function). Never the Host
   * header. Default http://localhost (tests).
   */
  publicUrl?: string | (() => string);
  /** express' `trust proxy` (TRUST_PROXY); default false: X-Forwarded-* ignored. */
  trustProxy?: boolean | number | string;
  /**
   * Failed authentications a minute per address and per token id before 429
   * (AUTH_FAILURE_LIMIT_PER_MINUTE; 0 logs failures without limiting). Unset: neither
   * logged nor limited (tests that do not look at it).
   */
  authFailureLimit?: number;
  /** Milliseconds clock of the auth-failure windows (tests). */
  authFailureNow?: () => number;
  /** When set, /metrics wants this bearer token (METRICS_TOKEN). */
  metricsToken?: string | undefined;
  /**
   * Single sign-on: the key sealing connection secrets (SSO_SECRET_KEY_FILE) and the
   * SSO_* settings. Unset (tests that do not sign in): a key of this app's own, lost
   * with it, and the defaults.
   */
  sso?: { secretKey: Uint8Array; settings?: Partial<SsoSettings> };
  /** Keys signing OAuth 2.0 access tokens (OAUTH_SIGNING_KEY_FILE); unset: this app's own. */
  oauthKeys?: SigningKeys;
  /**
   * Signed licence keys: KEY_ENCRYPTION_KEY (unset: a key of this app's own, lost with it)
   * and validations a minute per key (KEY_VALIDATIONS_PER_MINUTE).
   */
  licenseKeys?: {
    kek: Uint8Array;
    validationsPerMinute?: number;
    /** Machine and lease requests a minute per key (KEY_LEASE_REQUESTS_PER_MINUTE). */
    leaseRequestsPerMinute?: number;
    /** LEASE_TTL_SECONDS. */
    leaseTtlSeconds?: number;
  };
  /**
   * Webhooks: the key sealing endpoint secrets (default: the SSO key above) and whether
   * http and private addresses are allowed (WEBHOOK_ALLOW_PRIVATE_URLS; default false).
   */
  webhooks?: { secretKey?: Uint8Array; allowPrivateUrls?: boolean };
  /** The audit checkpoint key, for the audit-checkpoint job run on demand. */
  signingKey?: SigningKey;
  /** Scheduled jobs' metrics, shared with the service's scheduler; unset: the app's own. */
  jobMetrics?: JobMetrics;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Forwarded headers (client address, protocol) are believed only from configured proxies.
  app.set('trust proxy', deps.trustProxy ?? false);
  // express' default "extended" parser builds nested objects from a[b]=c; simple is enough.
  app.set('query parser', 'simple');
  const jobMetrics = deps.jobMetrics ?? createJobMetrics();
  const metrics = createMetrics(deps.knex, jobMetrics.all);

  app.use(requestContext(deps.logger));
  app.use(helmet());
  app.use(metrics.middleware);

  app.use(healthRoutes(deps.knex, deps.state));
  app.get('/metrics', metricsAuth(deps.metricsToken), async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const clock = deps.clock ?? systemClock;
  const hooks = deps.hooks ?? new DirectoryHooks();
  // Directory changes reconcile seats in the same transaction (the heart of Seatkeeper).
  reconcileOnDirectoryChanges(hooks, clock);
  const tokens = deps.tokens ?? new TokenCache(0);
  const configured = deps.publicUrl ?? 'http://localhost';
  const publicUrl = typeof configured === 'string' ? () => configured : configured;
  const authGuard =
    deps.authFailureLimit === undefined
      ? undefined
      : authFailureGuard({
          knex: deps.knex,
          logger: deps.logger,
          limitPerMinute: deps.authFailureLimit,
          ...(deps.authFailureNow ? { now: deps.authFailureNow } : {}),
        });
  const sso: SsoContext = {
    knex: deps.knex,
    clock,
    logger: deps.logger,
    publicUrl: () => publicUrl().replace(/\/+$/, ''),
    secretKey: deps.sso?.secretKey ?? new Uint8Array(randomBytes(32)),
    settings: { ...DEFAULT_SSO_SETTINGS, ...deps.sso?.settings },
  };
  // OAuth 2.0 for integrations: the token endpoint and its keys; its JWTs open the API
  // and SCIM beside the opaque tokens.
  const oauth: TokenContext = {
    knex: deps.knex,
    keys: deps.oauthKeys ?? SigningKeys.ephemeral(),
    issuer: sso.publicUrl,
    clock,
  };
  const accessTokens = (raw: string) => verifyAccessToken(oauth, raw);
  app.use(oauthRouter(oauth, deps.logger));
  const jobs = jobRunner({
    knex: deps.knex,
    clock,
    signingKey: deps.signingKey,
    metrics: jobMetrics,
    leaseTtlSeconds: deps.licenseKeys?.leaseTtlSeconds,
  });
  const licenseKeys = {
    kek: deps.licenseKeys?.kek ?? new Uint8Array(randomBytes(32)),
    validationsPerMinute: deps.licenseKeys?.validationsPerMinute,
    leaseRequestsPerMinute: deps.licenseKeys?.leaseRequestsPerMinute,
    leaseTtlSeconds: deps.licenseKeys?.leaseTtlSeconds,
  };
  const webhooks = {
    secretKey: deps.webhooks?.secretKey ?? sso.secretKey,
    allowPrivateUrls: deps.webhooks?.allowPrivateUrls ?? false,
  };
  // The public halves of each tenant's licence signing keys, for offline verification.
  app.use(jwksRoutes({ knex: deps.knex, clock }));
  app.use(
    '/api/v1',
    apiRouter({
      ...deps,
      clock,
      tokens,
      publicUrl,
      authGuard,
      jobs,
      sso,
      accessTokens,
      licenseKeys,
      webhooks,
    }),
  );
  app.use(
    '/scim/v2',
    scimRouter({
      knex: deps.knex,
      logger: deps.logger,
      clock,
      hooks,
      tokens,
      publicUrl,
      authGuard,
      accessTokens,
    }),
  );

  // The browser door: SSO sign-in, /login, /logout, /me.
  app.use(webRouter({ sso, clock, logger: deps.logger }));

  app.use((req) => {
    throw new AppError('not_found', `no route for ${req.method} ${req.path}`, { status: 404 });
  });
  app.use(problemHandler(deps.logger));
  return app;
}
