// Lists in SQL, never in memory: the filter becomes a WHERE clause, the database counts
// (exact totalResults; src/directory/counts.ts without a filter), sorts (stable: the id breaks ties) and pages.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import {
  COUNT_STATE,
  filterToSql,
  foldIfPiledUp,
  RESOURCE_STORAGE,
  sortExpression,
} from '../directory/index.js';
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
  /** One more select-list item over each row (its alias given), e.g. a user's groups. */
  extra?: (alias: string) => string,
): Promise<Page<Row>> {
  const id = `r.${ID[kind]}`;
  // Deep pages of the whole list in its default order start from a remembered anchor.
  const plainOrder = !query.filter && !query.sortBy && query.cursor === undefined;
  if (plainOrder && query.startIndex > STRIDE && query.count > 0) {
    const page = await anchoredPage<Row>(
      knex,
      { tenantId, kind, table: TABLE[kind], idColumn: ID[kind], columns, extra },
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
  // Unfiltered, the total is the tenant's running count (COUNT_STATE, whose deltas a
  // read folds once they pile up); filtered, the database counts the matches (through
  // the filter's indexes). Either way: columns total and entries.
  const counted = query.filter
    ? base().select(knex.raw('count(*) AS total, 0 AS entries'))
    : knex.raw(`(${COUNT_STATE})`, { tenant: tenantId, kind }); // a raw gets no parentheses of its own
  if (query.count === 0) {
    const [c] = (await knex.raw('WITH c AS ? SELECT c.total, c.entries FROM c', [counted])).rows;
    return { rows: [], total: await totalOf(knex, tenantId, kind, c) };
  }

  const direction = query.sortOrder === 'descending' ? 'desc' : 'asc';
  const sortKey = query.sortBy ? sortExpression(query.sortBy, kind, 'r') : undefined;
  const ordered = (q: Knex.QueryBuilder) =>
    sortKey ? q.orderByRaw(`${sortKey} ${direction}, ${id} ${direction}`) : q.orderBy(id, 'asc');
  // The page's columns, its extra item, and its sort key (for the outer ORDER BY below).
  const select = (q: Knex.QueryBuilder) => {
    q.select(columns.map((c) => `r.${c}`));
    if (extra) q.select(knex.raw(extra('r')));
    if (sortKey) q.select(knex.raw(`${sortKey} AS _sort`));
    return q;
  };

  let rowsQuery: Knex.QueryBuilder;
  let state: ReturnType<typeof decodeCursor> | undefined;
  if (query.cursor === undefined) {
    // A deep page (startIndex=50000) skips rows in the id order alone (an index-only
    // scan), then reads just the page's rows: OFFSET over whole rows read every row skipped.
    const pageIds = ordered(base().select(id))
      .offset(query.startIndex - 1)
      .limit(query.count);
    rowsQuery = ordered(
      select(knex(`${TABLE[kind]} as r`).where('r.tenant_id', tenantId).whereIn(id, pageIds)),
    );
  } else {
    // Cursor pagination (RFC 9865): keyset on the id in the default order, an offset under sortBy.
    state = decodeCursor(query.cursor);
    rowsQuery = ordered(select(base()));
    if (!query.sortBy && state.after) rowsQuery.where(id, '>', state.after);
    if (query.sortBy && state.offset) rowsQuery.offset(state.offset);
    rowsQuery.limit(query.count + 1);
  }
  // The total and the page in one statement, so in one snapshot and one round trip:
  // every read is a transaction scoped to its tenant, and each statement more is a round
  // trip on the page's latency (issue 13, bench/RESULTS.md §15). The count is the one
  // row on the left: an empty page is that row with NULLs on the right. The outer ORDER
  // BY restates the page's order; the join's output has none of its own.
  const outerOrder = sortKey
    ? `p._sort ${direction}, p.${ID[kind]} ${direction}`
    : `p.${ID[kind]} asc`;
  const statement = knex.raw(
    `WITH c AS ? SELECT c.total AS _total, c.entries AS _entries, p.*
       FROM c LEFT JOIN LATERAL ? p ON true ORDER BY ${outerOrder}`,
    [counted, rowsQuery],
  );
  // Without a filter the statement has a few shapes (cursor or index, sortBy, groups or
  // not): each is prepared once per connection, as its planning (0.3–0.5 ms) cost more
  // than running it. Filters come in any shape a client writes: those stay unnamed, so
  // no client can fill a connection with prepared statements.
  if (!query.filter) statement.options({ name: preparedName(statement.toSQL().sql) });
  const { rows: joined } = (await statement) as { rows: Array<Record<string, unknown>> };
  const head = joined[0]!;
  const total = await totalOf(knex, tenantId, kind, { total: head._total, entries: head._entries });
  const rows = joined.filter((r) => r[ID[kind]] !== null);
  for (const r of rows) {
    delete r._total;
    delete r._entries;
    delete r._sort;
  }
  if (state === undefined) return { rows: rows as Row[], total };

  const more = rows.length > query.count;
  const page = more ? rows.slice(0, query.count) : rows;
  const last = page[page.length - 1];
  const nextCursor = !more
    ? undefined
    : query.sortBy
      ? encodeCursor({ offset: (state.offset ?? 0) + page.length })
      : encodeCursor({ after: String(last![ID[kind]]) });
  return { rows: page as Row[], total, nextCursor };
}

/** A prepared statement's name for a statement text: the same text, the same name. */
function preparedName(sql: string): string {
  return `list_${createHash('sha256').update(sql).digest('base64url').slice(0, 22)}`;
}

/** The total from a count row; an unfiltered count folds its deltas once they pile up. */
async function totalOf(
  knex: Knex,
  tenantId: string,
  kind: ResourceKind,
  c: { total: unknown; entries: unknown },
): Promise<number> {
  await foldIfPiledUp(knex, tenantId, kind, c.entries as string);
  return Number(c.total);
}
