// Fetching one of a tenant's licensing rows by the id a request names: a malformed or
// unknown id (or another tenant's) is 404, never a database error; writers lock it.
import type { Knex } from 'knex';
import { notFound } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';

const KINDS = {
  product: { table: 'products', idColumn: 'product_id', live: false },
  licence: { table: 'licenses', idColumn: 'license_id', live: true },
  rule: { table: 'license_rules', idColumn: 'rule_id', live: false },
  seat: { table: 'seats', idColumn: 'seat_id', live: false },
} as const;

export async function rowById(
  db: Knex,
  tenantId: string,
  kind: keyof typeof KINDS,
  id: string,
  opts: { forUpdate?: boolean } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows of four tables; callers map them to records
): Promise<any> {
  const { table, idColumn, live } = KINDS[kind];
  if (!isUuid(id)) throw notFound(kind);
  const q = db(table)
    .where({ tenant_id: tenantId, [idColumn]: id })
    .first();
  // Deleted licences stay as rows for their seats' history, but are gone for everyone else.
  if (live) q.whereNull('deleted_at');
  if (opts.forUpdate) q.forUpdate();
  const row = await q;
  if (!row) throw notFound(kind);
  return row;
}
