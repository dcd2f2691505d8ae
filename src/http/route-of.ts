// The route pattern a request matched (`/api/v1/licenses/:id`), not its raw path: for
// metrics labels (ids would explode their cardinality) and access logs (ids and query
// strings may be personal data). Read when the response finishes, while express still
// holds the matched route and its mount point.
import type { Request } from 'express';

export const UNMATCHED = 'unmatched';

export const routeOf = (req: Request): string =>
  req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : UNMATCHED;
