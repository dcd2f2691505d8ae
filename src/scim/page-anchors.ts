// Deep index pages without skipping rows. Okta's imports and Entra's reconciliations
// walk a tenant's users with startIndex=1, 101, 201 … in the default order (by id), and
// OFFSET makes page k cost k pages: at 100,000 users the middle page skipped 50,000 index
// entries (~6 ms) on every request. Instead this replica remembers the id at every
// STRIDE-th position of a tenant's list (its anchors) and starts a page at the anchor
// before it, skipping fewer than STRIDE entries.
//
// Positions move only when resources are inserted or deleted, and each such statement
// appends a row to directory_counts (src/directory/counts.ts), as does folding them. The
// anchors are therefore valid exactly while those rows are unchanged; their identity
// (largest entry, number of entries) is read in the same statement, and snapshot, as
// the page itself, so a page is never served from anchors its snapshot does not match.
//
// Why it stays (issue 13, bench/RESULTS.md §12.5): the target is GET
// startIndex=50000&count=100 at p99 < 10 ms. Measured with and without it in the same
// hour, the page without anchors (the index-only skip of 49,999 ids in listRows) took
// p50 32.7 / p99 116.7 ms against 8.9 / 40.0 ms with them (a loaded machine), and reads
// 778 buffers against 117. Its one interface is anchoredPage, called by listRows for an
// unfiltered, unsorted deep page; a null answer falls back to the ordinary path.
import type { Knex } from 'knex';
import { COUNT_STATE, foldIfPiledUp } from '../directory/index.js';
import type { ResourceKind } from './schemas.js';

export const STRIDE = 1000;
/** Tenants × resource types whose anchors a replica keeps (least recently used go). */
const CACHE_SIZE = 500;

interface Anchors {
  epoch: string;
  ids: string[];
}

const cache = new Map<string, Anchors>();

function remember(key: string, anchors: Anchors) {
  cache.delete(key);
  cache.set(key, anchors);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
}

export interface AnchoredPage<Row> {
  rows: Row[];
  total: number;
}

interface Target {
  tenantId: string;
  kind: ResourceKind;
  /** Table, id column and columns: names from code, never from a request. */
  table: string;
  idColumn: string;
  columns: string[];
  /** One more select-list item over the page's row, aliased `p` (from code too). */
  extra?: ((alias: string) => string) | undefined;
}

const NAME = /^[a-z_]+$/;
/** What a statement names of its target. */
type Names = Pick<Target, 'table' | 'idColumn' | 'columns' | 'extra'>;

function names(t: Names) {
  for (const n of [t.table, t.idColumn, ...t.columns])
    if (!NAME.test(n)) throw new Error(`not a column or table name: ${n}`);
  const columns = t.columns.map((c) => `p.${c}`);
  if (t.extra) columns.push(t.extra('p'));
  return { table: t.table, id: t.idColumn, columns: columns.join(', ') };
}

/**
 * The statement of a page (named bindings :tenant, :kind, :anchor, :skip, :count): the
 * count state, and the `count` rows from `skip` entries past the anchor. The skip finds
 * the page's first id by an index-only scan of the primary key; OFFSET over whole rows
 * fetched every skipped row from the heap, up to STRIDE of them. Past the end the first
 * id is NULL and the page empty.
 */
export function anchoredPageSql(target: Names): string {
  const { table, id, columns } = names(target);
  return `WITH e AS (${COUNT_STATE})
    SELECT e.epoch AS _epoch, e.entries AS _entries, e.total AS _total, ${columns}
      FROM e LEFT JOIN LATERAL (
        SELECT * FROM ${table} r
         WHERE r.tenant_id = :tenant AND r.${id} >= (
           SELECT s.${id} FROM ${table} s
            WHERE s.tenant_id = :tenant AND s.${id} >= CAST(:anchor AS uuid)
            ORDER BY s.${id} OFFSET :skip LIMIT 1)
         ORDER BY r.${id} LIMIT :count) p ON CAST(:anchor AS uuid) IS NOT NULL
     ORDER BY p.${id}`;
}

// The statement's text per table (with or without the extra item), built once: every
// deep page runs it.
const pageSqlByTable = new Map<string, string>();
const statementName = (target: Names) => `anchored_page_${target.table}${target.extra ? '_x' : ''}`;
function pageSql(target: Names): string {
  const key = statementName(target);
  let sql = pageSqlByTable.get(key);
  if (sql === undefined) pageSqlByTable.set(key, (sql = anchoredPageSql(target)));
  return sql;
}

/**
 * The page at `startIndex` (1-based) in id order, with the tenant's total, or null when
 * the anchors went stale twice in a row (writes racing the reads): the caller then
 * pages the ordinary way.
 */
export async function anchoredPage<Row>(
  knex: Knex,
  target: Target,
  page: { startIndex: number; count: number },
): Promise<AnchoredPage<Row> | null> {
  const { id } = names(target);
  const key = `${target.tenantId}:${target.kind}`;
  const k = Math.floor((page.startIndex - 1) / STRIDE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const anchors = cache.get(key) ?? (await build(knex, key, target));
    // Past the last anchor the page is empty: say so with the total of the same snapshot.
    const anchor = anchors.ids[k] ?? null;
    const { rows } = (await knex
      .raw(pageSql(target), {
        tenant: target.tenantId,
        kind: target.kind,
        anchor,
        skip: page.startIndex - 1 - k * STRIDE,
        count: page.count,
      })
      // Every deep page runs this: parsed and planned once per connection.
      .options({ name: statementName(target) })) as { rows: Array<Record<string, unknown>> };
    const head = rows[0]!;
    if (head._epoch !== anchors.epoch) {
      cache.delete(key);
      continue;
    }
    await foldIfPiledUp(knex, target.tenantId, target.kind, head._entries as string);
    const total = Number(head._total);
    const found = rows.filter((r) => r[id] !== null);
    for (const r of found) {
      delete r._epoch;
      delete r._entries;
      delete r._total;
    }
    return { rows: found as Row[], total };
  }
  return null;
}

async function build(knex: Knex, key: string, target: Target): Promise<Anchors> {
  const { table, id } = names(target);
  const { rows } = (await knex.raw(
    `WITH e AS (${COUNT_STATE})
     SELECT e.epoch, (
       SELECT coalesce(array_agg(x.id ORDER BY x.id), '{}') FROM (
         SELECT ${id} AS id, row_number() OVER (ORDER BY ${id}) AS n
           FROM ${table} WHERE tenant_id = :tenant) x
        WHERE (x.n - 1) % ${STRIDE} = 0) AS ids
     FROM e`,
    { tenant: target.tenantId, kind: target.kind },
  )) as { rows: Array<{ epoch: string; ids: string[] }> };
  const anchors = { epoch: rows[0]!.epoch, ids: rows[0]!.ids };
  remember(key, anchors);
  return anchors;
}
