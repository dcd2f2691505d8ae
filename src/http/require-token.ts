// Bearer-token authentication for a router: resolves the token to a tenant and checks
// its scope. The resulting principal is the only source of the tenant for the request.
import type { RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import type { AuthFailureGuard } from './auth-failures.js';
import {
  authenticate,
  AuthError,
  parseToken,
  type Principal,
  type Scope,
  type TokenCache,
} from '../tenancy/index.js';

/**
 * OAuth 2.0 access tokens (JWTs from /oauth/token, issue 15): the tenant, client and
 * scopes of one this service issued and still honours, else null.
 */
export type AccessTokenVerifier = (
  raw: string,
) => Promise<{ tenantId: string; clientId: string; scopes: string[] } | null>;

const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether an access token's scopes open a route of this scope for this method. */
function jwtAllows(scopes: string[], required: Scope, method: string): boolean {
  if (required === 'scim') return scopes.includes('scim');
  return scopes.includes('api:write') || (SAFE.has(method) && scopes.includes('api:read'));
}

export function requireToken(
  knex: Knex,
  scope: Scope,
  cache?: TokenCache,
  /** Failed authentications are logged and rate limited here (src/http/auth-failures.ts). */
  guard?: AuthFailureGuard,
  /** Accept OAuth 2.0 JWT access tokens beside the opaque ones. */
  jwt?: AccessTokenVerifier,
): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    // RFC 6750 §2.1: the scheme is case-insensitive; exactly one space, then the token.
    const m = /^Bearer ([^\s]+)$/i.exec(header.trim());
    // The token id it names (its secret unchecked): failures are counted per id too.
    const tokenId = guard && m?.[1] ? parseToken(m[1])?.tokenId : undefined;
    try {
      if (jwt && m?.[1] && JWT.test(m[1])) {
        const token = await jwt(m[1]);
        if (!token) throw new AuthError('unknown', scope);
        if (!jwtAllows(token.scopes, scope, req.method)) {
          throw new AuthError('insufficient_scope', scope);
        }
        res.locals.principal = { tenantId: token.tenantId, tokenId: token.clientId, scope };
        return next();
      }
      res.locals.principal = await authenticate(knex, m?.[1], scope, cache);
    } catch (err) {
      if (guard && err instanceof AuthError) await guard.failed(req, res, err, tokenId);
      throw err;
    }
    next();
  };
}

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new Error('principalOf called on a route without requireToken');
  return p;
}
