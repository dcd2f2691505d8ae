// The token endpoint's grant (RFC 6749 §4.4, client credentials) and the tokens it
// issues: JWT access tokens (RFC 9068: typ at+jwt, iss, aud, sub = client_id, exp,
// iat, jti, scope) with `tid` naming the tenant, signed EdDSA by jose, living at most
// TOKEN_TTL_S. Errors are RFC 6749 §5.2's. Verification (for /api/v1 and /scim/v2)
// checks signature, typ, iss, aud and exp, then that the client is still active.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { jwtVerify, SignJWT } from 'jose';
import { AppError } from '../shared/errors.js';
import type { Clock } from '../shared/clock.js';
import { authenticateClient, clientActive, OAUTH_SCOPES, type OAuthScope } from './clients.js';
import { SIGNING_ALG, type SigningKeys } from './keys.js';

/** Access tokens live this long (issue 15: at most 15 minutes). */
export const TOKEN_TTL_S = 600;
const TYP = 'at+jwt';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unauthorized_client';

/** An RFC 6749 §5.2 error: its `error` code, a description, and the HTTP status. */
export class OAuthError extends AppError {
  constructor(
    readonly error: OAuthErrorCode,
    description: string,
    /** invalid_client presented with HTTP Basic: 401 with a challenge (§5.2). */
    basic = false,
  ) {
    super(error, description, {
      status: error === 'invalid_client' && basic ? 401 : 400,
      expose: true,
      headers:
        error === 'invalid_client' && basic
          ? { 'WWW-Authenticate': 'Basic realm="seatkeeper"' }
          : {},
    });
  }
}

export interface TokenRequest {
  grantType: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  scope: string | undefined;
  /** The client authenticated with HTTP Basic (RFC 6749 §2.3.1). */
  basic: boolean;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

export interface TokenContext {
  knex: Knex;
  keys: SigningKeys;
  /** iss and aud: the service's public URL. */
  issuer: () => string;
  clock: Clock;
}

export async function issueToken(ctx: TokenContext, req: TokenRequest): Promise<TokenResponse> {
  if (req.grantType !== 'client_credentials') {
    throw new OAuthError(
      req.grantType ? 'unsupported_grant_type' : 'invalid_request',
      req.grantType ? `grant_type ${req.grantType} is not supported` : 'grant_type is required',
    );
  }
  if (!req.clientId || !req.clientSecret) {
    throw new OAuthError('invalid_client', 'client authentication is required', req.basic);
  }
  const client = await authenticateClient(ctx.knex, req.clientId, req.clientSecret);
  if (!client || client.revoked) {
    throw new OAuthError('invalid_client', 'unknown client, wrong secret, or revoked', req.basic);
  }
  // §3.3: the scope asked for, a subset of the client's; none asked, all of them.
  const asked = req.scope === undefined ? client.scopes : req.scope.split(' ').filter(Boolean);
  const unknown = asked.filter((s) => !(OAUTH_SCOPES as readonly string[]).includes(s));
  if (unknown.length) throw new OAuthError('invalid_scope', `unknown scope ${unknown.join(' ')}`);
  const refused = asked.filter((s) => !client.scopes.includes(s as OAuthScope));
  if (refused.length) {
    throw new OAuthError('invalid_scope', `this client may not ask for ${refused.join(' ')}`);
  }
  const scope = [...new Set(asked)].join(' ');
  const now = Math.floor(ctx.clock.now().getTime() / 1000);
  const { kid, key } = await ctx.keys.signingKey();
  const token = await new SignJWT({ tid: client.tenantId, scope, client_id: client.clientId })
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: TYP })
    .setIssuer(ctx.issuer())
    .setAudience(ctx.issuer())
    .setSubject(client.clientId)
    .setIssuedAt(now)
    .setExpirationTime(now + TOKEN_TTL_S)
    .setJti(randomUUID())
    .sign(key);
  return { access_token: token, token_type: 'Bearer', expires_in: TOKEN_TTL_S, scope };
}

export interface VerifiedAccessToken {
  tenantId: string;
  clientId: string;
  scopes: OAuthScope[];
}

/** Whether a bearer token looks like a JWT (three base64url parts) rather than an sk_ token. */
export const looksLikeJwt = (raw: string) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(raw);

/** The token's tenant, client and scopes; null when it is not one this service issued and still honours. */
export async function verifyAccessToken(
  ctx: TokenContext,
  raw: string,
): Promise<VerifiedAccessToken | null> {
  let payload;
  try {
    ({ payload } = await jwtVerify(raw, ctx.keys.verifyKey, {
      algorithms: [SIGNING_ALG],
      typ: TYP,
      issuer: ctx.issuer(),
      audience: ctx.issuer(),
      currentDate: ctx.clock.now(),
      maxTokenAge: TOKEN_TTL_S + 60,
      requiredClaims: ['exp', 'iat', 'sub', 'jti'],
    }));
  } catch {
    return null;
  }
  const tenantId = payload.tid;
  const clientId = payload.sub;
  if (typeof tenantId !== 'string' || typeof clientId !== 'string') return null;
  if (typeof payload.scope !== 'string') return null;
  if (!(await clientActive(ctx.knex, tenantId, clientId))) return null;
  const scopes = payload.scope
    .split(' ')
    .filter((s): s is OAuthScope => (OAUTH_SCOPES as readonly string[]).includes(s));
  return { tenantId, clientId, scopes };
}
