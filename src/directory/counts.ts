// How many users or groups a tenant has, exactly, without counting them: the sum of the
// deltas that the directory tables' triggers append (migrations/…_directory_counts.ts).
// Reading folds the deltas into one row once they pile up, so a read stays a handful of
// rows however many writes came before it.
import type { Knex } from 'knex';

export type CountedResource = 'User' | 'Group';

/**
 * Deltas beyond which a read folds them into one row. Why a read writes (issue 13,
 * bench/RESULTS.md §12.5): every create or delete statement adds a delta, so without
 * folding a count costs more with every write for ever (100,000 deltas: 31 ms a read on
 * a loaded machine, against 11 ms once folded). No benchmark target reaches that pile;
 * the fold stays because nothing else bounds it. Its one interface is foldIfPiledUp,
 * called wherever COUNT_STATE is read (countResources, the anchored page). Folding from
 * the settler's round instead, off the read path, is the better home (left for later).
 */
const FOLD_AT = 256;

/**
 * A tenant's count of one resource type, in one SELECT (named bindings :tenant, :kind):
 * `total`, the number of delta rows `entries`, and `epoch`, which names the set of rows.
 * Every insert or delete statement adds a row and every fold replaces rows with a newer
 * one, so the epoch changes exactly when the list's membership may have (the page
 * anchors of src/scim/page-anchors.ts are valid for one epoch).
 */
export const COUNT_STATE = `SELECT coalesce(sum(delta), 0) AS total, count(*) AS entries,
         coalesce(max(entry), 0) || ':' || count(*) AS epoch
    FROM directory_counts WHERE tenant_id = :tenant AND resource = :kind`;

/** Fold the deltas once a read has seen them pile up. */
export async function foldIfPiledUp(
  knex: Knex,
  tenantId: string,
  resource: CountedResource,
  entries: number | string,
): Promise<void> {
  if (Number(entries) > FOLD_AT) await foldCounts(knex, tenantId, resource);
}

export async function countResources(
  knex: Knex,
  tenantId: string,
  resource: CountedResource,
): Promise<number> {
  const { rows } = (await knex.raw(COUNT_STATE, { tenant: tenantId, kind: resource })) as {
    rows: Array<{ total: string; entries: string }>;
  };
  const { total, entries } = rows[0]!;
  await foldIfPiledUp(knex, tenantId, resource, entries);
  return Number(total);
}

/**
 * Replace a tenant's deltas with their sum, in one statement: a reader sees the deltas or
 * their sum, never both or neither. Two folds at once are safe: a delta deleted by one is
 * skipped by the other, which then has nothing to sum and inserts nothing.
 */
export async function foldCounts(
  knex: Knex,
  tenantId: string,
  resource: CountedResource,
): Promise<void> {
  await knex.raw(
    `WITH gone AS (
       DELETE FROM directory_counts WHERE tenant_id = ? AND resource = ? RETURNING delta)
     INSERT INTO directory_counts (tenant_id, resource, delta)
       SELECT ?, ?, sum(delta) FROM gone HAVING count(*) > 0`,
    [tenantId, resource, tenantId, resource],
  );
}
