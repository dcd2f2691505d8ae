// Writing to the outbox (migrations/20261207001500_outbox.ts): in the caller's
// transaction, so a message exists exactly when the change that caused it committed. A
// message whose dedupe key was written before is not written again.
import type { Knex } from 'knex';
import { newId } from '../shared/ids.js';

export interface OutboxMessage {
  channel: 'email' | 'webhook';
  type: string;
  /** Same key, same message: written once (e.g. one mail per scheduled reclaim). */
  dedupeKey: string;
  payload: Record<string, unknown>;
}

export async function enqueue(
  trx: Knex.Transaction,
  tenantId: string,
  messages: OutboxMessage[],
  now: Date,
): Promise<number> {
  if (messages.length === 0) return 0;
  const at = now.toISOString();
  const { rows } = (await trx.raw(
    `INSERT INTO outbox (tenant_id, message_id, channel, type, dedupe_key, payload, created_at, next_attempt_at)
     SELECT ?, x.id, x.channel, x.type, x.dedupe_key, x.payload, ?, ?
       FROM json_to_recordset(?::json) AS x(id uuid, channel text, type text, dedupe_key text, payload jsonb)
     ON CONFLICT (tenant_id, channel, dedupe_key) DO NOTHING
     RETURNING message_id`,
    [
      tenantId,
      at,
      at,
      JSON.stringify(
        messages.map((m) => ({
          id: newId(),
          channel: m.channel,
          type: m.type,
          dedupe_key: m.dedupeKey,
          payload: m.payload,
        })),
      ),
    ],
  )) as { rows: unknown[] };
  return rows.length;
}
