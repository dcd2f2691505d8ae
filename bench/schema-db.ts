// The database a PostgreSQL bench runs in: a schema of its own in DATABASE_URL's database,
// migrated by the tables' owner, then opened as the service opens it (seatkeeper_app,
// row-level security on). `drop()` removes the schema and closes the connections.
import { randomBytes } from 'node:crypto';
import { useAuditMacKey } from '../src/audit/mac.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { migrateUp } from '../src/db/migrate.js';
import type { Logger } from '../src/log/logger.js';

export async function openBenchSchema(
  prefix: string,
  logger: Logger,
): Promise<{ db: Database; schema: string; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('set DATABASE_URL to a PostgreSQL database');
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await openDatabase({
    databaseUrl: base,
    dataDir: '',
    poolMax: 1,
    embeddedMaxConnections: 4,
    mode: 'cli',
    logger,
    as: 'owner',
  });
  await admin.knex.raw(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const url = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const db = await openDatabase({
    databaseUrl: url,
    dataDir: '',
    poolMax: 10,
    embeddedMaxConnections: 4,
    mode: 'service',
    logger,
  });
  await db.withOwner((owner) => migrateUp(owner));
  // The service MACs its audit events with a key of its own (src/audit/mac.ts).
  useAuditMacKey(randomBytes(32));
  return {
    db,
    schema,
    async drop() {
      await db.withOwner((owner) => owner.raw(`DROP SCHEMA ${schema} CASCADE`));
      await db.close();
    },
  };
}
