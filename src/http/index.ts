// HTTP plumbing shared by the doors (src/scim, src/api) and composed in src/app.ts: error
// rendering, body and media-type checks, bearer tokens, rate limits, health, metrics.
// Nothing here knows a door.
export { authFailureGuard, type AuthFailureGuard } from './auth-failures.js';
export { boundedBody, requireUtf8Body } from './bounded-body.js';
export { cookieOf, cookieOptions } from './cookies.js';
export { healthRoutes } from './health.js';
export { requireMediaType, unsupportedMediaType } from './media-type.js';
export { createMetrics, metricsAuth } from './metrics.js';
export { ProblemRecord, problemHandler, toAppError } from './problem.js';
export { requestContext } from './request-context.js';
export { principalOf, requireToken, type AccessTokenVerifier } from './require-token.js';
export { refuseUnsafeText } from './safe-text.js';
