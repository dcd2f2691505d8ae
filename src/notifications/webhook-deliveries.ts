// The deliveries log of an endpoint (issue 14): one entry per attempt, newest first,
// keyset-paged on (at, delivery id) so a page is an index range however long the log.
import type { Knex } from 'knex';
import { z } from 'zod';
import { withTenant } from '../db/tenant-scope.js';
import { invalidInput, notFound } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';

export const DEFAULT_DELIVERIES_LIMIT = 50;
export const MAX_DELIVERIES_LIMIT = 500;

export const DeliveryRecord = z.object({
  messageId: z.uuid().describe('The webhook-id header: the same on every attempt of a message'),
  type: z.string(),
  attempt: z.number().int().min(1),
  status: z.number().int().nullable().describe("The receiver's HTTP status; null: no answer"),
  error: z.string().nullable().describe('Why the attempt failed without an HTTP status'),
  at: z.iso.datetime(),
});
export type Delivery = z.infer<typeof DeliveryRecord>;
export const DeliveryPageRecord = z.object({
  items: z.array(DeliveryRecord),
  total: z.number().int().min(0),
  nextCursor: z.string().nullable(),
});

interface Row {
  delivery_id: string;
  message_id: string;
  type: string;
  attempt: number;
  status: number | null;
  error: string | null;
  at: Date;
}

const encode = (r: Row) =>
  Buffer.from(`${r.at.toISOString()}|${r.delivery_id}`).toString('base64url');
function decode(cursor: string): { at: string; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!at || !isUuid(id) || Number.isNaN(Date.parse(at))) throw invalidInput('cursor is not valid');
  return { at, id };
}

export async function listDeliveries(
  knex: Knex,
  tenantId: string,
  endpointId: string,
  query: { limit?: unknown; cursor?: unknown },
): Promise<z.infer<typeof DeliveryPageRecord>> {
  const limit = query.limit === undefined ? DEFAULT_DELIVERIES_LIMIT : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DELIVERIES_LIMIT)
    throw invalidInput(`limit must be an integer from 1 to ${MAX_DELIVERIES_LIMIT}`);
  const after =
    typeof query.cursor === 'string' && query.cursor !== '' ? decode(query.cursor) : undefined;
  if (!isUuid(endpointId)) throw notFound('webhook endpoint');
  return withTenant(knex, tenantId, async (trx) => {
    const endpoint = await trx('webhook_endpoints')
      .where({ tenant_id: tenantId, endpoint_id: endpointId })
      .first('endpoint_id');
    if (!endpoint) throw notFound('webhook endpoint');
    const base = () =>
      trx('webhook_deliveries').where({ tenant_id: tenantId, endpoint_id: endpointId });
    const [{ n }] = (await base().count({ n: '*' })) as [{ n: number }];
    const q = base()
      .orderBy([
        { column: 'at', order: 'desc' },
        { column: 'delivery_id', order: 'desc' },
      ])
      .limit(limit + 1)
      .select('delivery_id', 'message_id', 'type', 'attempt', 'status', 'error', 'at');
    if (after) q.whereRaw('(at, delivery_id) < (?::timestamptz, ?::uuid)', [after.at, after.id]);
    const rows = (await q) as Row[];
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return {
      items: page.map((r) => ({
        messageId: r.message_id,
        type: r.type,
        attempt: r.attempt,
        status: r.status,
        error: r.error,
        at: r.at.toISOString(),
      })),
      total: Number(n),
      nextCursor: more ? encode(page.at(-1)!) : null,
    };
  });
}
