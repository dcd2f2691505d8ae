// One knex instance, one code path, two databases: a real PostgreSQL given by
// DATABASE_URL, or the embedded one (PGlite) reached through its unix socket. Either
// way the `pg` driver does the talking, so SQL, transactions and errors are the same.
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../log/logger.js';
import { parseTimestamptz } from './timestamps.js';
import { AppError } from '../shared/errors.js';
import {
  lockDataDir,
  serveEmbedded,
  SOCKET_PORT,
  waitForSocket,
  type EmbeddedServer,
} from './embedded.js';

// bigint columns (audit sequence numbers, counts) as JS numbers: they stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, parseTimestamptz);

export type DatabaseKind = 'postgres' | 'embedded';

export interface Database {
  kind: DatabaseKind;
  knex: Knex;
  /** Connection settings for other pg clients of the same database (agenda's pool). */
  connection: pg.PoolConfig;
  /** How this process reached the embedded database: it owns the directory, or uses the owner's socket. */
  embeddedRole?: 'owner' | 'client';
  /** true when the embedded database was created by this open (a fresh data directory). */
  created: boolean;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  poolMax: number;
  embeddedMaxConnections: number;
  /**
   * 'service' owns the embedded directory (waits for a CLI holding it, then fails);
   * 'cli' uses a running service's socket, or opens the directory itself when free.
   */
  mode: 'service' | 'cli';
  /** How long the service waits for a CLI command holding the embedded directory. */
  lockWaitMs?: number;
  logger: Logger;
  /** Tests put each file in a schema of its own on a shared real PostgreSQL. */
  searchPath?: string;
  onLockCompromised?: (err: Error) => void;
}

/** knex's own warnings through our logger, one line each (it prints stacks to stdout). */
function knexLog(logger: Logger | undefined): Knex.Config['log'] | undefined {
  if (!logger) return undefined;
  const line = (m: unknown) => String(m).split('\n')[0] ?? '';
  return {
    // Connection errors are reported (once, clearly) by whoever waits for the connection.
    warn: (m: unknown) =>
      /^Acquire connection error/.test(line(m))
        ? logger.debug('knex', { message: line(m) })
        : logger.warn('knex', { message: line(m) }),
    error: (m: unknown) => logger.error('knex', { message: line(m) }),
    deprecate: (m: unknown) => logger.warn('knex deprecation', { message: line(m) }),
    debug: (m: unknown) => logger.debug('knex', { message: line(m) }),
  };
}

function createKnex(
  connection: pg.PoolConfig,
  poolMax: number,
  searchPath?: string,
  logger?: Logger,
): Knex {
  const log = knexLog(logger);
  return knexFactory({
    ...(log ? { log } : {}),
    client: 'pg',
    connection: connection as Knex.PgConnectionConfig,
    pool: { min: 0, max: poolMax },
    ...(searchPath ? { searchPath: [searchPath] } : {}),
    // Migrations are listed in code (migrations/index.ts), never discovered on disk.
    migrations: { tableName: 'knex_migrations' },
  });
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const connection: pg.PoolConfig = { connectionString: opts.databaseUrl };
    const knex = createKnex(connection, opts.poolMax, opts.searchPath, opts.logger);
    return { kind: 'postgres', knex, connection, created: false, close: () => knex.destroy() };
  }

  const onCompromised =
    opts.onLockCompromised ??
    ((err: Error) => opts.logger.error('lost the data directory lock', { error: err.message }));
  const release = await lockDataDir(opts.dataDir, {
    waitMs: opts.mode === 'service' ? (opts.lockWaitMs ?? 30_000) : 0,
    required: opts.mode === 'service',
    onCompromised,
  });

  let embedded: EmbeddedServer | undefined;
  if (release) {
    embedded = await serveEmbedded(opts.dataDir, {
      maxConnections: opts.embeddedMaxConnections,
      release,
    });
  } else if (!(await waitForSocket(opts.dataDir, 15_000))) {
    throw new AppError(
      'data_dir_locked',
      `${opts.dataDir} is locked by another process but its socket never appeared; if no Seatkeeper is running, remove ${opts.dataDir}/service.lock`,
    );
  }

  const connection: pg.PoolConfig = {
    host: opts.dataDir,
    port: SOCKET_PORT,
    user: 'postgres',
    password: 'postgres',
    database: 'postgres',
  };
  // PGlite runs one transaction at a time, so a big pool buys nothing; a CLI beside
  // the service keeps to two connections so it never starves it.
  const poolMax = embedded ? Math.min(opts.poolMax, opts.embeddedMaxConnections - 4) : 2;
  const knex = createKnex(connection, poolMax, opts.searchPath, opts.logger);
  return {
    kind: 'embedded',
    knex,
    connection,
    embeddedRole: embedded ? 'owner' : 'client',
    created: embedded?.created ?? false,
    async close() {
      await knex.destroy();
      await embedded?.close();
    },
  };
}
