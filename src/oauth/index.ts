// OAuth 2.0 for integrations (issue 15): client-credentials clients per tenant, the
// token endpoint's grant, JWT access tokens and their signing keys. Knows nothing of
// HTTP: src/api serves /oauth/token, /.well-known/jwks.json and /api/v1/oauth/clients;
// src/http accepts the tokens beside the opaque ones.
export {
  createClient,
  CreatedOAuthClientRecord,
  listClients,
  OAUTH_SCOPES,
  OAuthClientInput,
  OAuthClientListRecord,
  OAuthClientRecord,
  revokeClient,
  type OAuthScope,
} from './clients.js';
export { MAX_KEYS, SigningKeys } from './keys.js';
export {
  issueToken,
  looksLikeJwt,
  OAuthError,
  TOKEN_TTL_S,
  verifyAccessToken,
  type TokenContext,
  type TokenRequest,
  type VerifiedAccessToken,
} from './token.js';
