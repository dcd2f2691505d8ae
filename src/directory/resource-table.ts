// What users and groups share in storage: a tenant-scoped row per resource, keyed by a
// server-assigned UUID, with a version bumped on every change. One place for insert,
// find and update, so the two tables can never drift apart in how they do it.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { withConstraintErrors } from '../db/constraints.js';
import type { SqlFragment } from '../db/sql-fragment.js';
import type { StoredData } from './types.js';
import { TENANT_SETTING } from '../db/tenant-scope.js';
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
  /**
   * Insert several new resources of one tenant in one statement, for writes coalesced
   * across requests (src/db/coalesce.ts). Per item, the id it was inserted under, or
   * undefined when a unique constraint left it out (ON CONFLICT DO NOTHING): its caller
   * inserts it alone and meets the error there. `alongside` builds one more
   * data-modifying CTE over the rows written (their audit events).
   *
   * The statement scopes itself to its tenant, so it runs on its own, in autocommit,
   * never inside a transaction (which has its scope already): see batchStatement.
   */
  insertBatch(
    db: Knex,
    items: Array<NewResource & { extra?: unknown }>,
    alongside?: (rows: BatchRows) => string,
  ): Promise<Array<string | undefined>>;
}

export interface NewResource {
  tenantId: string;
  id: string;
  data: StoredData;
  now: Date;
}

/** SQL names for the rows a batch wrote, for a statement that runs beside it. */
export interface BatchRows {
  /** FROM clause: the rows written, each beside its item. */
  from: string;
  /** The JSON the item brought in `extra`. */
  extra: string;
  /** The stored `data`. */
  data: string;
  /** The items' order. */
  order: string;
}

/** A prepared statement's name, derived from its text: the same text, the same name. */
const statementName = (kind: string, sql: string) =>
  `${kind}_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;

export function resourceTable<Row>(spec: {
  table: string;
  idColumn: string;
  columns: string[];
  /** The indexed columns derived from the SCIM JSON (stored beside it in `data`). */
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
      found = { sql, name: statementName('ins', sql) };
      statements.set(key, found);
    }
    return found;
  };
  // The batch statement for each `alongside` (a module's constant function), named like
  // the insert's.
  const batchStatements = new Map<unknown, { sql: string; name: string }>();
  const batchStatement = (sample: StoredData, alongside?: (rows: BatchRows) => string) => {
    let found = batchStatements.get(alongside);
    if (found) return found;
    const side =
      alongside?.({
        from: `ins JOIN x ON x.id = ins.${idColumn}`,
        extra: `x.item->'extra'`,
        data: 'ins.data',
        order: 'x.i',
      }) ?? '';
    const names = ['tenant_id', idColumn, ...Object.keys(columnsOf(sample))];
    names.push('data', 'version', 'created_at', 'last_modified');
    // Row-level security (migrations/20261207001000_tenant_isolation.ts) needs the
    // transaction's tenant, and this statement is its own transaction: each row's
    // tenant_id is the value set_config returns as it sets the tenant, so the setting
    // is in place before any row reaches a policy check (the policies read it once per
    // statement, at their first check). The audit CTE reads the rows `ins` returned,
    // so it runs after them. A row of another tenant in the same batch would fail its
    // check: batches never mix tenants.
    const sql =
      `WITH x AS (SELECT (item->>'i')::int AS i, (item->'row'->>'${idColumn}')::uuid AS id, item ` +
      `FROM jsonb_array_elements(?::jsonb) AS item), ` +
      `ins AS (INSERT INTO ${table} (${names.join(', ')}) ` +
      `SELECT ${names
        .map((n) =>
          n === 'tenant_id'
            ? `set_config('${TENANT_SETTING}', r.tenant_id::text, true)::uuid`
            : `r.${n}`,
        )
        .join(', ')} ` +
      `FROM x, jsonb_populate_record(NULL::${table}, x.item->'row') AS r ORDER BY x.i ` +
      `ON CONFLICT DO NOTHING RETURNING ${idColumn}, data)` +
      (side ? `, side AS (${side})` : '') +
      ` SELECT ${idColumn} AS id FROM ins`;
    found = { sql, name: statementName('insb', sql) };
    batchStatements.set(alongside, found);
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
          data: JSON.stringify(data),
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
    async insertBatch(db, items, alongside) {
      if (db.isTransaction)
        throw new Error('insertBatch scopes itself: call it outside a transaction');
      if (items.some((it) => it.tenantId !== items[0]!.tenantId))
        throw new Error('insertBatch: one tenant per batch');
      // The rows travel as one JSON document; jsonb_populate_record types each field
      // by the table's own columns, and `data` stays a JSON object, never a string in
      // a string. Items are numbered so that rows and events keep the arrival order.
      const doc = JSON.stringify(
        items.map((it, i) => ({
          i,
          row: {
            tenant_id: it.tenantId,
            [idColumn]: it.id,
            ...columnsOf(it.data),
            data: it.data,
            version: 1,
            created_at: it.now,
            last_modified: it.now,
          },
          extra: it.extra,
        })),
      );
      const statement = batchStatement(items[0]!.data, alongside);
      const { rows } = (await db.raw(statement.sql, [doc]).options({ name: statement.name })) as {
        rows: Array<{ id: string }>;
      };
      const written = new Set(rows.map((r) => r.id));
      return items.map((it) => (written.has(it.id) ? it.id : undefined));
    },
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
          .update({
            ...columnsOf(data),
            data: JSON.stringify(data),
            version: trx.raw('version + 1'),
            last_modified: now,
          })
          .returning(columns);
        return row as Row;
      }),
  };
}
