import type { Knex } from 'knex';
import { createApp } from '../../src/http/app.js';
import { createLogger } from '../../src/log/logger.js';

export const quietLogger = createLogger({ level: 'error', format: 'json', silent: true });

export function testApp(knex: Knex, state = { shuttingDown: false }) {
  return createApp({ knex, logger: quietLogger, bodyLimit: 1024 * 1024, state });
}
