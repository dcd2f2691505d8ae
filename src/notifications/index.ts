// Notifications (issue 14): the outbox written in the changing transaction, and its
// delivery: email, and domain events for webhooks (events.ts).
export { enqueue, type OutboxMessage } from './outbox.js';
export {
  EVENT_TYPES,
  publishEvents,
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
