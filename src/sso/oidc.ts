// OpenID Connect relying party (issue 15) with openid-client 6: the authorization code
// flow with PKCE (RFC 7636, S256), `state` and `nonce` (OIDC Core §3.1.2.1), the three
// kept server-side (src/sso/flows.ts) and bound to the browser that began the sign-in
// by a short-lived cookie. openid-client verifies issuer, audience, nonce, iat/exp and
// state; its non-repudiation checks are turned on so the ID token's signature is checked
// against the OP's JWKS even though it came straight from the token endpoint (which OIDC
// Core §3.1.3.7 lets a client skip, and which it skips by default). An unknown `kid`
// re-fetches the JWKS (at most once a minute: openid-client's own cooldown), so an OP's
// key rotation is followed; that needs the Configuration kept, hence the cache below.
import {
  allowInsecureRequests,
  authorizationCodeGrant,
  buildAuthorizationUrl,
  calculatePKCECodeChallenge,
  type ClientAuth,
  ClientSecretBasic,
  ClientSecretPost,
  type Configuration,
  discovery,
  enableNonRepudiationChecks,
  fetchUserInfo,
  PrivateKeyJwt,
  randomNonce,
  randomPKCECodeVerifier,
  randomState,
} from 'openid-client';
import type { webcrypto } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import { withTenant } from '../db/tenant-scope.js';
import { connectionById, jwkAlg } from './connections.js';
import type { SsoContext } from './context.js';
import { browserHash, newBrowserBinding, sameBrowser, saveFlow, takeFlow } from './flows.js';
import type { OidcSettings, StoredConnection } from './model.js';
import { SignInRefused } from './refusal.js';
import { safeReturnTo } from './return-to.js';
import { openSecret } from './secrets.js';
import { auditRefusal, finishSignIn, type SignedIn } from './sign-in.js';

/** How long a discovered configuration (and the JWKS it caches) is kept. */
const CONFIG_TTL_MS = 10 * 60_000;
/** Discovery, token and userinfo requests give up after this long. */
const OP_TIMEOUT_S = 10;
const configs = new Map<string, { at: number; config: Promise<Configuration> }>();

async function clientAuth(ctx: SsoContext, conn: StoredConnection): Promise<ClientAuth> {
  const s = conn.settings as OidcSettings;
  const secret = conn.sealedSecret
    ? await openSecret(ctx.secretKey, conn.tenantId, conn.id, conn.sealedSecret)
    : undefined;
  if (s.clientAuth === 'private_key_jwt') {
    const jwk = JSON.parse(secret ?? '{}') as JWK;
    const key = (await importJWK(jwk, jwkAlg(jwk))) as webcrypto.CryptoKey;
    return PrivateKeyJwt(jwk.kid ? { key, kid: jwk.kid } : key);
  }
  return s.clientAuth === 'client_secret_post'
    ? ClientSecretPost(secret)
    : ClientSecretBasic(secret);
}

/** The OP's configuration for a connection: discovered once, kept CONFIG_TTL_MS. */
export function oidcConfiguration(ctx: SsoContext, conn: StoredConnection): Promise<Configuration> {
  // Any change to the connection (settings or secret) makes a new configuration.
  const key = `${conn.id}:${JSON.stringify(conn.settings)}:${conn.sealedSecret}`;
  const now = Date.now();
  const hit = configs.get(key);
  if (hit && now - hit.at < CONFIG_TTL_MS) return hit.config;
  const s = conn.settings as OidcSettings;
  const config = (async () => {
    // Discovery checks that the document's issuer is the one configured (OIDC
    // Discovery §4.3); a mismatch is refused.
    const c = await discovery(
      new URL(s.issuer),
      s.clientId,
      undefined,
      await clientAuth(ctx, conn),
      {
        timeout: OP_TIMEOUT_S,
        ...(ctx.settings.allowInsecureHttp ? { execute: [allowInsecureRequests] } : {}),
      },
    );
    enableNonRepudiationChecks(c);
    return c;
  })();
  configs.set(key, { at: now, config });
  // A failed discovery is not kept: the next sign-in tries again.
  config.catch(() => configs.delete(key));
  for (const [k, v] of configs) if (now - v.at >= CONFIG_TTL_MS) configs.delete(k);
  return config;
}

async function oidcConnection(ctx: SsoContext, connectionId: string): Promise<StoredConnection> {
  const conn = await connectionById(ctx.knex, connectionId);
  if (!conn) throw new SignInRefused('unknown_connection');
  if (conn.type !== 'oidc') throw new SignInRefused('wrong_protocol', undefined, 404);
  return conn;
}

const opFailure = (err: unknown) =>
  new SignInRefused(
    'response_invalid',
    `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`,
  );

