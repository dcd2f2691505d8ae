// How many users or groups a tenant has, exactly, without counting them: the sum of the
// deltas that the directory tables' triggers append (migrations/…_directory_counts.ts).
// Reading folds the deltas into one row once they pile up, so a read stays a handful of
// rows however many writes came before it.
import type { Knex } from 'knex';

export type CountedResource = 'User' | 'Group';

/** Deltas beyond which a read folds them into one row. */
export const FOLD_AT = 256;

export async function countResources(
  knex: Knex,
  tenantId: string,
  resource: CountedResource,
): Promise<number> {
  const { rows } = (await knex.raw(
    `SELECT coalesce(sum(delta), 0) AS n, count(*) AS entries
       FROM directory_counts WHERE tenant_id = ? AND resource = ?`,
    [tenantId, resource],
  )) as { rows: Array<{ n: string; entries: string }> };
  const { n, entries } = rows[0]!;
  if (Number(entries) > FOLD_AT) await foldCounts(knex, tenantId, resource);
  return Number(n);
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
