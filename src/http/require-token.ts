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

export function requireToken(
  knex: Knex,
  scope: Scope,
  cache?: TokenCache,
  /** Failed authentications are logged and rate limited here (src/http/auth-failures.ts). */
  guard?: AuthFailureGuard,
): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    // RFC 6750 §2.1: the scheme is case-insensitive; exactly one space, then the token.
    const m = /^Bearer ([^\s]+)$/i.exec(header.trim());
    // The token id it names (its secret unchecked): failures are counted per id too.
    const tokenId = guard && m?.[1] ? parseToken(m[1])?.tokenId : undefined;
    try {
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
