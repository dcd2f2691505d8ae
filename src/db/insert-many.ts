// Many rows in few statements. Up to ONE_STATEMENT rows go in as one INSERT whose rows
// travel as one JSON document, which json_to_recordset turns back into typed rows: one
// round trip, the right shape for the few rows of a request. A multi-row VALUES list
// binds rows × columns parameters (PostgreSQL allows 65,535) and makes the server parse
// a statement that grows with the rows; one array parameter per column (unnest) made the
// driver write each value into PostgreSQL's array syntax, which at 100,000 rows cost
// more CPU than the INSERT itself.
//
// More rows than that (a full reconcile's seats) are COPYed into a temporary staging
// table, then moved by one INSERT … SELECT: the server reads COPY text at about a third
// of the cost of the same rows as JSON (bench/RESULTS.md §9, §15). Not COPY into the
// table itself: PostgreSQL refuses COPY FROM into a table under row-level security for
// a role subject to it, and every table the service writes in bulk is a tenant table
// (migrations/20261207001000_tenant_isolation.ts). The staging table has no policies,
// being private to the session; the INSERT … SELECT is checked by the target's.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Knex } from 'knex';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyLines } from './copy-text.js';

/** Column name → PostgreSQL type of the column ('uuid', 'text', 'timestamptz', …). */
export type ColumnTypes = Record<string, string>;

/** Rows per chunk: bounds one message or one write, and sets the grain of the overlap. */
const CHUNK = 5_000;
const ONE_STATEMENT = CHUNK;

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
// A table may also be named in the session's own temporary schema (pg_temp.name).
const TABLE = /^(?:pg_temp\.)?[a-z_][a-z0-9_]*$/;

function checkIdentifiers(table: string, names: string[]): void {
  if (!TABLE.test(table)) throw new Error(`insertMany: not a plain table name: ${table}`);
  for (const n of names) {
    if (!IDENTIFIER.test(n)) throw new Error(`insertMany: not a plain identifier: ${n}`);
  }
}

// In the document, Dates become ISO strings through their toJSON, undefined becomes a
// missing key (NULL), and jsonb columns take the JSON text the callers hold (cast on the
// server). Only a Buffer needs writing out: as bytea's hex input form.
export const byteaHex = (v: unknown): unknown =>
  Buffer.isBuffer(v) ? `\\x${v.toString('hex')}` : v;

export function* chunksOf<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

export async function insertMany(
  trx: Knex.Transaction,
  table: string,
  columns: ColumnTypes,
  rows: Array<Record<string, unknown>>,
): Promise<void> {
  if (rows.length === 0) return;
  const names = Object.keys(columns);
  checkIdentifiers(table, names);
  if (rows.length > ONE_STATEMENT) return insertStaged(trx, table, columns, rows);
  const { sql, doc } = insertFromJson(table, columns, rows);
  await trx.raw(sql, [doc]);
}

/**
 * insertMany's way for many rows: COPY into `pg_temp.<table>_staging` (made for this
 * transaction: dropped at its end, emptied after each use), then one INSERT … SELECT.
 */
async function insertStaged(
  trx: Knex.Transaction,
  table: string,
  columns: ColumnTypes,
  rows: Array<Record<string, unknown>>,
): Promise<void> {
  if (table.startsWith('pg_temp.')) throw new Error(`insertMany: ${table} is temporary already`);
  const names = Object.keys(columns);
  const staging = `${table}_staging`;
  const defs = names.map((n) => `${n} ${columns[n]}`).join(', ');
  await trx.raw(`CREATE TEMPORARY TABLE IF NOT EXISTS ${staging} (${defs}) ON COMMIT DROP`);
  await copyRows(trx, `pg_temp.${staging}`, names, chunksOf(rows, CHUNK));
  const list = names.join(', ');
  await trx.raw(`INSERT INTO ${table} (${list}) SELECT ${list} FROM pg_temp.${staging}`);
  await trx.raw(`TRUNCATE pg_temp.${staging}`);
}

