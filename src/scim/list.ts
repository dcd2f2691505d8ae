// Lists in SQL, never in memory: the filter becomes a WHERE clause, the database counts
// (exact totalResults; src/directory/counts.ts without a filter), sorts (stable: the id breaks ties) and pages.
import type { Knex } from 'knex';
import { countResources } from '../directory/index.js';
import { filterToSql, RESOURCE_STORAGE, sortExpression } from '../directory/index.js';
import { decodeCursor, encodeCursor, type ListQuery } from './list-query.js';
import { anchoredPage, STRIDE } from './page-anchors.js';
import type { ResourceKind } from './schemas.js';

const TABLE = { User: RESOURCE_STORAGE.User.table, Group: RESOURCE_STORAGE.Group.table };
const ID = { User: RESOURCE_STORAGE.User.idColumn, Group: RESOURCE_STORAGE.Group.idColumn };

export interface Page<Row> {
  rows: Row[];
  total: number;
  nextCursor?: string | undefined;
}

export async function listRows<Row>(
  knex: Knex,
  tenantId: string,
  kind: ResourceKind,
  query: ListQuery,
  columns: string[],
): Promise<Page<Row>> {
  const id = `r.${ID[kind]}`;
  // Deep pages of the whole list in its default order start from a remembered anchor.
  const plainOrder = !query.filter && !query.sortBy && query.cursor === undefined;
  if (plainOrder && query.startIndex > STRIDE && query.count > 0) {
    const page = await anchoredPage<Row>(
      knex,
      { tenantId, kind, table: TABLE[kind], idColumn: ID[kind], columns },
      { startIndex: query.startIndex, count: query.count },
    );
    if (page) return page;
  }
  const base = () => {
    const q = knex(`${TABLE[kind]} as r`).where('r.tenant_id', tenantId);
    if (query.filter) {
      const where = filterToSql(query.filter, kind, 'r');
      q.whereRaw(where.sql, where.bindings);
    }
    return q;
  };
  // Unfiltered, the total is the tenant's running count; filtered, the database counts
  // the matches (through the filter's indexes). `knex` is the request's transaction
  // (scoped to its tenant, src/db/tenant-scope.ts), so the count and the rows run one
  // after the other on its connection, and see the same tenant.
  const counted = query.filter
    ? base()
        .count({ n: '*' })
        .then((r) => Number((r as [{ n: number }])[0].n))
    : countResources(knex, tenantId, kind);
  // Whatever fails first is what the request reports; the other must not go unhandled.
  counted.catch(() => undefined);
  if (query.count === 0) return { rows: [], total: await counted };

  const direction = query.sortOrder === 'descending' ? 'desc' : 'asc';
  const ordered = (q: Knex.QueryBuilder) =>
    query.sortBy
      ? q.orderByRaw(`${sortExpression(query.sortBy, kind, 'r')} ${direction}, ${id} ${direction}`)
      : q.orderBy(id, 'asc');
  const q = ordered(base().select(columns.map((c) => `r.${c}`)));

  if (query.cursor === undefined) {
    // A deep page (startIndex=50000) skips rows in the id order alone (an index-only
    // scan), then reads just the page's rows: OFFSET over whole rows read every row skipped.
    const pageIds = ordered(base().select(id))
      .offset(query.startIndex - 1)
      .limit(query.count);
    const [rows, total] = await Promise.all([
      ordered(
        knex(`${TABLE[kind]} as r`)
          .where('r.tenant_id', tenantId)
          .whereIn(id, pageIds)
          .select(columns.map((c) => `r.${c}`)),
      ) as Promise<Row[]>,
      counted,
    ]);
    return { rows, total };
  }
  // Cursor pagination (RFC 9865): keyset on the id in the default order, an offset under sortBy.
  const state = decodeCursor(query.cursor);
  if (!query.sortBy && state.after) q.where(id, '>', state.after);
  if (query.sortBy && state.offset) q.offset(state.offset);
  const [rows, total] = await Promise.all([q.limit(query.count + 1) as Promise<Row[]>, counted]);
  const more = rows.length > query.count;
  const page = more ? rows.slice(0, query.count) : rows;
  const last = page[page.length - 1] as Record<string, unknown> | undefined;
  const nextCursor = !more
    ? undefined
    : query.sortBy
      ? encodeCursor({ offset: (state.offset ?? 0) + page.length })
      : encodeCursor({ after: String(last![ID[kind]]) });
  return { rows: page, total, nextCursor };
}
