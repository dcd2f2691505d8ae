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
} catch (err) {
  logger.error('seatkeeper failed to start', { error: err instanceof Error ? err.message : err });
  await new Promise((r) => setTimeout(r, 50));
  process.exit(1);
}