/**
 * The one-statement INSERT of insertMany, for a caller that runs it inside a statement
 * of its own (as a data-modifying CTE): its SQL, with one placeholder for `doc`.
 */
export function insertFromJson(
  table: string,
  columns: ColumnTypes,
  rows: Array<Record<string, unknown>>,
): { sql: string; doc: string } {
  const names = Object.keys(columns);
  checkIdentifiers(table, names);
  // jsonb arrives as its JSON text (a string in the document) and is cast once here.
  const defs = names.map((n) => `${n} ${columns[n] === 'jsonb' ? 'text' : columns[n]}`);
  const select = names.map((n) => (columns[n] === 'jsonb' ? `x.${n}::jsonb` : `x.${n}`));
  const binary = names.filter((n) => columns[n] === 'bytea');
  // json_to_recordset takes the named keys and ignores others; a missing key is NULL.
  // So rows go in as they are, copied only to write a Buffer as bytea's hex.
  const doc = JSON.stringify(
    binary.length === 0
      ? rows
      : rows.map((r) => {
          if (!binary.some((n) => Buffer.isBuffer(r[n]))) return r;
          const o: Record<string, unknown> = { ...r };
          for (const n of binary) o[n] = byteaHex(r[n]);
          return o;
        }),
  );
  const sql =
    `INSERT INTO ${table} (${names.join(', ')}) ` +
    `SELECT ${select.join(', ')} FROM json_to_recordset(?::json) AS x(${defs.join(', ')})`;
  return { sql, doc };
}

/**
 * COPY the rows of `batches` into `table` (the values of `names`, in that order) on the
 * transaction's own connection. Each batch is taken from the iterable (so a generator
 * builds it only now) and written while the server is still inserting the one before,
 * and nothing else uses the transaction until the COPY is over, whichever way it ends:
 * if building a batch throws, the COPY is cancelled (CopyFail) before the error goes
 * on, so the transaction can still roll back. A row the server refuses fails the whole
 * COPY, and with it the transaction; PostgreSQL buffers the rows it inserts, so that
 * error may only come when the data ends.
 */
export async function copyRows(
  trx: Knex.Transaction,
  table: string,
  names: string[],
  batches: Iterable<Array<Record<string, unknown>>>,
): Promise<void> {
  function* chunks() {
    for (const rows of batches) if (rows.length > 0) yield copyLines(rows, names);
  }
  return copyText(trx, table, names, chunks());
}

/**
 * copyRows for rows already written as COPY text (copy-text.ts), a chunk of whole lines
 * at a time; each chunk is taken from `chunks` only when the one before is on its way.
 */
export async function copyText(
  trx: Knex.Transaction,
  table: string,
  names: string[],
  chunks: Iterable<string>,
): Promise<void> {
  checkIdentifiers(table, names);
  // A transaction's client hands out the transaction's connection.
  const conn = (await trx.client.acquireConnection()) as pg.PoolClient;
  const stream = conn.query(copyFrom(`COPY ${table} (${names.join(', ')}) FROM STDIN`));
  let failure: { error: unknown } | undefined;
  // The COPY is over at 'finish' (the server confirmed it) or at an error: the server's
  // (after which the driver takes no more from this stream) or a cancelled one's.
  const over = new Promise<void>((resolve) => {
    stream.on('error', (error: unknown) => {
      failure ??= { error };
      resolve();
    });
    stream.on('finish', resolve);
  });
  try {
    for (const text of chunks) {
      if (failure) break;
      if (text.length === 0) continue;
      if (stream.write(text)) {
        // Let the socket take the chunk before the next one is built.
        await nextTurn();
      } else {
        await Promise.race([new Promise((resolve) => stream.once('drain', resolve)), over]);
      }
    }
  } catch (error) {
    failure ??= { error };
    stream.destroy(error as Error);
    await over;
    throw error;
  }
  if (!failure) stream.end();
  await over;
  if (failure) throw failure.error;
}
