// The browser door (issue 15): the SSO sign-in routes, /login discovery, /logout and the
// signed-in user's page. Thin adapters over src/sso; a refused sign-in is a 4xx HTML
// page saying why, never a 5xx and never a redirect to where the user wanted to go.
import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import { cookieOf, cookieOptions, toAppError } from '../http/index.js';
import { explainUser } from '../licensing/index.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../shared/clock.js';
import {
  beginOidcSignIn,
  beginSamlSignIn,
  completeOidcSignIn,
  completeSamlSignIn,
  MAX_SAML_RESPONSE_BYTES,
  samlMetadata,
  connectionById,
  connectionsForEmail,
  csrfTokenMatches,
  FLOW_COOKIE,
  FLOW_TTL_MS,
  revokeSession,
  safeReturnTo,
  SESSION_COOKIE,
  sessionFromCookie,
  SignInRefused,
  type SignedIn,
  type SsoContext,
} from '../sso/index.js';
import { chooserPage, loginPage, mePage, refusedPage } from './pages.js';

const FLOW_PATH = '/sso/oidc/';
/** A form post to /logout or the SAML ACS is at most this big (a base64 SAMLResponse, and a little). */
const FORM_LIMIT = Math.ceil((MAX_SAML_RESPONSE_BYTES * 4) / 3) + 8 * 1024;

const one = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;

function html(res: Response, status: number, body: string) {
  res.status(status).set('Cache-Control', 'no-store').type('html').send(body);
}

/**
 * The sign-in page's form leads, through this origin's redirects, to the identity
 * provider; browsers hold a form's redirects to CSP form-action (helmet's default is
 * 'self'), so this page allows the schemes an IdP may be reached by. It carries no
 * content but escaped text.
 */
function allowIdpFormAction(res: Response, sso: SsoContext) {
  const schemes = sso.settings.allowInsecureHttp ? 'https: http:' : 'https:';
  const csp = String(res.getHeader('Content-Security-Policy') ?? '');
  res.setHeader(
    'Content-Security-Policy',
    csp.replace(/form-action [^;]*/, `form-action 'self' ${schemes}`),
  );
}

function setSession(req: Request, res: Response, sso: SsoContext, signedIn: SignedIn) {
  res.cookie(
    SESSION_COOKIE,
    signedIn.cookie,
    cookieOptions(req, { maxAgeMs: sso.settings.sessionAbsoluteMs }),
  );
}

/** Whether a state-changing request comes from this origin (its Origin header). */
function sameOrigin(req: Request, publicUrl: string): boolean {
  const origin = req.get('origin');
  return !!origin && origin !== 'null' && origin === new URL(publicUrl).origin;
}

