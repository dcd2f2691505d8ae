// What users and groups share in storage: a tenant-scoped row per resource, keyed by a
// server-assigned UUID, with a version bumped on every change. One place for insert,
// find and update, so the two tables can never drift apart in how they do it.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { withConstraintErrors } from '../db/constraints.js';
import type { StoredData } from '../scim/schemas.js';
import { isUuid } from '../shared/ids.js';

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
    opts?: { id?: string; alongside?: Record<string, Knex.QueryBuilder> },
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
  return {
    insert: (db, tenantId, data, now, opts = {}) =>
      withConstraintErrors(async () => {
        let q = db(table);
        for (const [name, statement] of Object.entries(opts.alongside ?? {})) {
          q = q.with(name, statement);
        }
        const [row] = await q
          .insert({
            tenant_id: tenantId,
            [idColumn]: opts.id ?? randomUUID(),
            ...columnsOf(data),
            version: 1,
            created_at: now,
            last_modified: now,
          })
          .returning(columns);
        return row as Row;
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
