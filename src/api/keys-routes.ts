// Signed licence keys over HTTP (issue 18), thin adapters over src/keys:
// - /api/v1/licenses/{id}/keys, /api/v1/keys/{id}, /api/v1/licenses/{id}/{suspend,resume}
//   (api token, like the rest of the admin API);
// - POST /api/v1/validate (`Authorization: License <key>`), rate-limited per key;
// - GET /keys/{tenantId}/jwks.json (no authentication: public keys, cacheable).
import { createHash } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Knex } from 'knex';
import { principalOf, refuseUnsafeText, requireMediaType } from '../http/index.js';
import {
  invalidKey,
  issueKey,
  listKeys,
  publishedJwks,
  revokeKey,
  validateKey,
  type KeysContext,
} from '../keys/index.js';
import { parsePageRequest, setLicenceSuspended } from '../licensing/index.js';
import type { Clock } from '../shared/clock.js';
import { AppError } from '../shared/errors.js';
import { actorOf } from './session-auth.js';

export interface LicenseKeyDeps {
  knex: Knex;
  clock: Clock;
  /** KEY_ENCRYPTION_KEY. */
  kek: Uint8Array;
}

/** The admin side: issue, list, revoke; suspend and resume the licence. */
export function licenseKeyRoutes(deps: LicenseKeyDeps): Router {
  const router = Router();
  const ctx = (res: Response): KeysContext => ({
    knex: deps.knex,
    tenantId: principalOf(res).tenantId,
    actor: actorOf(res),
    clock: deps.clock,
    kek: deps.kek,
  });
  router.post('/licenses/:id/keys', async (req, res) => {
    // The key is shown once: no cache may keep it.
    res
      .set('Cache-Control', 'no-store')
      .status(201)
      .json(await issueKey(ctx(res), req.params.id, req.body));
  });
  router.get('/licenses/:id/keys', async (req, res) => {
    res.json(
      await listKeys(
        ctx(res),
        req.params.id,
        parsePageRequest(req.query as Record<string, unknown>),
      ),
    );
  });
  router.delete(
    '/keys/:id',
    async (req, res) => void res.json(await revokeKey(ctx(res), req.params.id)),
  );
  for (const [action, suspended] of [
    ['suspend', true],
    ['resume', false],
  ] as const) {
    router.post(`/licenses/:id/${action}`, async (req, res) => {
      res.json(await setLicenceSuspended(ctx(res), req.params.id, suspended));
    });
  }
  return router;
}

/** The key a request presents: `Authorization: License <compact JWS>`, or 401. */
export function presentedKey(req: Request): string {
  const m = /^License +([A-Za-z0-9_.-]+)$/i.exec(req.get('authorization')?.trim() ?? '');
  if (!m) throw invalidKey('send it as Authorization: License <key>');
  return m[1]!;
}

/** Validations a minute per key when KEY_VALIDATIONS_PER_MINUTE is not set. */
export const DEFAULT_VALIDATIONS_PER_MINUTE = 60;
const WINDOW_MS = 60_000;

/**
 * A limit of `limit` requests a minute per licence key (by its digest), 429 with
 * Retry-After above it. In this process's memory: each replica counts its own (documented).
 */
export function perKeyLimiter(limit: number, what: string) {
  return rateLimit({
    windowMs: WINDOW_MS,
    limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => createHash('sha256').update(presentedKey(req)).digest('base64url'),
    handler: (req, _res, next) => {
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = Math.max(
        1,
        Math.ceil(((reset?.getTime() ?? Date.now() + WINDOW_MS) - Date.now()) / 1000),
      );
      next(
        new AppError('rate_limited', `too many ${what} with this key: retry later`, {
          status: 429,
          headers: { 'Retry-After': String(seconds) },
        }),
      );
    },
  });
}

/** POST /validate: mounted before the admin API's token check, with its own. */
export function validateRoutes(deps: {
  knex: Knex;
  clock: Clock;
  bodyLimit: number;
  validationsPerMinute?: number | undefined;
}): Router {
  const router = Router();
  const JSON_TYPES = ['application/json', 'application/*+json'];
  const limiter = perKeyLimiter(
    deps.validationsPerMinute ?? DEFAULT_VALIDATIONS_PER_MINUTE,
    'validations',
  );
  router.post(
    '/validate',
    (req, _res, next) => {
      presentedKey(req);
      next();
    },
    limiter,
    requireMediaType(JSON_TYPES),
    express.json({ limit: deps.bodyLimit, type: JSON_TYPES }),
    refuseUnsafeText,
    async (req, res) => {
      res
        .set('Cache-Control', 'no-store')
        .json(await validateKey(deps, presentedKey(req), req.body));
    },
  );
  return router;
}

/** GET /keys/{tenantId}/jwks.json at the service's root. */
export function jwksRoutes(deps: { knex: Knex; clock: Clock }): Router {
  const router = Router();
  router.get('/keys/:tenantId/jwks.json', async (req, res) => {
    const jwks = await publishedJwks(deps.knex, req.params.tenantId, deps.clock.now());
    res.set('Cache-Control', 'public, max-age=300').json(jwks);
  });
  return router;
}
