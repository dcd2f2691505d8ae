// The SCIM error response (RFC 7644 §3.12): the Error message schema, `status` as a
// string, and a `scimType` for the 400/409/413 cases the RFC names. Every error on
// /scim/v2 goes through here, so clients never see problem+json or a stack trace.
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../log/logger.js';
import { AppError } from '../shared/errors.js';
import { toAppError } from '../http/index.js';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'
  // RFC 9865 §4 (cursor pagination)
  | 'invalidCursor'
  | 'expiredCursor';

/** An error with a SCIM scimType. */
export function scimError(
  status: number,
  scimType: ScimType | undefined,
  message: string,
  code = scimType ?? 'scim_error',
): AppError {
  return new AppError(code, message, { status, detail: scimType ? { scimType } : {} });
}

// Errors raised elsewhere (filters, body parser, tokens) keep their code; SCIM needs a scimType.
const SCIM_TYPE_BY_CODE: Record<string, ScimType> = {
  invalid_filter: 'invalidFilter',
  invalid_sort: 'invalidValue',
  invalid_json: 'invalidSyntax',
  invalid_input: 'invalidValue',
  uniqueness: 'uniqueness',
};

export function scimErrorBody(err: AppError) {
  const scimType = (err.detail?.scimType as ScimType | undefined) ?? SCIM_TYPE_BY_CODE[err.code];
  return {
    schemas: [ERROR_SCHEMA],
    status: String(err.status),
    ...(scimType && err.status < 500 ? { scimType } : {}),
    detail: err.expose ? err.message : 'Internal server error',
  };
}

export function scimErrorHandler(logger: Logger): ErrorRequestHandler {
  return (raw, req, res, _next) => {
    const err = toAppError(raw);
    if (err.status >= 500) {
      logger.error('SCIM request failed', {
        requestId: res.locals.requestId,
        method: req.method,
        path: req.originalUrl.split('?')[0],
        error: err.cause ?? raw,
      });
    }
    if (res.headersSent) return void res.destroy();
    res
      .status(err.status)
      .set(err.headers)
      .type('application/scim+json')
      .send(JSON.stringify(scimErrorBody(err)));
  };
}
