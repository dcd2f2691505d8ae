// Many rows in few statements. Up to ONE_STATEMENT rows go in as one INSERT whose rows
// travel as one JSON document, which json_to_recordset turns back into typed rows: one
// round trip, the right shape for the few rows of a request. A multi-row VALUES list
// binds rows × columns parameters (PostgreSQL allows 65,535) and makes the server parse
// a statement that grows with the rows; one array parameter per column (unnest) made the
// driver write each value into PostgreSQL's array syntax, which at 100,000 rows cost
// more CPU than the INSERT itself.
//
// More rows than that (a full reconcile's seats) go in as several such statements, a
// chunk of ONE_STATEMENT rows each. Not through COPY, though the server reads COPY text
// at about a third of the cost of the same rows as JSON: PostgreSQL refuses COPY FROM
// into a table under row-level security for a role subject to it ("COPY FROM not
// supported with row-level security"), and every table the service writes in bulk is a
// tenant table, written as seatkeeper_app (migrations/20261207001000_tenant_isolation.ts).
// copyRows stays for tables without policies.
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

function checkIdentifiers(table: string, names: string[]): void {
  for (const n of [table, ...names]) {
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
  if (rows.length > ONE_STATEMENT) {
    for (const chunk of chunksOf(rows, ONE_STATEMENT)) await insertMany(trx, table, columns, chunk);
    return;
  }
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
  await trx.raw(
    `INSERT INTO ${table} (${names.join(', ')}) ` +
      `SELECT ${select.join(', ')} FROM json_to_recordset(?::json) AS x(${defs.join(', ')})`,
    [doc],
  );
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
    for (const rows of batches) {
      if (failure) break;
      if (rows.length === 0) continue;
      if (stream.write(copyLines(rows, names))) {
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