/** Begin: where to send the browser, and the cookie that binds the sign-in to it. */
export async function beginOidcSignIn(
  ctx: SsoContext,
  connectionId: string,
  returnTo: unknown,
): Promise<{ redirect: string; flowCookie: string }> {
  const conn = await oidcConnection(ctx, connectionId);
  let config: Configuration;
  try {
    config = await oidcConfiguration(ctx, conn);
  } catch (err) {
    const refusal = new SignInRefused('idp_error', `discovery failed: ${(err as Error).message}`);
    await auditRefusal(ctx, conn, refusal);
    throw refusal;
  }
  const s = conn.settings as OidcSettings;
  const state = randomState();
  const nonce = randomNonce();
  const codeVerifier = randomPKCECodeVerifier();
  const flowCookie = newBrowserBinding();
  await withTenant(ctx.knex, conn.tenantId, (trx) =>
    saveFlow(
      trx,
      conn.tenantId,
      {
        requestId: state,
        connectionId: conn.id,
        browserHash: browserHash(flowCookie),
        codeVerifier,
        nonce,
        returnTo: safeReturnTo(returnTo, ctx.publicUrl()),
      },
      ctx.clock.now(),
    ),
  );
  const url = buildAuthorizationUrl(config, {
    redirect_uri: `${ctx.publicUrl()}/sso/oidc/${conn.id}/callback`,
    response_type: 'code',
    scope: s.scopes.join(' '),
    state,
    nonce,
    code_challenge: await calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  return { redirect: url.href, flowCookie };
}

/** The claim each linkBy reads (OIDC Core §5.1). */
const LINK_CLAIM = { email: 'email', userName: 'preferred_username', externalId: 'sub' } as const;

function linkValueOf(
  conn: StoredConnection,
  claims: Record<string, unknown>,
): string | undefined | false {
  const v = claims[LINK_CLAIM[conn.linkBy]];
  if (typeof v !== 'string' || v.length === 0) return undefined;
  // An address the OP says it has not verified names nobody (OIDC Core §5.7).
  if (conn.linkBy === 'email' && claims.email_verified === false) return false;
  return v;
}

/** Finish: check the OP's answer, link the identity, open a session. */
export async function completeOidcSignIn(
  ctx: SsoContext,
  connectionId: string,
  search: string,
  flowCookie: string | undefined,
  previousSession: string | undefined,
): Promise<SignedIn & { returnTo: string }> {
  const conn = await oidcConnection(ctx, connectionId);
  const currentUrl = new URL(`${ctx.publicUrl()}/sso/oidc/${conn.id}/callback${search}`);
  const params = currentUrl.searchParams;
  const refuse = async (err: SignInRefused, subject?: string): Promise<never> => {
    await auditRefusal(ctx, conn, err, subject);
    throw err;
  };
  const state = params.get('state');
  const flow = state
    ? await withTenant(ctx.knex, conn.tenantId, (trx) =>
        takeFlow(trx, conn.tenantId, conn.id, state, ctx.clock.now()),
      )
    : undefined;
  if (!flow) return refuse(new SignInRefused('flow_unknown', 'no live sign-in has this state'));
  if (!sameBrowser(flow, flowCookie)) {
    return refuse(new SignInRefused('flow_other_browser', 'the browser-binding cookie differs'));
  }
  if (params.has('error')) {
    return refuse(
      new SignInRefused(
        'idp_error',
        `${params.get('error')}: ${params.get('error_description') ?? ''}`,
      ),
    );
  }
  let claims: Record<string, unknown>;
  let config: Configuration;
  let accessToken: string;
  try {
    config = await oidcConfiguration(ctx, conn);
    const tokens = await authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: flow.codeVerifier!,
      expectedState: flow.requestId,
      expectedNonce: flow.nonce!,
      idTokenExpected: true,
    });
    claims = { ...tokens.claims()! };
    accessToken = tokens.access_token;
  } catch (err) {
    return refuse(opFailure(err));
  }
  const sub = String(claims.sub);
  let linkValue = linkValueOf(conn, claims);
  if (linkValue === undefined) {
    // Not in the ID token: ask userinfo, whose `sub` must be the ID token's (OIDC Core §5.3.2).
    try {
      const info = await fetchUserInfo(config, accessToken, sub);
      linkValue = linkValueOf(conn, info as Record<string, unknown>);
    } catch (err) {
      return refuse(opFailure(err), sub);
    }
  }
  if (linkValue === false) {
    return refuse(new SignInRefused('identity_missing', 'email_verified is false'), sub);
  }
  const signedIn = await finishSignIn(
    ctx,
    conn,
    { linkValue, subject: sub, protocol: 'oidc' },
    previousSession,
  );
  return { ...signedIn, returnTo: flow.returnTo };
}
