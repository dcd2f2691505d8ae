// The embedded database: PGlite (PostgreSQL compiled to wasm) stored in DATA_DIR and
// served on a unix socket inside it, so that the service, the CLI, agenda and psql all
// speak the ordinary PostgreSQL wire protocol through the `pg` driver, exactly as they
// do against a real server.
//
// PGlite has no lock of its own: two processes opening one directory silently lose
// rows. Whoever opens the directory therefore first takes `service.lock` inside it
// (proper-lockfile: an mkdir lock refreshed every few seconds, so a crashed owner's
// lock goes stale instead of wedging the directory). Everyone else talks to the owner's
// socket. The directory is 0700 because the socket has no authentication.
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import lockfile from 'proper-lockfile';
import { AppError } from '../../shared/errors.js';
import { PgliteServer } from './pglite-server.js';

/** PostgreSQL's socket naming: a client given host=<dir>, port=5432 connects to <dir>/.s.PGSQL.5432. */
export const SOCKET_PORT = 5432;
export const socketPath = (dataDir: string) => path.join(dataDir, `.s.PGSQL.${SOCKET_PORT}`);
const lockPath = (dataDir: string) => path.join(dataDir, 'service.lock');
const pgDataDir = (dataDir: string) => path.join(dataDir, 'pgdata');

// A lock not refreshed for this long belongs to a dead process.
const LOCK_STALE_MS = 15_000;
const LOCK_UPDATE_MS = 4_000;

export interface EmbeddedServer {
  dataDir: string;
  /** true when this directory had no database yet and PGlite ran initdb. */
  created: boolean;
  close(): Promise<void>;
}

export async function prepareDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const info = await stat(dataDir);
  if (!info.isDirectory()) throw new AppError('data_dir_invalid', `${dataDir} is not a directory`);
  // Enforce 0700 even on a directory someone created by hand: the socket inside is unauthenticated.
  if ((info.mode & 0o077) !== 0) await chmod(dataDir, 0o700);
}

/**
 * Take the data directory's lock, trying for up to `waitMs` (the service waits for a
 * short CLI command to finish). When it stays held: throw if `required` (the service
 * must own the directory), else return null (a CLI then uses the owner's socket).
 */
export async function lockDataDir(
  dataDir: string,
  opts: { waitMs: number; required: boolean; onCompromised: (err: Error) => void },
): Promise<(() => Promise<void>) | null> {
  await prepareDataDir(dataDir);
  const retries =
    opts.waitMs > 0
      ? { retries: Math.ceil(opts.waitMs / 250), minTimeout: 250, maxTimeout: 250, factor: 1 }
      : 0;
  try {
    return await lockfile.lock(dataDir, {
      lockfilePath: lockPath(dataDir),
      stale: LOCK_STALE_MS,
      update: LOCK_UPDATE_MS,
      retries,
      realpath: false,
      onCompromised: opts.onCompromised,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      if (opts.required) {
        throw new AppError(
          'data_dir_locked',
          `${dataDir} is in use by another Seatkeeper process (lock ${lockPath(dataDir)}); stop it or use its socket`,
        );
      }
      return null;
    }
    throw err;
  }
}

/** Open PGlite in a directory whose lock the caller holds, and serve it on the socket. */
export async function serveEmbedded(
  dataDir: string,
  opts: { maxConnections: number; release: () => Promise<void> },
): Promise<EmbeddedServer> {
  const created = !existsSync(path.join(pgDataDir(dataDir), 'PG_VERSION'));
  let db: PGlite | undefined;
  let server: PgliteServer | undefined;
  try {
    db = await PGlite.create({ dataDir: pgDataDir(dataDir) });
    // We hold the lock, so a socket file left here belongs to a process that died.
    await rm(socketPath(dataDir), { force: true });
    server = new PgliteServer({
      db,
      path: socketPath(dataDir),
      maxConnections: opts.maxConnections,
    });
    await server.start();
    await chmod(socketPath(dataDir), 0o600);
  } catch (err) {
    await server?.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    await opts.release().catch(() => undefined);
    throw err;
  }
  const runningServer = server;
  const runningDb = db;
  return {
    dataDir,
    created,
    async close() {
      await runningServer.stop();
      await runningDb.close();
      await rm(socketPath(dataDir), { force: true });
      await opts.release();
    },
  };
}

/** Wait for a running owner's socket to appear (it may still be starting up). */
export async function waitForSocket(dataDir: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(socketPath(dataDir))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return existsSync(socketPath(dataDir));
}
