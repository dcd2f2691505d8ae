// The first start: a tenant and its tokens, printed once.
export { ensureFirstTenant, firstTenantBanner } from './first-tenant.js';
