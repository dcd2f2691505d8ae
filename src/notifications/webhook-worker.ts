// Delivering the outbox's webhook messages (issue 14, Standard Webhooks). A round, per
// tenant with messages due:
//   1. fan out: each new message gets one target row per enabled endpoint subscribed to
//      its type now (migrations/20261208000100_webhooks.ts);
//   2. claim due targets (claimed_until, FOR UPDATE SKIP LOCKED): two replicas never
//      hold the same (message, endpoint) at once;
//   3. send each, signed at its own attempt time, a few at a time; log the attempt and
//      either finish the target (2xx; or its last attempt failed) or schedule its retry;
//   4. settle: a message whose targets are all done is delivered; otherwise its next
//      attempt is its earliest target's, which is what makes its tenant due again.
// At least once: a process that dies after sending and before logging sends that one
// attempt again once its claim lapses. A failing endpoint delays only its own targets,
// and nothing here runs inside a request's or a job's transaction.
import type { Knex } from 'knex';
import { withTenant } from '../db/tenant-scope.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import { repeatEvery } from '../shared/repeat.js';
import { openWebhookSecret, webhookSignature } from './webhook-secret.js';
import { sendWebhook, WEBHOOK_TIMEOUT_MS } from './webhook-send.js';

/**
 * Wait after failed attempt n (1-based) before the next: the schedule of the Standard
 * Webhooks reference implementation (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), eight
 * attempts over about 27.5 hours. The first retry comes within 10 s.
 */
export const RETRY_DELAYS_MS = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;
const FAN_OUT_BATCH = 500;
const CLAIM_BATCH = 50;
const CONCURRENCY = 8;
const TENANT_BUDGET_MS = 10_000;
// Long enough for a batch of timeouts to drain through the concurrency limit.
const CLAIM_MS = Math.ceil(CLAIM_BATCH / CONCURRENCY + 2) * WEBHOOK_TIMEOUT_MS;

export interface WebhookDeliveryOptions {
  clock: Clock;
  secretKey: Uint8Array;
  allowPrivateUrls: boolean;
  timeoutMs?: number;
  logger?: Logger;
}

interface Claimed {
  message_id: string;
  endpoint_id: string;
  attempts: number;
  type: string;
  payload: Record<string, unknown>;
  url: string;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_until: Date | null;
}

/** One round over every tenant; answers how many attempts were made. */
export async function deliverDueWebhooks(
  knex: Knex,
  opts: WebhookDeliveryOptions,
): Promise<number> {
  const { rows: tenants } = (await knex.raw(
    "SELECT t AS id FROM outbox_due_tenants('webhook', ?) AS t",
    [opts.clock.now().toISOString()],
  )) as { rows: Array<{ id: string }> };
  let attempts = 0;
  for (const { id: tenantId } of tenants) {
    try {
      attempts += await deliverTenant(knex, tenantId, opts);
    } catch (err) {
      // One tenant's trouble (a key that does not open, a lost connection) is not the next's.
      opts.logger?.warn('webhook round failed for a tenant', { tenantId, error: err });
    }
  }
  return attempts;
}

/**
 * A tenant's due deliveries, batch after batch while batches come full, for up to
 * TENANT_BUDGET_MS: a backlog (a full reconcile's 100,000 grants) drains at the
 * receivers' pace, and the other tenants of the round still get their turn.
 */
async function deliverTenant(
  knex: Knex,
  tenantId: string,
  opts: WebhookDeliveryOptions,
): Promise<number> {
  const started = Date.now();
  let total = 0;
  for (;;) {
    const n = await deliverBatch(knex, tenantId, opts);
    total += n;
    if (n < CLAIM_BATCH || Date.now() - started > TENANT_BUDGET_MS) return total;
  }
}

async function deliverBatch(
  knex: Knex,
  tenantId: string,
  opts: WebhookDeliveryOptions,
): Promise<number> {
  const now = opts.clock.now().toISOString();
  const claimed = await withTenant(knex, tenantId, async (trx) => {
    await trx.raw(
      `WITH msgs AS (
         SELECT tenant_id, message_id, type FROM outbox
          WHERE tenant_id = ? AND channel = 'webhook' AND delivered_at IS NULL
            AND fanned_out_at IS NULL
          ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED),
       made AS (
         INSERT INTO webhook_targets (tenant_id, message_id, endpoint_id, next_attempt_at)
         SELECT m.tenant_id, m.message_id, e.endpoint_id, ?
           FROM msgs m JOIN webhook_endpoints e
             ON e.tenant_id = m.tenant_id AND NOT e.disabled AND m.type = ANY (e.events)
         ON CONFLICT DO NOTHING)
       UPDATE outbox o SET fanned_out_at = ?
         FROM msgs m WHERE o.tenant_id = m.tenant_id AND o.message_id = m.message_id`,
      [tenantId, FAN_OUT_BATCH, now, now],
    );
    const { rows } = (await trx.raw(
      `WITH claimed AS (
         UPDATE webhook_targets t SET claimed_until = ?, attempts = t.attempts + 1
          WHERE (t.tenant_id, t.message_id, t.endpoint_id) IN (
            SELECT tenant_id, message_id, endpoint_id FROM webhook_targets
             WHERE tenant_id = ? AND done_at IS NULL AND next_attempt_at <= ?
               AND (claimed_until IS NULL OR claimed_until <= ?)
             ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)
          RETURNING t.message_id, t.endpoint_id, t.attempts)
       SELECT c.message_id, c.endpoint_id, c.attempts, o.type, o.payload, e.url, e.secret_sealed,
              e.previous_secret_sealed, e.previous_secret_until
         FROM claimed c
         JOIN outbox o ON o.tenant_id = ? AND o.message_id = c.message_id
         JOIN webhook_endpoints e ON e.tenant_id = ? AND e.endpoint_id = c.endpoint_id`,
      [
        new Date(Date.parse(now) + CLAIM_MS).toISOString(),
        tenantId,
        now,
        now,
        CLAIM_BATCH,
        tenantId,
        tenantId,
      ],
    )) as { rows: Claimed[] };
    return rows;
  });
  await eachLimited(claimed, CONCURRENCY, (c) =>
    attempt(knex, tenantId, c, opts).catch((err: unknown) => {
      // Its claim lapses and it is tried again; the others go on.
      opts.logger?.warn('webhook attempt could not be made', {
        tenantId,
        endpointId: c.endpoint_id,
        messageId: c.message_id,
        error: err,
      });
    }),
  );
  await settle(knex, tenantId, opts.clock.now().toISOString());
  return claimed.length;
}

