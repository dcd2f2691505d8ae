// What the directory knows of each user's activity (issue 14): directory_users.last_active_at
// is the last activity of any kind (an event without a product counts for every product),
// user_activity the last per product. Activity comes from the activity API, SSO sign-ins
// and licence-key heartbeats, all through recordActivity. Only the latest instant is
// kept: a late event older than what is stored changes nothing.
import type { Knex } from 'knex';

export interface ActivityFact {
  userId: string;
  /** null: activity for every product. */
  productId: string | null;
  occurredAt: Date;
}

/** Record facts (deduplicated by the caller); runs in the caller's tenant transaction. */
export async function recordActivity(
  trx: Knex.Transaction,
  tenantId: string,
  facts: ActivityFact[],
): Promise<void> {
  const latest = new Map<string, ActivityFact>();
  for (const f of facts) {
    const key = `${f.userId}:${f.productId ?? ''}`;
    const seen = latest.get(key);
    if (!seen || seen.occurredAt < f.occurredAt) latest.set(key, f);
  }
  const general = [...latest.values()].filter((f) => f.productId === null);
  const perProduct = [...latest.values()].filter((f) => f.productId !== null);
  if (general.length)
    await trx.raw(
      `UPDATE directory_users u SET last_active_at = greatest(u.last_active_at, x.at)
         FROM unnest(?::uuid[], ?::timestamptz[]) AS x(user_id, at)
        WHERE u.tenant_id = ? AND u.user_id = x.user_id`,
      [general.map((f) => f.userId), general.map((f) => f.occurredAt.toISOString()), tenantId],
    );
  if (perProduct.length)
    await trx.raw(
      `INSERT INTO user_activity (tenant_id, user_id, product_id, last_active_at)
       SELECT ?, x.user_id, x.product_id, x.at
         FROM unnest(?::uuid[], ?::uuid[], ?::timestamptz[]) AS x(user_id, product_id, at)
       ON CONFLICT (tenant_id, user_id, product_id)
       DO UPDATE SET last_active_at = greatest(user_activity.last_active_at, EXCLUDED.last_active_at)`,
      [
        tenantId,
        perProduct.map((f) => f.userId),
        perProduct.map((f) => f.productId!),
        perProduct.map((f) => f.occurredAt.toISOString()),
      ],
    );
}

/**
 * SQL: the last activity of a user for a product (its own or any product's, whichever is
 * later; NULL when none was ever seen). The arguments are SQL expressions of the
 * enclosing query (e.g. 's.tenant_id', 's.user_id', 'l.product_id').
 */
export const lastActivitySql = (at: { tenant: string; user: string; product: string }): string =>
  `(SELECT greatest(du.last_active_at, (SELECT a.last_active_at FROM user_activity a
       WHERE a.tenant_id = du.tenant_id AND a.user_id = du.user_id AND a.product_id = ${at.product}))
      FROM directory_users du WHERE du.tenant_id = ${at.tenant} AND du.user_id = ${at.user})`;

/**
 * lastActivitySql for set-based queries: LEFT JOINs to add to a FROM (their aliases start
 * with `alias`) and the expression over them. One pass over many rows, where the
 * subquery form looks each row up on its own.
 */
export const lastActivityJoins = (
  alias: string,
  at: { tenant: string; user: string; product: string },
): { joins: string; sql: string } => {
  if (!/^[a-z]+$/.test(alias)) throw new Error(`not an alias: ${alias}`);
  return {
    joins: `LEFT JOIN directory_users ${alias}_u
              ON ${alias}_u.tenant_id = ${at.tenant} AND ${alias}_u.user_id = ${at.user}
            LEFT JOIN user_activity ${alias}_a
              ON ${alias}_a.tenant_id = ${at.tenant} AND ${alias}_a.user_id = ${at.user}
             AND ${alias}_a.product_id = ${at.product}`,
    sql: `greatest(${alias}_u.last_active_at, ${alias}_a.last_active_at)`,
  };
};

/**
 * Activity reported under a SCIM userName (licence heartbeats name their user so):
 * recorded when such a user is in the directory, ignored otherwise. Returns whether.
 */
export async function recordActivityOf(
  trx: Knex.Transaction,
  tenantId: string,
  userName: string,
  fact: Omit<ActivityFact, 'userId'>,
): Promise<boolean> {
  const user = (await trx('directory_users')
    .where({ tenant_id: tenantId })
    .whereRaw('user_name_lower = lower(?)', [userName])
    .first('user_id')) as { user_id: string } | undefined;
  if (!user) return false;
  await recordActivity(trx, tenantId, [{ ...fact, userId: user.user_id }]);
  return true;
}
