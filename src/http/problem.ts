// RFC 9457 problem details: the error format of /api/v1 and of everything that is not
// SCIM. Unknown errors become a bare 500 whose detail never reveals internals.
import type { ErrorRequestHandler } from 'express';
import { z, ZodError } from 'zod';
import { AppError } from '../shared/errors.js';
import type { Logger } from '../log/logger.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * A zod issue as `errors` entries. An unknown key is named by its own path, one entry a
 * key (issue 16: zod reports them on the object that holds them, so a script was told
 * "" rather than which key to drop).
 */
function issueErrors(i: z.core.$ZodIssue): Array<{ path: string; message: string }> {
  if (i.code === 'unrecognized_keys')
    return i.keys.map((k) => ({ path: [...i.path, k].join('.'), message: `unknown key "${k}"` }));
  return [{ path: i.path.join('.'), message: i.message }];
}

/** Map errors thrown by express' body parser, zod and friends onto the AppError model. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) {
    return new AppError('invalid_input', 'the request is not valid', {
      status: 400,
      detail: { errors: err.issues.flatMap(issueErrors) },
    });
  }
  const e = err as {
    type?: string;
    status?: number;
    statusCode?: number;
    message?: string;
    expose?: boolean;
  };
  const status = e.status ?? e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code =
      e.type === 'entity.too.large'
        ? 'payload_too_large'
        : e.type === 'entity.parse.failed'
          ? 'invalid_json'
          : e.type === 'encoding.unsupported' || e.type === 'charset.unsupported'
            ? 'unsupported_encoding'
            : 'bad_request';
    return new AppError(
      code,
      e.expose === false ? (TITLES[status] ?? 'Bad request') : (e.message ?? 'Bad request'),
      { status },
    );
  }
  return new AppError('internal', 'Internal Server Error', {
    status: 500,
    expose: false,
    cause: err,
  });
}

/**
 * The body problemBody writes, for the OpenAPI document. Loose: RFC 9457 lets a problem
 * carry extension members; `errors` lists each bad field (path) or CSV line (line).
 */
export const ProblemRecord = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int().min(400).max(599),
  detail: z.string(),
  code: z.string(),
  instance: z.string().optional(),
  errors: z
    .array(
      z.object({
        path: z.string().optional(),
        line: z.number().int().min(0).optional(),
        message: z.string(),
      }),
    )
    .optional(),
});

export function problemBody(err: AppError, instance?: string) {
  return {
    type: `https://seatkeeper.dev/problems/${err.code.replace(/_/g, '-')}`,
    title: TITLES[err.status] ?? 'Error',
    status: err.status,
    detail: err.expose ? err.message : (TITLES[err.status] ?? 'Error'),
    code: err.code,
    ...(instance ? { instance } : {}),
    ...(err.expose && err.detail ? err.detail : {}),
  };
}

export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (raw, req, res, _next) => {
    const err = toAppError(raw);
    const requestId = res.locals.requestId as string | undefined;
    if (err.status >= 500) {
      logger.error('request failed', {
        requestId,
        method: req.method,
        path: req.path,
        error: err.cause ?? raw,
      });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(err.status).set(err.headers).type('application/problem+json');
    res.send(
      JSON.stringify(
        problemBody(err, requestId ? `urn:seatkeeper:request:${requestId}` : undefined),
      ),
    );
  };
}
