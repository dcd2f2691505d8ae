// Single sign-on (issue 15): SSO connections per tenant, the OpenID Connect relying
// party, the SAML service provider, and the sessions a sign-in opens. Knows nothing of
// HTTP: the browser door (src/web) and the admin API (src/api) adapt it.
export { DEFAULT_SSO_SETTINGS, type SsoContext, type SsoSettings } from './context.js';
export {
  connectionById,
  connectionsForEmail,
  createConnection,
  deleteConnection,
  getConnection,
  listConnections,
  updateConnection,
  type ConnectionScope,
} from './connections.js';
export { FLOW_COOKIE, FLOW_TTL_MS } from './flows.js';
export {
  ConnectionInput,
  ConnectionListRecord,
  ConnectionPatch,
  ConnectionRecord,
  type StoredConnection,
} from './model.js';
export { beginOidcSignIn, completeOidcSignIn } from './oidc.js';
export {
  beginSamlSignIn,
  completeSamlSignIn,
  MAX_SAML_RESPONSE_BYTES,
  samlMetadata,
} from './saml.js';
export { REFUSAL_REASONS, SignInRefused, type RefusalReason } from './refusal.js';
export { DEFAULT_RETURN_TO, safeReturnTo } from './return-to.js';
export { loadSsoSecretKey, SECRET_KEY_BYTES } from './secrets.js';
export {
  csrfTokenMatches,
  revokeSession,
  SESSION_COOKIE,
  sessionFromCookie,
  type Session,
} from './sessions.js';
export type { SignedIn } from './sign-in.js';
