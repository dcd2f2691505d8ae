// Webhook endpoints (issue 14): a tenant's subscriptions, each a URL, the event types it
// wants and its signing secret (shown once, at creation). Each change is audited in its
// own transaction; the URL is checked against the private-address policy
// (webhook-url.ts) before anything is written.
import type { Knex } from 'knex';
import { z } from 'zod';
import { appendAuditEvent, type Actor } from '../audit/index.js';
import { withTenant } from '../db/tenant-scope.js';
import type { Clock } from '../shared/clock.js';
import { conflict, notFound } from '../shared/errors.js';
import { isUuid, newId } from '../shared/ids.js';
import { EVENT_TYPES, type EventType } from './events.js';
import { newWebhookSecret, sealWebhookSecret } from './webhook-secret.js';
import { checkWebhookUrl, MAX_WEBHOOK_URL_LENGTH, type Lookup } from './webhook-url.js';

/** After a rotation, how long the old secret still signs beside the new one. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;

/** Endpoints per tenant: each message is sent to each, so the fan-out stays bounded. */
export const MAX_WEBHOOK_ENDPOINTS = 20;

export interface WebhookSettings {
  /** The key sealing endpoint secrets (the service's SSO_SECRET_KEY_FILE key). */
  secretKey: Uint8Array;
  /** WEBHOOK_ALLOW_PRIVATE_URLS: http and private addresses allowed (not production). */
  allowPrivateUrls: boolean;
  /** Name resolution for the URL check (tests); default the system's. */
  lookup?: Lookup;
}

export interface WebhookScope {
  knex: Knex;
  tenantId: string;
  actor: Actor;
  clock: Clock;
  settings: WebhookSettings;
}

const eventType = z.enum(EVENT_TYPES, {
  error: (issue) =>
    `unknown event type ${JSON.stringify(issue.input)}; known: ${EVENT_TYPES.join(', ')}`,
});
const fields = {
  url: z.string().trim().min(1).max(MAX_WEBHOOK_URL_LENGTH),
  events: z.array(eventType).min(1).max(EVENT_TYPES.length),
  description: z.string().trim().max(200).nullable(),
  disabled: z.boolean(),
};
export const WebhookInput = z.strictObject({
  ...fields,
  description: fields.description.optional(),
  disabled: fields.disabled.optional(),
});
export const WebhookPatch = z
  .strictObject(fields)
  .partial()
  .refine((p) => Object.keys(p).length > 0, { error: 'nothing to change' });

export const WebhookRecord = z.object({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.enum(EVENT_TYPES)),
  description: z.string().nullable(),
  disabled: z.boolean(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Webhook = z.infer<typeof WebhookRecord>;
export const CreatedWebhookRecord = WebhookRecord.extend({
  secret: z.string().describe('whsec_…: the Standard Webhooks signing secret, shown only now'),
});
export const WebhookListRecord = z.object({
  items: z.array(WebhookRecord),
  total: z.number().int().min(0),
  nextCursor: z.string().nullable().describe('Always null: a tenant has at most 20 endpoints'),
});

interface Row {
  endpoint_id: string;
  url: string;
  events: EventType[];
  description: string | null;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
}
const COLUMNS = [
  'endpoint_id',
  'url',
  'events',
  'description',
  'disabled',
  'created_at',
  'updated_at',
];
const toRecord = (r: Row): Webhook => ({
  id: r.endpoint_id,
  url: r.url,
  events: r.events,
  description: r.description,
  disabled: r.disabled,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});
const unique = (events: EventType[]) => EVENT_TYPES.filter((t) => events.includes(t));

export async function createWebhook(
  ctx: WebhookScope,
  body: unknown,
): Promise<Webhook & { secret: string }> {
  const input = WebhookInput.parse(body);
  const url = (await checkWebhookUrl(input.url, ctx.settings)).href;
  const endpointId = newId();
  const secret = newWebhookSecret();
  const sealed = await sealWebhookSecret(ctx.settings.secretKey, ctx.tenantId, endpointId, secret);
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    // The count and the insert race only with another create of this tenant: the
    // tenant's row lock serialises them, so the limit holds under concurrency.
    await trx('tenants').where({ tenant_id: ctx.tenantId }).forUpdate().first('tenant_id');
    const [{ n }] = (await trx('webhook_endpoints')
      .where({ tenant_id: ctx.tenantId })
      .count({ n: '*' })) as [{ n: number }];
    if (Number(n) >= MAX_WEBHOOK_ENDPOINTS)
      throw conflict(`a tenant has at most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints`);
    const now = ctx.clock.now();
    const [row] = (await trx('webhook_endpoints')
      .insert({
        tenant_id: ctx.tenantId,
        endpoint_id: endpointId,
        url,
        events: unique(input.events),
        description: input.description ?? null,
        secret_sealed: sealed,
        disabled: input.disabled ?? false,
        created_at: now,
        updated_at: now,
      })
      .returning(COLUMNS)) as Row[];
    const record = toRecord(row!);
    await audit(trx, ctx, 'webhook.created', endpointId, {
      url: record.url,
      events: record.events,
      disabled: record.disabled,
    });
    return { ...record, secret };
  });
}

