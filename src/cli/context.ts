// What every CLI command needs: the configuration, a quiet logger, and the database
// (the running service's socket on the embedded database, or the directory itself
// when no service holds it).
import os from 'node:os';
import { type Actor, loadMacKey, useAuditMacKey } from '../audit/index.js';
import { loadConfig, type Config } from '../config/index.js';
import { openDatabase, type Database } from '../db/database.js';
import { migrationStatus } from '../db/migrate.js';
import { createLogger, type Logger } from '../log/logger.js';
import { AppError } from '../shared/errors.js';

export interface CliContext {
  config: Config;
  logger: Logger;
  db: Database;
  actor: Actor;
}

export async function withDatabase<T>(
  fn: (ctx: CliContext) => Promise<T>,
  opts: { requireCurrentSchema?: boolean; as?: 'app' | 'owner' } = {},
): Promise<T> {
  const config = loadConfig();
  // Every command but `migrate` serves as seatkeeper_app, as the service does, and MACs
  // the audit events it writes with the same key.
  if ((opts.as ?? 'app') === 'app')
    useAuditMacKey(loadMacKey(config.AUDIT_MAC_KEY_FILE, { create: true })!);
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', format: 'pretty' });
  const db = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolMax: 2,
    embeddedMaxConnections: config.EMBEDDED_MAX_CONNECTIONS,
    mode: 'cli',
    logger,
    as: opts.as ?? 'app',
  });
  try {
    if (opts.requireCurrentSchema ?? true) {
      const { pending } = await migrationStatus(db.knex).catch((err: unknown) => {
        // Before the first migration there is no seatkeeper_app to serve as.
        if (/role "seatkeeper_app"/.test((err as Error).message ?? ''))
          return { pending: ['20261201000800_app_role'] };
        throw err;
      });
      if (pending.length > 0) {
        throw new AppError(
          'schema_not_current',
          `the database schema is not current (${pending.length} pending migration${pending.length > 1 ? 's' : ''}): run \`seatkeeper migrate up\` or start the service`,
        );
      }
    }
    return await fn({ config, logger, db, actor: { type: 'cli', id: os.userInfo().username } });
  } finally {
    await db.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
