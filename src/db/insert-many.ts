// Many rows in one INSERT: each column travels as one array parameter and unnest() turns
// the arrays back into rows. A multi-row VALUES list binds rows × columns parameters
// (PostgreSQL allows 65,535) and makes knex build and the server parse a statement that
// grows with the rows; here 100,000 rows are a dozen parameters.
import type { Knex } from 'knex';

/** Column name → PostgreSQL type of one element ('uuid', 'text', 'timestamptz', …). */
export type ColumnTypes = Record<string, string>;

/** Rows per statement: bounds the size of one message, not the parameter count. */
const CHUNK = 20_000;

export async function insertMany(
  trx: Knex.Transaction | Knex,
  table: string,
  columns: ColumnTypes,
  rows: Array<Record<string, unknown>>,
): Promise<void> {
  const names = Object.keys(columns);
  const list = names.map(() => '??').join(', ');
  const arrays = names.map((name) => `?::${columns[name]}[]`).join(', ');
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    await trx.raw(`INSERT INTO ?? (${list}) SELECT * FROM unnest(${arrays})`, [
      table,
      ...names,
      ...names.map((name) => chunk.map((r) => r[name] ?? null)),
    ] as Knex.RawBinding[]);
  }
}