async function attempt(
  knex: Knex,
  tenantId: string,
  c: Claimed,
  opts: WebhookDeliveryOptions,
): Promise<void> {
  const open = (sealed: string) =>
    openWebhookSecret(opts.secretKey, tenantId, c.endpoint_id, sealed);
  const secrets = [await open(c.secret_sealed)];
  // Within a rotation's overlap the old secret signs too (space-separated signatures).
  if (
    c.previous_secret_sealed &&
    c.previous_secret_until &&
    c.previous_secret_until > opts.clock.now()
  )
    secrets.push(await open(c.previous_secret_sealed));
  const body = JSON.stringify(c.payload);
  // Signed at the attempt's own time: receivers refuse stale timestamps.
  const timestamp = Math.floor(opts.clock.now().getTime() / 1000);
  const result = await sendWebhook(
    c.url,
    {
      'content-type': 'application/json',
      'user-agent': 'Seatkeeper-Webhooks/1',
      'webhook-id': c.message_id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': secrets
        .map((secret) => webhookSignature(secret, c.message_id, timestamp, body))
        .join(' '),
    },
    body,
    { allowPrivateUrls: opts.allowPrivateUrls, timeoutMs: opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS },
  );
  const ok = result.status !== null && result.status >= 200 && result.status < 300;
  const at = opts.clock.now();
  const last = c.attempts >= MAX_ATTEMPTS;
  if (!ok)
    opts.logger?.warn('webhook attempt failed', {
      tenantId,
      endpointId: c.endpoint_id,
      messageId: c.message_id,
      attempt: c.attempts,
      status: result.status,
      error: result.error,
      final: last,
    });
  await withTenant(knex, tenantId, async (trx) => {
    // Only while the target is still at this attempt: a lapsed claim taken over by
    // another worker is theirs to finish. A deleted endpoint took its target and log.
    const n = await trx('webhook_targets')
      .where({
        tenant_id: tenantId,
        message_id: c.message_id,
        endpoint_id: c.endpoint_id,
        attempts: c.attempts,
      })
      .whereNull('done_at')
      .update(
        ok || last
          ? { done_at: at, outcome: ok ? 'delivered' : 'exhausted', claimed_until: null }
          : {
              claimed_until: null,
              next_attempt_at: new Date(at.getTime() + RETRY_DELAYS_MS[c.attempts - 1]!),
            },
      );
    if (n === 0) return;
    await trx('webhook_deliveries').insert({
      tenant_id: tenantId,
      delivery_id: newId(at.getTime()),
      endpoint_id: c.endpoint_id,
      message_id: c.message_id,
      type: c.type,
      attempt: c.attempts,
      status:
        result.status !== null && result.status >= 100 && result.status <= 599
          ? result.status
          : null,
      error: result.error,
      at,
    });
  });
}

/** Messages due whose targets are done become delivered; the rest wait for their next. */
async function settle(knex: Knex, tenantId: string, now: string): Promise<void> {
  await withTenant(knex, tenantId, (trx) =>
    trx.raw(
      `WITH due AS (
         SELECT message_id FROM outbox
          WHERE tenant_id = ? AND channel = 'webhook' AND delivered_at IS NULL
            AND fanned_out_at IS NOT NULL AND next_attempt_at <= ?
          LIMIT 1000 FOR UPDATE SKIP LOCKED),
       pending AS (
         SELECT t.message_id, min(t.next_attempt_at) AS next
           FROM webhook_targets t JOIN due d ON d.message_id = t.message_id
          WHERE t.tenant_id = ? AND t.done_at IS NULL
          GROUP BY t.message_id)
       UPDATE outbox o
          SET delivered_at = CASE WHEN p.next IS NULL THEN ?::timestamptz END,
              next_attempt_at = coalesce(p.next, o.next_attempt_at)
         FROM due d LEFT JOIN pending p ON p.message_id = d.message_id
        WHERE o.tenant_id = ? AND o.message_id = d.message_id`,
      [tenantId, now, tenantId, now, tenantId],
    ),
  );
}

async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export interface WebhookWorker {
  stop(): Promise<void>;
}

/** Deliver every `everyMs` in the background until stopped. */
export function startWebhookWorker(
  knex: Knex,
  opts: WebhookDeliveryOptions & { everyMs: number; logger: Logger },
): WebhookWorker {
  const rounds = repeatEvery(
    opts.everyMs,
    () => deliverDueWebhooks(knex, opts),
    (err) => opts.logger.warn('webhook delivery round failed', { error: err }),
  );
  return { stop: () => rounds.stop() };
}
