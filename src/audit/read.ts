// Reading the trail in order, a batch at a time (keyset pagination on the primary key),
// so verification and exports of any size run in constant memory.
import type { Knex } from 'knex';
import { allTenantIds, withTenant } from '../db/tenant-scope.js';
import type { ChainedFields } from './chain.js';
import type { AuditRecord } from './types.js';

const BATCH = 1000;

/** The chained fields of an event as stored, chained or queued. */
export interface StoredFields {
  event_id: string;
  occurred_at: Date;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  payload_digest: string | null;
}

/** An event's chained fields, from its stored columns. */
export const chainedFieldsOf = (r: StoredFields): ChainedFields => ({
  eventId: r.event_id,
  occurredAt: r.occurred_at.toISOString(),
  actorType: r.actor_type,
  actorId: r.actor_id,
  action: r.action,
  targetType: r.target_type,
  targetId: r.target_id,
  payloadDigest: r.payload_digest,
});

export interface Row extends StoredFields {
  tenant_id: string;
  seq: number;
  prev_hash: string;
  hash: string;
  body: Record<string, unknown> | null;
  salt: Buffer | null;
  erased_at: Date | null;
  mac: string | null;
}

export interface RecordWithSalt extends AuditRecord {
  salt: Buffer | null;
  /** The event's MAC (src/audit/mac.ts); null on events written before MACs. */
  mac: string | null;
}

export function toRecord(r: Row): RecordWithSalt {
  return {
    tenantId: r.tenant_id,
    seq: Number(r.seq),
    ...chainedFieldsOf(r),
    payload: r.body,
    erasedAt: r.erased_at ? r.erased_at.toISOString() : null,
    prevHash: r.prev_hash,
    hash: r.hash,
    salt: r.salt,
    mac: r.mac ?? null,
  };
}

/** The tenant asked for, or every tenant (in id order): each is read under its own scope. */
export const tenantsOf = async (knex: Knex, tenantId: string | undefined) =>
  tenantId ? [tenantId] : allTenantIds(knex);

/** Events in (tenant, seq) order; one tenant's, or every tenant's. A batch per transaction. */
export async function* readAuditEvents(
  knex: Knex,
  opts: {
    tenantId?: string | undefined;
    batchSize?: number;
    /** Only events that occurred in this window ([from, to)); all by default. */
    window?: { from?: Date | undefined; to?: Date | undefined };
  } = {},
): AsyncGenerator<RecordWithSalt> {
  const batchSize = opts.batchSize ?? BATCH;
  for (const tenantId of await tenantsOf(knex, opts.tenantId)) {
    let after = 0;
    for (;;) {
      const rows = (await withTenant(knex, tenantId, (trx) => {
        const q = trx('audit_events as e')
          .select('e.*')
          .where('e.tenant_id', tenantId)
          .andWhere('e.seq', '>', after);
        if (opts.window?.from) q.where('e.occurred_at', '>=', opts.window.from);
        if (opts.window?.to) q.where('e.occurred_at', '<', opts.window.to);
        return q.orderBy('e.seq', 'asc').limit(batchSize);
      })) as Row[];
      for (const row of rows) yield toRecord(row);
      if (rows.length < batchSize) break;
      after = Number(rows[rows.length - 1]!.seq);
    }
  }
}

export async function countAuditEvents(knex: Knex, tenantId?: string): Promise<number> {
  let total = 0;
  for (const t of await tenantsOf(knex, tenantId)) {
    const [row] = await withTenant(knex, t, (trx) =>
      trx('audit_events').where({ tenant_id: t }).count<{ n: number }[]>({ n: '*' }),
    );
    total += Number(row?.n ?? 0);
  }
  return total;
}
