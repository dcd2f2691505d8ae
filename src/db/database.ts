// One knex instance, one code path, two databases: a real PostgreSQL given by
// DATABASE_URL, or the embedded one (PGlite) reached through its unix socket. Either
// way the `pg` driver does the talking, so SQL, transactions and errors are the same.
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../log/logger.js';
import { parseTimestamptz } from './timestamps.js';
import { ScopedPgClient } from './scoped-begin.js';
import { AppError } from '../shared/errors.js';
import {
  lockDataDir,
  serveEmbedded,
  SOCKET_PORT,
  waitForSocket,
  type EmbeddedServer,
} from './embedded/index.js';

// bigint columns (audit sequence numbers, counts) as JS numbers: they stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, parseTimestamptz);

export type DatabaseKind = 'postgres' | 'embedded';

/**
 * The role the service serves as (migrations/app-role.ts): every connection of its pool
 * asks for it at startup (libpq's `options=-c role=…`), on the real PostgreSQL and on the
 * embedded one (whose socket server switches the shared session to it). Migrations run
 * as the owner, the user DATABASE_URL names (`withOwner`).
 */
export const APP_ROLE = 'seatkeeper_app';
export const APP_ROLE_OPTION = `-c role=${APP_ROLE}`;

/** pg settings serving as `role` ('app': seatkeeper_app; 'owner': the login user itself). */
export function asRole(connection: pg.PoolConfig, role: 'app' | 'owner'): pg.PoolConfig {
  const withRole = (options: string | null | undefined) => {
    const kept = (options ?? '').replace(/(?:^|\s)-c\s*role=\S+/g, '').trim();
    return role === 'app' ? `${kept} ${APP_ROLE_OPTION}`.trim() : kept;
  };
  // pg lets a connection string's own `options` win over the config's: all of them go
  // into the string.
  if (connection.connectionString) {
    const { options: given, ...rest } = connection as pg.PoolConfig & { options?: string };
    const url = new URL(connection.connectionString);
    const options = withRole(`${url.searchParams.get('options') ?? ''} ${given ?? ''}`);
    if (options) url.searchParams.set('options', options);
    else url.searchParams.delete('options');
    return { ...rest, connectionString: url.toString() };
  }
  const { options, ...rest } = connection as pg.PoolConfig & { options?: string };
  const wanted = withRole(options);
  return wanted ? ({ ...rest, options: wanted } as pg.PoolConfig) : rest;
}

export interface Database {
  kind: DatabaseKind;
  knex: Knex;
  /** Connection settings for other pg clients of the same database (agenda's pool). */
  connection: pg.PoolConfig;
  /** How this process reached the embedded database: it owns the directory, or uses the owner's socket. */
  embeddedRole?: 'owner' | 'client';
  /** true when the embedded database was created by this open (a fresh data directory). */
  created: boolean;
  /** Run `fn` on a connection of the tables' owner (migrations), closed afterwards. */
  withOwner<T>(fn: (owner: Knex) => Promise<T>): Promise<T>;
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
  /** Serve as seatkeeper_app (the default) or as the owner (`seatkeeper migrate`). */
  as?: 'app' | 'owner';
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
    // knex's pg client, whose tenant transactions begin scoped (db/scoped-begin.ts).
    client: ScopedPgClient,
    connection: connection as Knex.PgConnectionConfig,
    pool: { min: 0, max: poolMax },
    ...(searchPath ? { searchPath: [searchPath] } : {}),
    // Migrations are listed in code (migrations/index.ts), never discovered on disk.
    migrations: { tableName: 'knex_migrations' },
  });
}

function ownerRunner(connection: pg.PoolConfig, searchPath?: string) {
  return async <T>(fn: (owner: Knex) => Promise<T>): Promise<T> => {
    const owner = createKnex(asRole(connection, 'owner'), 1, searchPath);
    try {
      return await fn(owner);
    } finally {
      await owner.destroy();
    }
  };
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  const role = opts.as ?? 'app';
  if (opts.databaseUrl) {
    const base: pg.PoolConfig = { connectionString: opts.databaseUrl };
    const connection = asRole(base, role);
    const knex = createKnex(connection, opts.poolMax, opts.searchPath, opts.logger);
    return {
      kind: 'postgres',
      knex,
      connection,
      created: false,
      withOwner: ownerRunner(base, opts.searchPath),
      close: () => knex.destroy(),
    };
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

  const base: pg.PoolConfig = {
    host: opts.dataDir,
    port: SOCKET_PORT,
    user: 'postgres',
    password: 'postgres',
    database: 'postgres',
  };
  const connection = asRole(base, role);
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
    withOwner: ownerRunner(base, opts.searchPath),
    async close() {
      await knex.destroy();
      await embedded?.close();
    },
  };
}
