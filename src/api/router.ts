// /api/v1: the admin REST API (api-scoped tokens, RFC 9457 errors).
import express, { Router } from 'express';
import type { Knex } from 'knex';
import { AppError } from '../shared/errors.js';
import { getTenant, updateTenant, type TokenCache } from '../tenancy/index.js';
import { jobStatuses, type JobRunner } from '../jobs/index.js';
import {
  type AccessTokenVerifier,
  type AuthFailureGuard,
  principalOf,
  problemHandler,
  refuseUnsafeText,
  requireMediaType,
  requireToken,
} from '../http/index.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../shared/clock.js';
import { licensingRoutes } from './licensing-routes.js';
import type { SsoContext } from '../sso/index.js';
import { meRoute, ssoConnectionRoutes } from './sso-routes.js';
import { adminSession } from './session-auth.js';
import { oauthClientRoutes } from './oauth-routes.js';
import { allowedMethods, openApiDocument } from './openapi.js';
import { licenseKeyRoutes, validateRoutes } from './keys-routes.js';
import { webhookRoutes } from './webhook-routes.js';
import type { WebhookSettings } from '../notifications/index.js';
import { auditRoutes } from './audit-routes.js';
import type { SigningKey } from '../audit/index.js';
import { machineAdminRoutes, machineLeaseRoutes } from './machine-lease-routes.js';

const JSON_TYPES = ['application/json', 'application/*+json'] as const;
const CSV_TYPES = ['text/csv', 'text/plain'] as const;

export function apiRouter(deps: {
  knex: Knex;
  logger: Logger;
  bodyLimit: number;
  clock: Clock;
  jobs: JobRunner;
  tokens?: TokenCache;
  /** The public origin (PUBLIC_URL): `servers` never echoes Host or X-Forwarded-Host. */
  publicUrl: () => string;
  authGuard?: AuthFailureGuard | undefined;
  sso: SsoContext;
  /** OAuth 2.0 access tokens, accepted beside API tokens. */
  accessTokens?: AccessTokenVerifier | undefined;
  /** Signed licence keys: KEY_ENCRYPTION_KEY and the validation rate limit. */
  licenseKeys: {
    kek: Uint8Array;
    validationsPerMinute?: number | undefined;
    leaseRequestsPerMinute?: number | undefined;
    leaseTtlSeconds?: number | undefined;
  };
  /** Webhook endpoints' secrets key and URL policy. */
  webhooks: WebhookSettings;
  /** The audit checkpoint key, whose checkpoints GET /audit/verify checks. */
  signingKey?: SigningKey | undefined;
}): Router {
  const router = Router();
  // The API's description is public, like any OpenAPI document.
  router.get('/openapi.json', (req, res) => {
    res.json(openApiDocument(`${deps.publicUrl()}${req.baseUrl}`));
  });
  // Licensed software validates with its licence key, not an API token.
  router.use(
    validateRoutes({
      knex: deps.knex,
      clock: deps.clock,
      bodyLimit: deps.bodyLimit,
      validationsPerMinute: deps.licenseKeys.validationsPerMinute,
    }),
  );
  // …and activates machines and checks leases out with it too.
  router.use(
    machineLeaseRoutes({
      knex: deps.knex,
      clock: deps.clock,
      bodyLimit: deps.bodyLimit,
      leaseRequestsPerMinute: deps.licenseKeys.leaseRequestsPerMinute,
      leaseTtlSeconds: deps.licenseKeys.leaseTtlSeconds,
    }),
  );
  // The signed-in user's own view: authenticated by the session cookie, not a token.
  router.use(meRoute(deps.sso, deps.clock));
  // An admin's session stands for an api token (with CSRF checks on writes).
  router.use(adminSession(deps.sso));
  const tokenAuth = requireToken(deps.knex, 'api', deps.tokens, deps.authGuard, deps.accessTokens);
  router.use((req, res, next) => (res.locals.principal ? next() : tokenAuth(req, res, next)));
  // A write's body is JSON (the CSV import also takes text/csv); anything else is 415.
  router.use(
    requireMediaType(JSON_TYPES, (req) => (req.path === '/imports/licenses' ? CSV_TYPES : [])),
  );
  router.use(express.json({ limit: deps.bodyLimit, type: [...JSON_TYPES] }), refuseUnsafeText);

  // Who am I: the tenant the token belongs to.
  router.get('/tenant', async (_req, res) => {
    res.json(await getTenant(deps.knex, principalOf(res).tenantId));
  });
  router.patch('/tenant', async (req, res) => {
    const { tenantId, tokenId } = principalOf(res);
    res.json(
      await updateTenant(deps.knex, tenantId, req.body, {
        actor: { type: 'token', id: tokenId },
        clock: deps.clock,
      }),
    );
  });

  // Scheduled jobs (issue 14): what each last did for this tenant, and a run on demand.
  router.get('/jobs', async (_req, res) => {
    res.json({ items: await jobStatuses(deps.knex, principalOf(res).tenantId) });
  });
  router.post('/jobs/:name/run', async (req, res) => {
    res.json(await deps.jobs.run(req.params.name, principalOf(res).tenantId));
  });

  router.use(licensingRoutes(deps));
  router.use(ssoConnectionRoutes(deps.sso));
  router.use(oauthClientRoutes(deps));
  router.use(licenseKeyRoutes({ knex: deps.knex, clock: deps.clock, kek: deps.licenseKeys.kek }));
  router.use(webhookRoutes(deps));
  router.use(auditRoutes(deps));
  router.use(machineAdminRoutes({ knex: deps.knex, clock: deps.clock }));

  router.use((req, res) => {
    const allowed = allowedMethods(req.path);
    if (allowed.length) {
      res.set('Allow', allowed.join(', '));
      throw new AppError(
        'method_not_allowed',
        `${req.method} is not allowed on ${req.baseUrl}${req.path}; allowed: ${allowed.join(', ')}`,
        { status: 405 },
      );
    }
    throw new AppError('not_found', `no route for ${req.method} ${req.baseUrl}${req.path}`, {
      status: 404,
    });
  });
  router.use(problemHandler(deps.logger));
  return router;
}
