// OAuth 2.0 for integrations (issue 15): the token endpoint (RFC 6749 §3.2, the
// client-credentials grant of §4.4), the published signing keys, and the admin API's
// /oauth/clients. Thin adapters over src/oauth; the token endpoint answers errors in
// RFC 6749 §5.2's JSON, not problem+json.
import express, { Router, type ErrorRequestHandler } from 'express';
import { principalOf, toAppError } from '../http/index.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../shared/clock.js';
import {
  createClient,
  issueToken,
  listClients,
  OAuthError,
  revokeClient,
  type TokenContext,
} from '../oauth/index.js';
import { actorOf } from './session-auth.js';

const FORM = 'application/x-www-form-urlencoded';

/** client_id and client_secret from HTTP Basic (RFC 6749 §2.3.1: each form-urlencoded). */
function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header?.trim() ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const unform = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  try {
    return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

const field = (body: Record<string, unknown>, name: string) => {
  const v = body[name];
  if (Array.isArray(v)) throw new OAuthError('invalid_request', `${name} is repeated`);
  return typeof v === 'string' ? v : undefined;
};

/** POST /oauth/token and GET /.well-known/jwks.json, at the service's root. */
export function oauthRouter(ctx: TokenContext, logger: Logger): Router {
  const router = Router();
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').json(ctx.keys.publicJwks());
  });
  router.post(
    '/oauth/token',
    express.urlencoded({ extended: false, limit: 16 * 1024, parameterLimit: 20 }),
    async (req, res) => {
      res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
      if (!req.is(FORM)) {
        throw new OAuthError('invalid_request', `the request must be ${FORM} (RFC 6749 §4.4.2)`);
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      const basic = basicCredentials(req.get('authorization'));
      if (basic && (body.client_id !== undefined || body.client_secret !== undefined)) {
        // §2.3: a client uses one authentication method per request.
        throw new OAuthError('invalid_request', 'client credentials given twice');
      }
      const token = await issueToken(ctx, {
        grantType: field(body, 'grant_type'),
        clientId: basic?.id ?? field(body, 'client_id'),
        clientSecret: basic?.secret ?? field(body, 'client_secret'),
        scope: field(body, 'scope'),
        basic: basic !== null,
      });
      res.json(token);
    },
  );
  const errors: ErrorRequestHandler = (raw, _req, res, _next) => {
    if (raw instanceof OAuthError) {
      return res
        .status(raw.status)
        .set(raw.headers)
        .json({ error: raw.error, error_description: raw.message });
    }
    const err = toAppError(raw);
    if (err.status >= 500) logger.error('token request failed', { error: err.cause ?? raw });
    res.status(err.status >= 500 ? 500 : 400).json({
      error: err.status >= 500 ? 'server_error' : 'invalid_request',
      error_description: err.expose ? err.message : 'refused',
    });
  };
  router.use('/oauth/token', errors);
  return router;
}

/** /api/v1/oauth/clients: create (the secret shown once), list, revoke. */
export function oauthClientRoutes(deps: { knex: TokenContext['knex']; clock: Clock }): Router {
  const router = Router();
  const ctx = (res: express.Response) => ({
    knex: deps.knex,
    tenantId: principalOf(res).tenantId,
    actor: actorOf(res),
    clock: deps.clock,
  });
  router.post('/oauth/clients', async (req, res) => {
    res
      .set('Cache-Control', 'no-store')
      .status(201)
      .json(await createClient(ctx(res), req.body));
  });
  router.get(
    '/oauth/clients',
    async (_req, res) => void res.json(await listClients(deps.knex, principalOf(res).tenantId)),
  );
  router.delete('/oauth/clients/:id', async (req, res) => {
    res.json(await revokeClient(ctx(res), req.params.id));
  });
  return router;
}
