// Each test file gets a database of its own, so files run in parallel without sharing
// state:
// - on the real PostgreSQL (DATABASE_URL set), a fresh schema, migrated, dropped at the end;
// - on the embedded database, a fresh in-memory PGlite loaded from the migrated snapshot
//   that global-setup made, served on its own unix socket, reached through the same
//   knex 'pg' client as production.
// Either way `knex` serves as seatkeeper_app, as the service does (src/db/database.ts),
// so the tests prove what that role can and cannot do; `owner` is the migrating owner
// (a superuser here), for what only an operator or an attacker with the database does.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import type pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import '../../src/db/database.js'; // installs the pg type parsers
import { migrateUp } from '../../src/db/migrate.js';
import { PgliteServer } from '../../src/db/embedded/pglite-server.js';
import { asRole } from '../../src/db/database.js';
import { ScopedPgClient } from '../../src/db/scoped-begin.js';
import { useAuditMacKey } from '../../src/audit/mac.js';
import { SNAPSHOT_FILE } from './snapshot.js';

/** The audit MAC key of every test process (the service loads its own from DATA_DIR/keys). */
export const TEST_MAC_KEY = Buffer.alloc(32, 7);
useAuditMacKey(TEST_MAC_KEY);

export interface TestDb {
  kind: 'postgres' | 'embedded';
  /** Serves as seatkeeper_app. */
  knex: Knex;
  /** The tables' owner, a superuser: migrations, and tampering as an attacker would. */
  owner: Knex;
  /** pg settings for a second client of the same database (agenda, concurrency tests). */
  connection: pg.PoolConfig & { options?: string };
  /** The schema this file's data lives in (real PostgreSQL) or 'public'. */
  schema: string;
  /** Open another knex on the same database (separate pool: "many connections"). */
  another(poolMax?: number): Knex;
  close(): Promise<void>;
}

export const onRealPostgres = () => Boolean(process.env.DATABASE_URL);

export async function openTestDb(
  opts: { migrate?: boolean; poolMax?: number } = {},
): Promise<TestDb> {
  const migrate = opts.migrate ?? true;
  const poolMax = opts.poolMax ?? 5;
  const extra: Knex[] = [];
  if (process.env.DATABASE_URL) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = knexFactory({
      client: 'pg',
      connection: process.env.DATABASE_URL,
      pool: { min: 0, max: 1 },
    });
    await admin.raw(`CREATE SCHEMA ${schema}`);
    await admin.destroy();
    const ownerConnection = {
      connectionString: process.env.DATABASE_URL,
      options: `-c search_path=${schema}`,
    };
    // As on the embedded database below: a file that migrates itself (migrate: false)
    // has no grants in its schema yet, so its `knex` is the owner's.
    const connection = (
      migrate ? asRole(ownerConnection, 'app') : ownerConnection
    ) as typeof ownerConnection;
    const make = (max: number) =>
      knexFactory({
        client: ScopedPgClient,
        connection: connection as Knex.PgConnectionConfig,
        pool: { min: 0, max },
      });
    const owner = knexFactory({
      client: 'pg',
      connection: ownerConnection,
      pool: { min: 0, max: 2 },
    });
    if (migrate) await migrateUp(owner);
    const knex = make(poolMax);
    return {
      kind: 'postgres',
      knex,
      owner,
      connection,
      schema,
      another(max = 5) {
        const k = make(max);
        extra.push(k);
        return k;
      },
      async close() {
        await Promise.all(extra.map((k) => k.destroy()));
        await knex.destroy();
        await owner.raw(`DROP SCHEMA ${schema} CASCADE`);
        await owner.destroy();
      },
    };
  }

  const dir = await mkdtemp(path.join(os.tmpdir(), 'sk-test-'));
  const pglite = migrate
    ? await PGlite.create({ loadDataDir: new Blob([await readFile(SNAPSHOT_FILE)]) })
    : await PGlite.create();
  const server = new PgliteServer({
    db: pglite,
    path: path.join(dir, '.s.PGSQL.5432'),
    maxConnections: 40,
  });
  await server.start();
  const ownerConnection = {
    host: dir,
    port: 5432,
    user: 'postgres',
    password: 'postgres',
    database: 'postgres',
  };
  // Before the migrations there is no seatkeeper_app: a file that migrates itself
  // (migrate: false) gets an owner's `knex` until it does, and uses `owner` to migrate.
  const connection: pg.PoolConfig = migrate ? asRole(ownerConnection, 'app') : ownerConnection;
  const make = (max: number) =>
    knexFactory({
      client: ScopedPgClient,
      connection: connection as Knex.PgConnectionConfig,
      pool: { min: 0, max },
    });
  const knex = make(poolMax);
  const owner = knexFactory({
    client: 'pg',
    connection: ownerConnection,
    pool: { min: 0, max: 2 },
  });
  return {
    kind: 'embedded',
    knex,
    owner,
    connection,
    schema: 'public',
    another(max = 5) {
      const k = make(max);
      extra.push(k);
      return k;
    },
    async close() {
      await Promise.all(extra.map((k) => k.destroy()));
      await knex.destroy();
      await owner.destroy();
      await server.stop();
      await pglite.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
