// Structured logs: JSON lines in production, readable lines in development. Secrets
// never reach a log: any field whose name looks like a credential is replaced before
// formatting, however deep it sits.
import winston from 'winston';

export type Logger = winston.Logger;

const SECRET_FIELD = /token|secret|password|authorization|cookie|signature|private/i;

function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error)
    return { name: value.name, message: value.message, stack: value.stack };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_FIELD.test(k) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message') continue;
    info[key] = SECRET_FIELD.test(key) ? '[redacted]' : redact(info[key]);
  }
  return info;
});

export function createLogger(opts: {
  level: string;
  format: 'json' | 'pretty';
  silent?: boolean;
}): Logger {
  const format =
    opts.format === 'json'
      ? winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json())
      : winston.format.combine(
          redactFormat(),
          winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
          winston.format.colorize(),
          winston.format.printf(({ level, message, timestamp, ...rest }) => {
            const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
            return `${String(timestamp)} ${level} ${String(message)}${extra}`;
          }),
        );
  // Logs go to stderr so that stdout stays for what a person or a script asked for
  // (the first tenant's tokens, CLI output).
  return winston.createLogger({
    level: opts.level,
    format,
    silent: opts.silent ?? false,
    transports: [
      new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) }),
    ],
  });
}
