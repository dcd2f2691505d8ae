// Reading the trail in order, a batch at a time (keyset pagination on the primary key),
// so verification and exports of any size run in constant memory.
import type { Knex } from 'knex';
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

interface Row extends StoredFields {
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

function toRecord(r: Row): RecordWithSalt {
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

/** Events in (tenant, seq) order; one tenant's, or every tenant's. */
export async function* readAuditEvents(
  knex: Knex,
  opts: { tenantId?: string | undefined; batchSize?: number } = {},
): AsyncGenerator<RecordWithSalt> {
  const batchSize = opts.batchSize ?? BATCH;
  let after: { tenantId: string; seq: number } | null = null;
  for (;;) {
    const q = knex('audit_events as e')
      .select('e.*')
      .orderBy([
        { column: 'e.tenant_id', order: 'asc' },
        { column: 'e.seq', order: 'asc' },
      ])
      .limit(batchSize);
    if (opts.tenantId) q.where('e.tenant_id', opts.tenantId);
    if (after) {
      const { tenantId, seq } = after;
      q.whereRaw('(e.tenant_id, e.seq) > (?, ?)', [tenantId, seq]);
    }
    const rows = (await q) as Row[];
    for (const row of rows) yield toRecord(row);
    if (rows.length < batchSize) return;
    const last = rows[rows.length - 1]!;
    after = { tenantId: last.tenant_id, seq: Number(last.seq) };
  }
}

export async function countAuditEvents(knex: Knex, tenantId?: string): Promise<number> {
  const q = knex('audit_events').count<{ n: number }[]>({ n: '*' });
  if (tenantId) q.where({ tenant_id: tenantId });
  const [row] = await q;
  return Number(row?.n ?? 0);
}
