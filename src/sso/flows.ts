// Sign-ins in flight, in the database so that every replica can finish what another
// began: an OIDC authorisation request keyed by its `state`, with the PKCE verifier,
// the nonce and the hash of the browser-binding cookie; a SAML AuthnRequest keyed by its
// ID (the InResponseTo its answer must carry). Each is used once (taken, i.e. deleted,
// when its answer arrives) and lives FLOW_TTL_MS.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';

export const FLOW_TTL_MS = 10 * 60_000;
/** The short-lived cookie that binds an OIDC sign-in to the browser that started it. */
export const FLOW_COOKIE = 'sk_sso_flow';

export interface Flow {
  requestId: string;
  connectionId: string;
  browserHash: Buffer | null;
  codeVerifier: string | null;
  nonce: string | null;
  returnTo: string;
  expiresAt: Date;
  /** The browser's live session when a SAML sign-in started, revoked when it ends. */
  previousSession?: SessionRef | null;
}

/** A session by its tenant and id (never its secret). */
export interface SessionRef {
  tenantId: string;
  sessionId: string;
}

export const browserHash = (cookie: string) => createHash('sha256').update(cookie).digest();
export const newBrowserBinding = () => randomBytes(32).toString('base64url');

export function sameBrowser(flow: Flow, cookie: string | undefined): boolean {
  if (!flow.browserHash || !cookie) return false;
  return timingSafeEqual(flow.browserHash, browserHash(cookie));
}

export async function saveFlow(
  trx: Knex.Transaction,
  tenantId: string,
  flow: Omit<Flow, 'expiresAt'>,
  now: Date,
): Promise<void> {
  // Expired flows of the tenant go on the way (they are never answered).
  await trx('sso_login_requests')
    .where({ tenant_id: tenantId })
    .where('expires_at', '<', now)
    .del();
  await trx('sso_login_requests').insert({
    tenant_id: tenantId,
    request_id: flow.requestId,
    connection_id: flow.connectionId,
    browser_hash: flow.browserHash,
    code_verifier: flow.codeVerifier,
    nonce: flow.nonce,
    return_to: flow.returnTo,
    previous_session_tenant: flow.previousSession?.tenantId ?? null,
    previous_session_id: flow.previousSession?.sessionId ?? null,
    created_at: now,
    expires_at: new Date(now.getTime() + FLOW_TTL_MS),
  });
}

/** Take (delete and return) the live flow with this id for this connection, if any. */
export async function takeFlow(
  trx: Knex.Transaction,
  tenantId: string,
  connectionId: string,
  requestId: string,
  now: Date,
): Promise<Flow | undefined> {
  const [row] = (await trx('sso_login_requests')
    .where({ tenant_id: tenantId, request_id: requestId, connection_id: connectionId })
    .del()
    .returning('*')) as Array<{
    request_id: string;
    connection_id: string;
    browser_hash: Buffer | null;
    code_verifier: string | null;
    nonce: string | null;
    return_to: string;
    expires_at: Date;
  }>;
  if (!row || row.expires_at <= now) return undefined;
  return {
    requestId: row.request_id,
    connectionId: row.connection_id,
    browserHash: row.browser_hash,
    codeVerifier: row.code_verifier,
    nonce: row.nonce,
    returnTo: row.return_to,
    expiresAt: row.expires_at,
  };
}
