// Write requests must say what they send (issue 12): a POST, PUT or PATCH that carries a
// body in anything but the door's JSON types is refused with 415 before any handler
// runs, so nothing is written. Before this, a `text/plain` PATCH reached the handler
// with no parsed body, passed validation as an empty change and bumped `updatedAt`.
// Requests without a body (no Content-Length or Content-Length: 0, no
// Transfer-Encoding) are left alone: DELETE, GET, and body-less POST actions.
import type { Request, RequestHandler } from 'express';
import { AppError } from '../shared/errors.js';

const WRITES = new Set(['POST', 'PUT', 'PATCH']);

/** true when the request carries a body of at least one byte (or a chunked one). */
export function carriesBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(req.headers['content-length']);
  return Number.isFinite(length) && length > 0;
}

export function unsupportedMediaType(accepted: readonly string[], method?: string): AppError {
  return new AppError('unsupported_media_type', `send the body as ${accepted.join(' or ')}`, {
    status: 415,
    // RFC 5789 §2.2: a 415 to a PATCH says which patch documents are accepted.
    headers: method === 'PATCH' ? { 'Accept-Patch': accepted.join(', ') } : {},
  });
}

/**
 * Refuse a write whose body is not one of `types` (type-is patterns, parameters such as
 * charset allowed). `also` lets a single route take another type (the CSV import).
 */
export function requireMediaType(
  types: readonly string[],
  also: (req: Request) => readonly string[] = () => [],
): RequestHandler {
  return (req, _res, next) => {
    if (!WRITES.has(req.method) || !carriesBody(req)) return next();
    const accepted = [...types, ...also(req)];
    if (req.is(accepted)) return next();
    next(unsupportedMediaType(accepted, req.method));
  };
}
