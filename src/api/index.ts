// The admin REST API (/api/v1), described by its OpenAPI document.
export { apiRouter } from './router.js';
export { oauthRouter } from './oauth-routes.js';
export { jwksRoutes } from './keys-routes.js';
