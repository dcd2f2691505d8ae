// Configuration is read once, at boot: config/default.json, then config/<NODE_ENV>.json,
// then environment variables (same names) on top. The merged result is validated with
// zod and a bad value stops the process with a message naming the key. There are no
// default secrets: keys are generated into the data directory or supplied by file.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CONFIG_DIR = path.join(PROJECT_ROOT, 'config');

const boolean = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(s)) return true;
    if (['false', '0', 'no', 'off'].includes(s)) return false;
    return v;
  },
  z.boolean({ error: 'must be true or false' }),
);

const int = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const nonEmpty = z.string().trim().min(1, { error: 'must not be empty' });

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], {
    error: 'must be one of development, production, test',
  }),
  PORT: int(0, 65535),
  HOST: nonEmpty,
  DATA_DIR: nonEmpty,
  DATABASE_URL: z
    .string()
    .trim()
    .regex(/^postgres(ql)?:\/\//, { error: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'], {
    error: 'must be one of error, warn, info, http, verbose, debug, silly',
  }),
  LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'must be json or pretty' }).optional(),
  DB_POOL_MAX: int(1, 200),
  EMBEDDED_MAX_CONNECTIONS: int(4, 200),
  BODY_LIMIT_BYTES: int(1024, 100 * 1024 * 1024),
  JOBS_ENABLED: boolean,
  JOBS_POLL_INTERVAL_MS: int(10, 3_600_000),
  JOBS_LOCK_LIFETIME_MS: int(1000, 86_400_000),
  AUDIT_CHECKPOINT_INTERVAL_MS: int(1000, 86_400_000),
  AUDIT_CHECKPOINT_EVERY_EVENTS: int(1, 10_000_000),
  AUDIT_SETTLE_INTERVAL_MS: int(10, 60_000),
  TOKEN_CACHE_TTL_MS: int(0, 60_000),
  AUDIT_SIGNING_KEY_FILE: nonEmpty.optional(),
  AUDIT_MAC_KEY_FILE: nonEmpty.optional(),
  RECONCILE_INTERVAL_MS: int(10_000, 604_800_000),
  // Issue 14: license-expiry-alerts, subscription-renewal and trial-expiry share one.
  LICENSE_JOBS_INTERVAL_MS: int(10_000, 604_800_000),
  COMPLIANCE_SCAN_INTERVAL_MS: int(10_000, 604_800_000),
  AUDIT_RETENTION_INTERVAL_MS: int(10_000, 604_800_000),
  SHUTDOWN_TIMEOUT_MS: int(100, 300_000),
  DATA_DIR_LOCK_WAIT_MS: int(0, 600_000),
  BOOTSTRAP_TENANT_NAME: nonEmpty.max(200),
  // The service's public origin (and path prefix) for absolute URLs it writes: SCIM
  // meta.location and $ref, the OpenAPI `servers`. Never taken from Host or X-Forwarded-*.
  PUBLIC_URL: z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          const u = new URL(v);
          return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash;
        } catch {
          return false;
        }
      },
      { error: 'must be an http:// or https:// URL without query or fragment' },
    )
    .optional(),
  // express' `trust proxy`: unset trusts no proxy (X-Forwarded-* ignored).
  TRUST_PROXY: nonEmpty.optional(),
  // When set, /metrics wants `Authorization: Bearer <METRICS_TOKEN>`.
  METRICS_TOKEN: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  AUTH_FAILURE_LIMIT_PER_MINUTE: int(0, 1_000_000),
  // Email to people whose seats are at risk (issue 14): off while SMTP_URL is unset.
  SMTP_URL: z
    .string()
    .trim()
    .regex(/^smtps?:\/\//, { error: 'must be an smtp:// or smtps:// URL' })
    .optional(),
  MAIL_FROM: nonEmpty.max(300),
  EMAIL_DELIVERY_INTERVAL_MS: int(100, 3_600_000),
  DATABASE_CONNECT_TIMEOUT_MS: int(0, 3_600_000),
  // Single sign-on (issue 15): plain-http identity providers only when asked (demos,
  // tests); session lifetimes; clock skew accepted on assertions and tokens; the key
  // sealing connection secrets.
  SSO_ALLOW_INSECURE_HTTP: boolean,
  SSO_SESSION_IDLE_MS: int(60_000, 30 * 86_400_000),
  SSO_SESSION_ABSOLUTE_MS: int(60_000, 90 * 86_400_000),
  SSO_CLOCK_SKEW_MS: int(0, 600_000),
  SSO_SECRET_KEY_FILE: nonEmpty.optional(),
  // Webhooks (issue 14): http and private, loopback or link-local receivers allowed?
  // Unset: no in production (SSRF), yes otherwise (a receiver on localhost).
  WEBHOOK_ALLOW_PRIVATE_URLS: boolean.optional(),
  WEBHOOK_DELIVERY_INTERVAL_MS: int(100, 60_000),
  // OAuth 2.0 access tokens' signing keys (Ed25519 JWKs, newest first).
  OAUTH_SIGNING_KEY_FILE: nonEmpty.optional(),
  // Signed licence keys (issue 18): the key sealing the tenants' private signing keys
  // (32 bytes, base64), or the file holding it; and validations a minute per licence key.
  KEY_ENCRYPTION_KEY: z
    .string()
    .trim()
    .refine((v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32, {
      error: 'must be 32 bytes, base64 (openssl rand -base64 32)',
    })
    .optional(),
  KEY_ENCRYPTION_KEY_FILE: nonEmpty.optional(),
  KEY_VALIDATIONS_PER_MINUTE: int(1, 1_000_000),
  // Machines and leases: requests a minute per licence key (kept apart from validations,
  // so a pool's clients checking out at once are never refused), a lease's lifetime
  // without a heartbeat, and how often lease-cull runs.
  KEY_LEASE_REQUESTS_PER_MINUTE: int(1, 1_000_000),
  LEASE_TTL_SECONDS: int(30, 7 * 86_400),
  LEASE_CULL_INTERVAL_MS: int(1_000, 86_400_000),
});

