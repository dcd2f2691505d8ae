import type { Knex } from 'knex';
import { DirectoryHooks } from '../../src/directory/changes.js';
import { createApp, type AppDeps } from '../../src/app.js';
import { createLogger } from '../../src/log/logger.js';
import type { Clock } from '../../src/shared/clock.js';
import type { TokenCache } from '../../src/tenancy/token-cache.js';

export const quietLogger = createLogger({ level: 'error', format: 'json', silent: true });

export function testApp(
  knex: Knex,
  state = { shuttingDown: false },
  opts: {
    hooks?: DirectoryHooks;
    clock?: Clock;
    tokens?: TokenCache;
    publicUrl?: AppDeps['publicUrl'];
    sso?: AppDeps['sso'];
    licenseKeys?: AppDeps['licenseKeys'];
    /** Default: private URLs allowed (receivers on 127.0.0.1), as outside production. */
    webhooks?: AppDeps['webhooks'];
    logger?: AppDeps['logger'];
  } = {},
) {
  return createApp({
    knex,
    logger: opts.logger ?? quietLogger,
    bodyLimit: 1024 * 1024,
    state,
    hooks: opts.hooks ?? new DirectoryHooks(),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.tokens ? { tokens: opts.tokens } : {}),
    ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
    ...(opts.sso ? { sso: opts.sso } : {}),
    ...(opts.licenseKeys ? { licenseKeys: opts.licenseKeys } : {}),
    webhooks: opts.webhooks ?? { allowPrivateUrls: true },
  });
}
