import type { Knex } from 'knex';

/** SQL text with `?` placeholders and its values, to be embedded in a larger statement. */
export interface SqlFragment {
  sql: string;
  bindings: Knex.RawBinding[];
}
