// Notifications (issue 14): the outbox written in the changing transaction, and its
// delivery: email, and domain events for webhooks (events.ts) delivered to the tenant's
// endpoints, signed as the Standard Webhooks specification says.
export { enqueue, type OutboxMessage } from './outbox.js';
export {
  EVENT_TYPES,
  publishEvents,
  publishSubscribedEvents,
  subscribedEventTypes,
  type DomainEvent,
  type EventBody,
  type EventType,
} from './events.js';
export {
  deliverDueEmails,
  smtpMailer,
  startEmailWorker,
  type EmailPayload,
  type EmailWorker,
  type Mailer,
} from './email.js';
export {
  createWebhook,
  CreatedWebhookRecord,
  deleteWebhook,
  getWebhook,
  listWebhooks,
  MAX_WEBHOOK_ENDPOINTS,
  rotateWebhookSecret,
  SECRET_OVERLAP_MS,
  updateWebhook,
  WebhookInput,
  WebhookListRecord,
  WebhookPatch,
  WebhookRecord,
  type Webhook,
  type WebhookScope,
  type WebhookSettings,
} from './webhook-endpoints.js';
export {
  DeliveryPageRecord,
  DeliveryRecord,
  listDeliveries,
  MAX_DELIVERIES_LIMIT,
} from './webhook-deliveries.js';
export { webhookSignature } from './webhook-secret.js';
export { isPrivateAddress, WebhookUrlRefused } from './webhook-url.js';
export {
  deliverDueWebhooks,
  MAX_ATTEMPTS,
  RETRY_DELAYS_MS,
  startWebhookWorker,
  type WebhookDeliveryOptions,
  type WebhookWorker,
} from './webhook-worker.js';