export function webRouter(deps: { sso: SsoContext; clock: Clock; logger: Logger }): Router {
  const { sso } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: FORM_LIMIT, parameterLimit: 20 });

  router.get('/sso/oidc/:id/login', async (req, res) => {
    const { redirect, flowCookie } = await beginOidcSignIn(
      sso,
      req.params.id,
      one(req.query.returnTo),
    );
    res.cookie(
      FLOW_COOKIE,
      flowCookie,
      cookieOptions(req, { path: FLOW_PATH, maxAgeMs: FLOW_TTL_MS }),
    );
    res.redirect(302, redirect);
  });

  router.get('/sso/oidc/:id/callback', async (req, res) => {
    const search = req.originalUrl.includes('?')
      ? req.originalUrl.slice(req.originalUrl.indexOf('?'))
      : '';
    res.clearCookie(FLOW_COOKIE, cookieOptions(req, { path: FLOW_PATH }));
    const done = await completeOidcSignIn(
      sso,
      req.params.id,
      search,
      cookieOf(req, FLOW_COOKIE),
      cookieOf(req, SESSION_COOKIE),
    );
    setSession(req, res, sso, done);
    res.redirect(302, done.returnTo);
  });

  router.get('/sso/saml/:id/metadata', async (req, res) => {
    const xml = await samlMetadata(sso, req.params.id);
    res.type('application/samlmetadata+xml').send(xml);
  });

  router.get('/sso/saml/:id/login', async (req, res) => {
    const { redirect } = await beginSamlSignIn(
      sso,
      req.params.id,
      one(req.query.returnTo),
      cookieOf(req, SESSION_COOKIE),
    );
    res.redirect(302, redirect);
  });

  // The IdP's POST (SAML Bindings §3.5): exempt from CSRF checks, needs no cookie; what
  // it carries is verified instead (signature, InResponseTo, audience, Recipient…).
  router.post('/sso/saml/:id/acs', form, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const done = await completeSamlSignIn(
      sso,
      req.params.id,
      { SAMLResponse: one(body.SAMLResponse), RelayState: one(body.RelayState) },
      cookieOf(req, SESSION_COOKIE),
    );
    setSession(req, res, sso, done);
    res.redirect(302, done.returnTo);
  });

  router.get('/login', async (req, res) => {
    const returnTo = safeReturnTo(one(req.query.returnTo), sso.publicUrl());
    const email = one(req.query.email)?.trim();
    allowIdpFormAction(res, sso);
    if (!email) return html(res, 200, loginPage({ returnTo }));
    const found = email.length <= 320 ? await connectionsForEmail(sso.knex, email) : [];
    const links = [];
    for (const f of found) {
      const conn = await connectionById(sso.knex, f.connectionId);
      if (!conn) continue;
      links.push({
        href: `/sso/${conn.type}/${conn.id}/login?returnTo=${encodeURIComponent(returnTo)}`,
        label: `${conn.type === 'oidc' ? 'OpenID Connect' : 'SAML'}: ${conn.domains.join(', ')}`,
      });
    }
    if (links.length === 0) {
      const domain = email.slice(email.lastIndexOf('@') + 1);
      return html(
        res,
        404,
        loginPage({
          returnTo,
          email,
          message: `No single sign-on is set up for ${domain || 'that address'}. Check the address, or ask your administrator.`,
        }),
      );
    }
    if (links.length === 1) return res.redirect(302, links[0]!.href);
    html(res, 300, chooserPage(links));
  });

  router.post('/logout', form, async (req, res) => {
    const cookie = cookieOf(req, SESSION_COOKIE);
    const session = await sessionFromCookie(sso, cookie);
    if (session) {
      // CSRF: the cookie alone does not end a session; the page's token or this origin must.
      const token = one((req.body as Record<string, unknown> | undefined)?.csrf);
      if (!sameOrigin(req, sso.publicUrl()) && !csrfTokenMatches(session, token)) {
        return html(
          res,
          403,
          refusedPage('This sign-out did not come from Seatkeeper’s own page.'),
        );
      }
      await revokeSession(sso, cookie, { audit: true });
    }
    res.clearCookie(SESSION_COOKIE, cookieOptions(req));
    res.redirect(303, '/login');
  });

  router.get('/me', async (req, res) => {
    const session = await sessionFromCookie(sso, cookieOf(req, SESSION_COOKIE));
    if (!session) return res.redirect(302, `/login?returnTo=${encodeURIComponent('/me')}`);
    const seats = await explainUser(
      {
        knex: sso.knex,
        tenantId: session.tenantId,
        actor: { type: 'user', id: session.userId },
        clock: deps.clock,
      },
      session.userId,
    );
    html(
      res,
      200,
      mePage({
        userName: seats.user.userName,
        isAdmin: session.isAdmin,
        csrfToken: session.csrfToken,
        seats: seats.seats,
      }),
    );
  });

  // Refusals and failures of this door are pages, in words a person understands.
  const pages: ErrorRequestHandler = (raw, req, res, _next) => {
    if (res.headersSent) return res.destroy();
    if (raw instanceof SignInRefused) return html(res, raw.status, refusedPage(raw.message));
    const err = toAppError(raw);
    if (err.status >= 500) {
      deps.logger.error('sign-in failed', { path: req.path, error: err.cause ?? raw });
      return html(res, 500, refusedPage('Something went wrong on our side. Please try again.'));
    }
    html(res, err.status, refusedPage(err.expose ? err.message : 'This request was refused.'));
  };
  router.use(['/sso', '/login', '/logout', '/me'], pages);
  return router;
}