const SECRET_KEYS = new Set(['DATABASE_URL', 'METRICS_TOKEN', 'SMTP_URL', 'KEY_ENCRYPTION_KEY']);

type Parsed = z.infer<typeof schema>;

export interface Config extends Omit<
  Parsed,
  | 'LOG_FORMAT'
  | 'AUDIT_SIGNING_KEY_FILE'
  | 'AUDIT_MAC_KEY_FILE'
  | 'TRUST_PROXY'
  | 'PUBLIC_URL'
  | 'SSO_SECRET_KEY_FILE'
  | 'OAUTH_SIGNING_KEY_FILE'
  | 'KEY_ENCRYPTION_KEY_FILE'
  | 'WEBHOOK_ALLOW_PRIVATE_URLS'
> {
  LOG_FORMAT: 'json' | 'pretty';
  /** express' `trust proxy` value: false, true, a hop count, or addresses/subnets. */
  TRUST_PROXY: boolean | number | string;
  /** The public origin without a trailing slash, or undefined: the listening origin. */
  PUBLIC_URL: string | undefined;
  /** Absolute path of the Ed25519 key that signs audit checkpoints (kept outside the database). */
  AUDIT_SIGNING_KEY_FILE: string;
  /** Absolute path of the HMAC key every audit event carries a MAC of (kept outside the database). */
  AUDIT_MAC_KEY_FILE: string;
  /** Absolute path of the key sealing SSO connection secrets (kept outside the database). */
  SSO_SECRET_KEY_FILE: string;
  /** Absolute path of the JWKs that sign OAuth 2.0 access tokens (kept outside the database). */
  OAUTH_SIGNING_KEY_FILE: string;
  /** Absolute path of KEY_ENCRYPTION_KEY's file, read when the variable is not set. */
  KEY_ENCRYPTION_KEY_FILE: string;
  /** Webhooks to http and private addresses allowed (default: not in production). */
  WEBHOOK_ALLOW_PRIVATE_URLS: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function readJson(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([`${path.relative(PROJECT_ROOT, file)}: ${(err as Error).message}`]);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const nodeEnv = env.NODE_ENV ?? 'development';
  const merged: Record<string, unknown> = {
    ...readJson(path.join(CONFIG_DIR, 'default.json')),
    ...(/^[a-z]+$/.test(nodeEnv) ? readJson(path.join(CONFIG_DIR, `${nodeEnv}.json`)) : {}),
    NODE_ENV: nodeEnv,
  };
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    // An empty variable means "not set": `DATABASE_URL= npm start` selects the embedded database.
    if (value !== undefined && value !== '') merged[key] = value;
  }
  const result = schema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = issue.path.join('.') || '(root)';
        // Never echo a value that may carry a password.
        const got = SECRET_KEYS.has(key) ? undefined : merged[key];
        return `${key}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
      }),
    );
  }
  const parsed = result.data;
  const dataDir = path.resolve(parsed.DATA_DIR);
  return {
    ...parsed,
    DATA_DIR: dataDir,
    TRUST_PROXY: trustProxy(parsed.TRUST_PROXY),
    PUBLIC_URL: parsed.PUBLIC_URL?.replace(/\/+$/, ''),
    LOG_FORMAT: parsed.LOG_FORMAT ?? (parsed.NODE_ENV === 'production' ? 'json' : 'pretty'),
    WEBHOOK_ALLOW_PRIVATE_URLS:
      parsed.WEBHOOK_ALLOW_PRIVATE_URLS ?? parsed.NODE_ENV !== 'production',
    AUDIT_SIGNING_KEY_FILE: path.resolve(
      parsed.AUDIT_SIGNING_KEY_FILE ?? path.join(dataDir, 'keys', 'audit-signing-key.pem'),
    ),
    AUDIT_MAC_KEY_FILE: path.resolve(
      parsed.AUDIT_MAC_KEY_FILE ?? path.join(dataDir, 'keys', 'audit-mac.key'),
    ),
    SSO_SECRET_KEY_FILE: path.resolve(
      parsed.SSO_SECRET_KEY_FILE ?? path.join(dataDir, 'keys', 'sso-secrets.key'),
    ),
    OAUTH_SIGNING_KEY_FILE: path.resolve(
      parsed.OAUTH_SIGNING_KEY_FILE ?? path.join(dataDir, 'keys', 'oauth-signing-keys.json'),
    ),
    KEY_ENCRYPTION_KEY_FILE: path.resolve(
      parsed.KEY_ENCRYPTION_KEY_FILE ?? path.join(dataDir, 'keys', 'key-encryption.key'),
    ),
  };
}

/** TRUST_PROXY as express takes it: true/false, a hop count, or a list of addresses. */
function trustProxy(v: string | undefined): boolean | number | string {
  if (v === undefined) return false;
  const s = v.trim().toLowerCase();
  if (['true', 'yes', 'on'].includes(s)) return true;
  if (['false', 'no', 'off', '0'].includes(s)) return false;
  if (/^\d+$/.test(s)) return Number(s);
  return v.trim();
}
