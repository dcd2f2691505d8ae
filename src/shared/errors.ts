// One error model for the whole service. Callers switch on `code`, never on message
// text; each protocol (problem+json here, the SCIM error schema on /scim/v2) has one
// renderer that turns an AppError into its own shape. `expose` says whether `message`
// may be shown to the client; when false the client sees only a generic text.
export interface AppErrorOptions {
  status?: number;
  expose?: boolean;
  detail?: Record<string, unknown>;
  cause?: unknown;
  headers?: Record<string, string>;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
  readonly detail: Record<string, unknown> | undefined;
  readonly headers: Record<string, string>;

  constructor(code: string, message: string, opts: AppErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = opts.status ?? 500;
    this.expose = opts.expose ?? this.status < 500;
    this.detail = opts.detail;
    this.headers = opts.headers ?? {};
  }
}

export const notFound = (what: string) =>
  new AppError('not_found', `${what} not found`, { status: 404 });

export const invalidInput = (message: string, detail?: Record<string, unknown>) =>
  new AppError('invalid_input', message, { status: 400, ...(detail ? { detail } : {}) });

export const conflict = (message: string) => new AppError('conflict', message, { status: 409 });
