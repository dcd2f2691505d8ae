// What every SSO operation needs: the database, the time, where the service is reached
// (PUBLIC_URL: redirect URIs, ACS URLs, same-origin checks), the key that seals stored
// secrets, and the policy knobs (plain-http IdPs, session lifetimes, clock skew).
import type { Knex } from 'knex';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../log/logger.js';

export interface SsoSettings {
  /** SSO_ALLOW_INSECURE_HTTP: plain-http IdPs (local demos, tests). Default false. */
  allowInsecureHttp: boolean;
  /** A session unused this long ends (SSO_SESSION_IDLE_MS). */
  sessionIdleMs: number;
  /** A session ends this long after sign-in, used or not (SSO_SESSION_ABSOLUTE_MS). */
  sessionAbsoluteMs: number;
  /** Clock skew accepted on SAML NotBefore/NotOnOrAfter and OIDC iat/exp (SSO_CLOCK_SKEW_MS). */
  clockSkewMs: number;
}

export const DEFAULT_SSO_SETTINGS: SsoSettings = {
  allowInsecureHttp: false,
  sessionIdleMs: 8 * 3600_000,
  sessionAbsoluteMs: 24 * 3600_000,
  clockSkewMs: 60_000,
};

export interface SsoContext {
  knex: Knex;
  clock: Clock;
  logger: Logger;
  /** The public origin and path prefix, without a trailing slash. */
  publicUrl: () => string;
  /** 32 bytes: seals client secrets and private keys at rest (src/sso/secrets.ts). */
  secretKey: Uint8Array;
  settings: SsoSettings;
}
