// Tenants and their tokens: the public surface.
export {
  AuthError,
  TenantRecord,
  authenticate,
  createTenant,
  createToken,
  getTenant,
  listTenants,
  listTokens,
  reclaimDefaultsOf,
  TenantPatch,
  updateTenant,
  type ReclaimDefaults,
  revokeToken,
  type CreatedTenant,
  type Principal,
} from './service.js';
export { TokenCache } from './token-cache.js';
export { parseToken, type Scope } from './tokens.js';
