// The end of every sign-in, whatever the protocol: the verified identity is linked to
// its mirrored directory user (the connection's linkBy), admin rights come from the
// connection's adminGroupIds (nested groups count), the activity is recorded, and a new
// session is opened, all in one transaction with the `sso.signed_in` event. A refusal is
// audited too (`sso.sign_in_refused` with its reason), in a transaction of its own, since
// the sign-in's rolls back.
import { appendAuditEvent } from '../audit/index.js';
import { withTenant } from '../db/tenant-scope.js';
import { groupsOfUser, recordActivity, usersForSignIn } from '../directory/index.js';
import type { SsoContext } from './context.js';
import type { StoredConnection } from './model.js';
import { SignInRefused } from './refusal.js';
import { openSession, revokeSession, type Session } from './sessions.js';

export interface VerifiedIdentity {
  /** The value linkBy names (email, userName or externalId), if the IdP gave one. */
  linkValue: string | undefined;
  /** The IdP's subject (OIDC sub, SAML NameID), for the audit trail. */
  subject: string;
  protocol: 'oidc' | 'saml';
}

export interface SignedIn {
  cookie: string;
  session: Session;
}

export async function finishSignIn(
  ctx: SsoContext,
  conn: StoredConnection,
  identity: VerifiedIdentity,
  previousCookie: string | undefined,
): Promise<SignedIn> {
  const signedIn = await withTenant(ctx.knex, conn.tenantId, async (trx) => {
    if (!identity.linkValue) {
      throw new SignInRefused('identity_missing', `no ${conn.linkBy} in the answer`);
    }
    const found = await usersForSignIn(trx, conn.tenantId, conn.linkBy, identity.linkValue);
    if (found.length === 0) {
      throw new SignInRefused('unknown_user', `no user with ${conn.linkBy} ${identity.linkValue}`);
    }
    if (found.length > 1) {
      throw new SignInRefused(
        'ambiguous_user',
        `several users with ${conn.linkBy} ${identity.linkValue}`,
      );
    }
    const user = found[0]!;
    if (!user.active) throw new SignInRefused('inactive_user', `user ${user.id} is inactive`);
    const groups = conn.adminGroupIds.length
      ? await groupsOfUser(trx, conn.tenantId, user.id)
      : new Map<string, string>();
    const isAdmin = conn.adminGroupIds.some((g) => groups.has(g));
    const now = ctx.clock.now();
    await recordActivity(trx, conn.tenantId, [
      { userId: user.id, productId: null, occurredAt: now },
    ]);
    const opened = await openSession(
      trx,
      conn.tenantId,
      { userId: user.id, connectionId: conn.id, isAdmin },
      now,
      ctx.settings,
    );
    await appendAuditEvent(
      trx,
      conn.tenantId,
      {
        action: 'sso.signed_in',
        actor: { type: 'user', id: user.id },
        target: { type: 'session', id: opened.session.sessionId },
        subject: user.id,
        payload: {
          connectionId: conn.id,
          protocol: identity.protocol,
          idpSubject: identity.subject,
          isAdmin,
        },
      },
      ctx.clock,
    );
    return opened;
  }).catch(async (err: unknown) => {
    if (err instanceof SignInRefused) await auditRefusal(ctx, conn, err, identity.subject);
    throw err;
  });
  // Rotation: whatever session this browser held before is over (session fixation).
  await revokeSession(ctx, previousCookie, { audit: false });
  return signedIn;
}

/** Record a refused sign-in of a known connection, with its reason. */
export async function auditRefusal(
  ctx: SsoContext,
  conn: StoredConnection,
  err: SignInRefused,
  idpSubject?: string,
): Promise<void> {
  ctx.logger.warn('sign-in refused', {
    tenantId: conn.tenantId,
    connectionId: conn.id,
    reason: err.reason,
    detail: err.internal,
  });
  await withTenant(ctx.knex, conn.tenantId, (trx) =>
    appendAuditEvent(
      trx,
      conn.tenantId,
      {
        action: 'sso.sign_in_refused',
        actor: { type: 'system', id: 'sso' },
        target: { type: 'sso_connection', id: conn.id },
        payload: {
          reason: err.reason,
          ...(err.internal ? { detail: err.internal } : {}),
          ...(idpSubject ? { idpSubject } : {}),
        },
      },
      ctx.clock,
    ),
  );
}
