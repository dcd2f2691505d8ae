// What users and groups share in storage: a tenant-scoped row per resource, keyed by a
// server-assigned UUID, with a version bumped on every change. One place for insert,
// find and update, so the two tables can never drift apart in how they do it.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { withConstraintErrors } from '../db/constraints.js';
import type { SqlFragment } from '../db/sql-fragment.js';
import type { StoredData } from '../scim/schemas.js';
import { isUuid, newId } from '../shared/ids.js';

export interface ResourceTable<Row> {
  /**
   * Insert a new resource. `alongside` are data-modifying statements (its audit event)
   * run as CTEs of the same INSERT: one statement, atomic even outside a transaction.
   */
  insert(
    db: Knex,
    tenantId: string,
    data: StoredData,
    now: Date,
    opts?: { id?: string; alongside?: Record<string, SqlFragment> },
  ): Promise<Row>;
  find(
    db: Knex,
    tenantId: string,
    id: string,
    opts?: { forUpdate?: boolean },
  ): Promise<Row | undefined>;
  update(
    trx: Knex.Transaction,
    tenantId: string,
    id: string,
    data: StoredData,
    now: Date,
  ): Promise<Row>;
}

export function resourceTable<Row>(spec: {
  table: string;
  idColumn: string;
  columns: string[];
  /** The indexed columns derived from the SCIM JSON, plus `data` itself. */
  columnsOf(data: StoredData): Record<string, unknown>;
}): ResourceTable<Row> {
  const { table, idColumn, columns, columnsOf } = spec;
  // One statement per shape (columns and CTEs); its name is derived from its text, so a
  // connection that prepared it once only binds and executes it afterwards.
  const statements = new Map<string, { sql: string; name: string }>();
  const insertStatement = (names: string[], ctes: Array<[string, SqlFragment]>) => {
    const key = `${names.join(',')}|${ctes.map(([n, c]) => `${n}:${c.sql}`).join('|')}`;
    let found = statements.get(key);
    if (!found) {
      const sql =
        (ctes.length ? `WITH ${ctes.map(([n, c]) => `${n} AS (${c.sql})`).join(', ')} ` : '') +
        `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')}) ` +
        `RETURNING ${columns.join(', ')}`;
      const name = `ins_${table}_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
      found = { sql, name };
      statements.set(key, found);
    }
    return found;
  };
  return {
    // Hand-written SQL, as a named prepared statement: this is the hot path of an
    // initial sync, and the query builder, then the server's parse and plan of the same
    // text each time, cost more than inserting the row.
    insert: (db, tenantId, data, now, opts = {}) =>
      withConstraintErrors(async () => {
        const values: Record<string, unknown> = {
          tenant_id: tenantId,
          [idColumn]: opts.id ?? newId(),
          ...columnsOf(data),
          version: 1,
          created_at: now,
          last_modified: now,
        };
        const names = Object.keys(values);
        const ctes = Object.entries(opts.alongside ?? {});
        const statement = insertStatement(names, ctes);
        const { rows } = (await db
          .raw(statement.sql, [
            ...ctes.flatMap(([, c]) => c.bindings),
            ...names.map((n) => values[n]),
          ] as Knex.RawBinding[])
          .options({ name: statement.name })) as { rows: Row[] };
        return rows[0]!;
      }),
    async find(db, tenantId, id, opts = {}) {
      if (!isUuid(id)) return undefined;
      const q = db(table)
        .where({ tenant_id: tenantId, [idColumn]: id })
        .first(columns);
      if (opts.forUpdate) q.forUpdate();
      return (await q) as Row | undefined;
    },
    update: (trx, tenantId, id, data, now) =>
      withConstraintErrors(async () => {
        const [row] = await trx(table)
          .where({ tenant_id: tenantId, [idColumn]: id })
          .update({ ...columnsOf(data), version: trx.raw('version + 1'), last_modified: now })
          .returning(columns);
        return row as Row;
      }),
  };
}
