// A request id for every request (the caller's X-Request-Id when it is sane, else a new
// one), echoed in the response and in every log line about the request; and the access
// log: one line at `info` when the response ends (issue 16).
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../log/logger.js';
import { routeOf } from './route-of.js';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const id = incoming && SANE_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = id;
    res.set('X-Request-Id', id);
    // Building and filtering a log record costs more than the rest of this middleware:
    // skip it when the level is off (LOG_LEVEL=warn).
    if (!logger.isLevelEnabled('info')) return next();
    const start = process.hrtime.bigint();
    // 'close', not 'finish': a request whose client went away (a long export) is logged too.
    res.on('close', () => {
      // The route pattern, never the raw path or its query string: paths hold ids and
      // query strings hold filters on people (?subject=) or a token pasted by mistake.
      // No header is logged, so no Authorization or cookie either.
      const tenantId = (res.locals.principal as { tenantId?: string } | undefined)?.tenantId;
      logger.info('request', {
        requestId: id,
        method: req.method,
        route: routeOf(req),
        status: res.statusCode,
        ms: Math.round((Number(process.hrtime.bigint() - start) / 1e6) * 10) / 10,
        ...(tenantId ? { tenantId } : {}),
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
    next();
  };
}
