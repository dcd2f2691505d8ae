// `npm start`: load the configuration, start the service, stop cleanly on SIGTERM/SIGINT.
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { keepRunningOnUnhandledRejections } from './log/faults.js';
import { createLogger } from './log/logger.js';
import { startService } from './service.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT });
keepRunningOnUnhandledRejections(logger);

try {
  const service = await startService(config, { logger });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    // A hard deadline: whatever hangs, the process is gone within the timeout.
    setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 2000).unref();
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Under `npm start` the service must not outlive npm (issue 12). npm forwards SIGTERM
  // and SIGINT to its child, and the start script `exec`s node so that the child is this
  // process (a `sh -c` between them died on SIGTERM without passing it on, leaving the
  // service serving as an orphan holding the data-directory lock). Should npm itself be
  // killed outright (SIGKILL), nothing is forwarded: notice the new parent and stop.
  if (process.env.npm_lifecycle_event === 'start') {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop('parent exited');
    }, 500).unref();
  }
} catch (err) {
  // A configuration only the database can judge (KEY_ENCRYPTION_KEY against the stored
  // signing keys) is still a configuration error.
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78); // EX_CONFIG
  }
  logger.error('seatkeeper failed to start', { error: err instanceof Error ? err.message : err });
  await new Promise((r) => setTimeout(r, 50));
  process.exit(1);
}
