// The route pattern a request matched (`/api/v1/licenses/:id`), not its raw path: for
// metrics labels (ids would explode their cardinality) and access logs (ids and query
// strings may be personal data). Read when the response ends, while express still holds
// the matched route and its mount point. A request no route took (refused by a door's
// authentication, or unknown to it) is named by its door (`/api/v1/*`); one no door
// took is `unmatched`. Either way the set of values is fixed.
import type { Request } from 'express';

export const UNMATCHED = 'unmatched';

export function routeOf(req: Request): string {
  if (req.route?.path) return `${req.baseUrl}${String(req.route.path)}`;
  return req.baseUrl ? `${req.baseUrl}/*` : UNMATCHED;
}
