// A request body read as a stream, for bodies a handler parses as they arrive (the CSV
// import). The same limit as every other body, BODY_LIMIT_BYTES, is enforced by the
// declared length and again by the bytes that actually arrive.
import type { Request } from 'express';
import { AppError } from '../shared/errors.js';

const tooLarge = (limit: number) =>
  new AppError('payload_too_large', `the body is larger than ${limit} bytes (BODY_LIMIT_BYTES)`, {
    status: 413,
  });

/**
 * Refuse a text body that is not plain UTF-8 (the media type itself is checked for
 * every write by src/http/media-type.ts), before reading anything.
 */
export function requireUtf8Body(req: Request): void {
  const encoding = (req.get('content-encoding') ?? 'identity').toLowerCase();
  const charset = /;\s*charset="?([^";\s]+)/i.exec(req.get('content-type') ?? '')?.[1];
  if (encoding !== 'identity' || (charset && !/^utf-?8$/i.test(charset))) {
    throw new AppError('unsupported_encoding', 'send the body as UTF-8, without content coding', {
      status: 415,
    });
  }
}

export async function* boundedBody(req: Request, limit: number): AsyncGenerator<Buffer> {
  if (Number(req.get('content-length')) > limit) throw tooLarge(limit);
  let seen = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > limit) throw tooLarge(limit);
    yield chunk;
  }
}