export async function listWebhooks(
  knex: Knex,
  tenantId: string,
): Promise<{ items: Webhook[]; total: number; nextCursor: null }> {
  const rows = (await withTenant(knex, tenantId, (trx) =>
    trx('webhook_endpoints').where({ tenant_id: tenantId }).orderBy('endpoint_id').select(COLUMNS),
  )) as Row[];
  return { items: rows.map(toRecord), total: rows.length, nextCursor: null };
}

export async function getWebhook(knex: Knex, tenantId: string, id: string): Promise<Webhook> {
  if (!isUuid(id)) throw notFound('webhook endpoint');
  const row = (await withTenant(knex, tenantId, (trx) =>
    trx('webhook_endpoints').where({ tenant_id: tenantId, endpoint_id: id }).first(COLUMNS),
  )) as Row | undefined;
  if (!row) throw notFound('webhook endpoint');
  return toRecord(row);
}

export async function updateWebhook(
  ctx: WebhookScope,
  id: string,
  body: unknown,
): Promise<Webhook> {
  if (!isUuid(id)) throw notFound('webhook endpoint');
  const patch = WebhookPatch.parse(body);
  const url =
    patch.url === undefined ? undefined : (await checkWebhookUrl(patch.url, ctx.settings)).href;
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const now = ctx.clock.now();
    const [row] = (await trx('webhook_endpoints')
      .where({ tenant_id: ctx.tenantId, endpoint_id: id })
      .update({
        ...(url === undefined ? {} : { url }),
        ...(patch.events === undefined ? {} : { events: unique(patch.events) }),
        ...(patch.description === undefined ? {} : { description: patch.description }),
        ...(patch.disabled === undefined ? {} : { disabled: patch.disabled }),
        updated_at: now,
      })
      .returning(COLUMNS)) as Row[];
    if (!row) throw notFound('webhook endpoint');
    if (row.disabled) {
      // A disabled endpoint is owed nothing: what it was still to be retried is dropped
      // (logged as the attempts made), so its messages can count as delivered.
      await trx('webhook_targets')
        .where({ tenant_id: ctx.tenantId, endpoint_id: id })
        .whereNull('done_at')
        .update({ done_at: now, outcome: 'abandoned', claimed_until: null });
    }
    await audit(trx, ctx, 'webhook.updated', id, {
      ...patch,
      ...(url === undefined ? {} : { url }),
    });
    return toRecord(row);
  });
}

/**
 * A new secret, shown once. For SECRET_OVERLAP_MS every request is signed with both
 * (the specification's space-separated signatures), so a receiver can switch over
 * without dropping a message.
 */
export async function rotateWebhookSecret(
  ctx: WebhookScope,
  id: string,
): Promise<Webhook & { secret: string }> {
  if (!isUuid(id)) throw notFound('webhook endpoint');
  const secret = newWebhookSecret();
  const sealed = await sealWebhookSecret(ctx.settings.secretKey, ctx.tenantId, id, secret);
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const now = ctx.clock.now();
    const [row] = (await trx('webhook_endpoints')
      .where({ tenant_id: ctx.tenantId, endpoint_id: id })
      .update({
        previous_secret_sealed: trx.ref('secret_sealed'),
        previous_secret_until: new Date(now.getTime() + SECRET_OVERLAP_MS),
        secret_sealed: sealed,
        updated_at: now,
      })
      .returning(COLUMNS)) as Row[];
    if (!row) throw notFound('webhook endpoint');
    await audit(trx, ctx, 'webhook.secret_rotated', id, {});
    return { ...toRecord(row), secret };
  });
}

export async function deleteWebhook(ctx: WebhookScope, id: string): Promise<void> {
  if (!isUuid(id)) throw notFound('webhook endpoint');
  await withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    // Its targets and its deliveries log go with it (ON DELETE CASCADE).
    const n = await trx('webhook_endpoints')
      .where({ tenant_id: ctx.tenantId, endpoint_id: id })
      .delete();
    if (n === 0) throw notFound('webhook endpoint');
    await audit(trx, ctx, 'webhook.deleted', id, {});
  });
}

function audit(
  trx: Knex.Transaction,
  ctx: WebhookScope,
  action: 'webhook.created' | 'webhook.updated' | 'webhook.secret_rotated' | 'webhook.deleted',
  id: string,
  payload: Record<string, unknown>,
) {
  return appendAuditEvent(
    trx,
    ctx.tenantId,
    { action, actor: ctx.actor, target: { type: 'webhook', id }, payload },
    ctx.clock,
  );
}
