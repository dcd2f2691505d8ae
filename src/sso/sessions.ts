// Server-side sessions (issue 15). The cookie `sk_session` carries
// `<tenantId>.<sessionId>.<secret>`: the tenant to scope the lookup to, the row, and a
// 256-bit secret whose SHA-256 the row keeps. Like the API tokens, a session is accepted
// only when the secret matches its row, found under the tenant the cookie names, so a
// forged tenant part finds nothing. Sessions end when revoked (logout, a new sign-in in
// the same browser), after SSO_SESSION_IDLE_MS unused, SSO_SESSION_ABSOLUTE_MS after
// sign-in, or when the user is deactivated or deleted.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAuditEvent } from '../audit/index.js';
import { withTenant } from '../db/tenant-scope.js';
import { activeStates } from '../directory/index.js';
import { isUuid, newId } from '../shared/ids.js';
import type { SsoContext, SsoSettings } from './context.js';
import type { SessionRef } from './flows.js';

export const SESSION_COOKIE = 'sk_session';
/** last_seen_at is written at most this often (the idle timeout's resolution). */
const TOUCH_EVERY_MS = 60_000;

export interface Session {
  tenantId: string;
  sessionId: string;
  userId: string;
  connectionId: string | null;
  isAdmin: boolean;
  /** Carried by the session's forms (CSRF). */
  csrfToken: string;
  expiresAt: Date;
}

interface ParsedCookie {
  tenantId: string;
  sessionId: string;
  secret: Buffer;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

function parseCookie(value: string | undefined): ParsedCookie | null {
  if (!value) return null;
  const parts = value.split('.');
  if (parts.length !== 3) return null;
  const [tenantId, sessionId, secret] = parts as [string, string, string];
  if (!isUuid(tenantId) || !isUuid(sessionId) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  return { tenantId, sessionId, secret: Buffer.from(secret, 'base64url') };
}

/** Open a session in the caller's transaction (scoped to the tenant); the cookie's value. */
export async function openSession(
  trx: Knex.Transaction,
  tenantId: string,
  who: { userId: string; connectionId: string | null; isAdmin: boolean },
  now: Date,
  settings: SsoSettings,
): Promise<{ cookie: string; session: Session }> {
  const sessionId = newId();
  const secret = randomBytes(32);
  const csrfToken = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + settings.sessionAbsoluteMs);
  await trx('sso_sessions').insert({
    tenant_id: tenantId,
    session_id: sessionId,
    secret_hash: sha256(secret),
    user_id: who.userId,
    connection_id: who.connectionId,
    is_admin: who.isAdmin,
    csrf_token: csrfToken,
    created_at: now,
    last_seen_at: now,
    expires_at: expiresAt,
  });
  return {
    cookie: `${tenantId}.${sessionId}.${secret.toString('base64url')}`,
    session: { tenantId, sessionId, csrfToken, expiresAt, ...who },
  };
}

interface SessionRow {
  session_id: string;
  secret_hash: Buffer;
  user_id: string;
  connection_id: string | null;
  is_admin: boolean;
  csrf_token: string;
  last_seen_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

/** The live session a cookie opens, or null (absent, forged, revoked, expired, user gone). */
export async function sessionFromCookie(
  ctx: SsoContext,
  cookie: string | undefined,
): Promise<Session | null> {
  const parsed = parseCookie(cookie);
  if (!parsed) return null;
  const now = ctx.clock.now();
  return withTenant(ctx.knex, parsed.tenantId, async (trx) => {
    const row = (await trx('sso_sessions')
      .where({ tenant_id: parsed.tenantId, session_id: parsed.sessionId })
      .first()) as SessionRow | undefined;
    if (!row || !timingSafeEqual(row.secret_hash, sha256(parsed.secret))) return null;
    if (row.revoked_at) return null;
    if (now >= row.expires_at) return null;
    if (now.getTime() - row.last_seen_at.getTime() >= ctx.settings.sessionIdleMs) return null;
    const active = await activeStates(trx, parsed.tenantId, [row.user_id]);
    if (active.get(row.user_id) !== true) return null;
    if (now.getTime() - row.last_seen_at.getTime() >= TOUCH_EVERY_MS) {
      await trx('sso_sessions')
        .where({ tenant_id: parsed.tenantId, session_id: parsed.sessionId })
        .update({ last_seen_at: now });
    }
    return {
      tenantId: parsed.tenantId,
      sessionId: row.session_id,
      userId: row.user_id,
      connectionId: row.connection_id,
      isAdmin: row.is_admin,
      csrfToken: row.csrf_token,
      expiresAt: row.expires_at,
    };
  });
}

/**
 * Revoke the session a cookie names, if its secret matches (a sign-in rotating the
 * browser's old session, or a logout). Audited as a sign-out when `audit` is set.
 */
export async function revokeSession(
  ctx: SsoContext,
  cookie: string | undefined,
  opts: { audit: boolean },
): Promise<boolean> {
  const parsed = parseCookie(cookie);
  if (!parsed) return false;
  const now = ctx.clock.now();
  return withTenant(ctx.knex, parsed.tenantId, async (trx) => {
    const row = (await trx('sso_sessions')
      .where({ tenant_id: parsed.tenantId, session_id: parsed.sessionId })
      .forUpdate()
      .first()) as SessionRow | undefined;
    if (!row || row.revoked_at || !timingSafeEqual(row.secret_hash, sha256(parsed.secret))) {
      return false;
    }
    await trx('sso_sessions')
      .where({ tenant_id: parsed.tenantId, session_id: parsed.sessionId })
      .update({ revoked_at: now });
    if (opts.audit) {
      await appendAuditEvent(
        trx,
        parsed.tenantId,
        {
          action: 'sso.signed_out',
          actor: { type: 'user', id: row.user_id },
          target: { type: 'session', id: row.session_id },
          subject: row.user_id,
        },
        ctx.clock,
      );
    }
    return true;
  });
}

/**
 * Revoke a session by its id (a SAML sign-in ending: the ACS gets no cookie, so the
 * start noted which session the browser had; src/sso/flows.ts). Not audited: it is
 * part of the sign-in that replaces it, as a rotation at an OIDC sign-in is.
 */
export async function revokeSessionById(ctx: SsoContext, ref: SessionRef): Promise<void> {
  await withTenant(ctx.knex, ref.tenantId, (trx) =>
    trx('sso_sessions')
      .where({ tenant_id: ref.tenantId, session_id: ref.sessionId })
      .whereNull('revoked_at')
      .update({ revoked_at: ctx.clock.now() }),
  );
}

/** Whether a form's token is the session's (constant time). */
export function csrfTokenMatches(session: Session, token: unknown): boolean {
  if (typeof token !== 'string') return false;
  const a = Buffer.from(token);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}
