// A request id for every request (the caller's X-Request-Id when it is sane, else a new
// one), echoed in the response and in every log line about the request.
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../log/logger.js';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const id = incoming && SANE_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = id;
    res.set('X-Request-Id', id);
    // Building and filtering a log record costs more than the rest of this middleware:
    // skip it when the level is off (production runs at info or warn).
    if (!logger.isLevelEnabled('http')) return next();
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      // Paths only, never query strings: a token pasted into a URL must not reach the log.
      logger.http('request', {
        requestId: id,
        method: req.method,
        path: req.originalUrl.split('?')[0],
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - start) / 1e6,
      });
    });
    next();
  };
}
