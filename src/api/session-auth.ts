// The admin API also accepts an admin's browser session (issue 15), beside API tokens.
// A request with no Authorization header and a live `sk_session` of an admin is the
// tenant's admin; one of a non-admin is 403. A state-changing request authenticated by
// the cookie must prove it comes from this origin (CSRF): a same-origin Origin header,
// or the session's token in X-CSRF-Token. Everything else falls through to the token
// check, whose 401 names what is missing.
import type { RequestHandler, Response } from 'express';
import type { Actor } from '../audit/index.js';
import { cookieOf, principalOf } from '../http/index.js';
import { AppError } from '../shared/errors.js';
import {
  csrfTokenMatches,
  SESSION_COOKIE,
  sessionFromCookie,
  type Session,
  type SsoContext,
} from '../sso/index.js';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function adminSession(sso: SsoContext): RequestHandler {
  return async (req, res, next) => {
    if (req.get('authorization') !== undefined) return next();
    const session = await sessionFromCookie(sso, cookieOf(req, SESSION_COOKIE));
    if (!session) return next();
    if (!session.isAdmin) {
      throw new AppError('insufficient_scope', 'this session is not an administrator’s', {
        status: 403,
      });
    }
    if (!SAFE.has(req.method)) {
      const origin = req.get('origin');
      const sameOrigin = origin !== undefined && origin === new URL(sso.publicUrl()).origin;
      if (!sameOrigin && !csrfTokenMatches(session, req.get('x-csrf-token'))) {
        throw new AppError(
          'csrf',
          'a change made with a session cookie needs this origin or the X-CSRF-Token header',
          { status: 403 },
        );
      }
    }
    res.locals.principal = {
      tenantId: session.tenantId,
      tokenId: session.sessionId,
      scope: 'api',
    };
    res.locals.session = session;
    next();
  };
}

/** Who is acting: the signed-in admin (a session) or the API token. */
export function actorOf(res: Response): Actor {
  const session = res.locals.session as Session | undefined;
  if (session) return { type: 'user', id: session.userId };
  return { type: 'token', id: principalOf(res).tokenId };
}
