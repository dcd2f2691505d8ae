// BENCH_RLS=off: a measurement switch, not a product feature. It lets the SCIM and
// licensing benches run the same code with and without PostgreSQL's row-level security
// (issue 13: "measure the cost of RLS"). With it, right after the bench's schema is
// migrated and before anything is loaded, the tables' owner disables row-level security
// on every table of that schema that has it enabled: the tenant tables of
// migrations/20261207001000_tenant_isolation.ts (TENANT_TABLES) and of later migrations
// (user_activity, activity_events). The policies stay defined and the service still
// scopes every transaction (set_config); PostgreSQL just does not apply them.
// Unset or BENCH_RLS=on: nothing changes.
import { TENANT_TABLES } from '../migrations/20261207001000_tenant_isolation.js';

export const RLS_OFF = process.env.BENCH_RLS === 'off';

/** Runs one statement as the tables' owner, in the bench's schema (search_path). */
type OwnerQuery = (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }>;

/** Disable row-level security on the schema's tables (BENCH_RLS=off); returns their names. */
export async function disableRowLevelSecurity(query: OwnerQuery): Promise<string[]> {
  const { rows } = await query(
    `SELECT relname FROM pg_class
      WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' AND relrowsecurity
      ORDER BY relname`,
  );
  const tables = rows.map((r) => String(r.relname));
  const missing = TENANT_TABLES.filter((t) => !tables.includes(t));
  if (missing.length > 0)
    throw new Error(`BENCH_RLS=off: no row-level security on ${missing.join(', ')}`);
  for (const t of tables) await query(`ALTER TABLE "${t}" DISABLE ROW LEVEL SECURITY`);
  return tables;
}
