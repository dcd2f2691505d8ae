// Notifications (issue 14): the outbox written in the changing transaction, and its
// delivery. Email now; webhooks join on the same outbox.
export { enqueue, type OutboxMessage } from './outbox.js';
export {
  deliverDueEmails,
  smtpMailer,
  startEmailWorker,
  type EmailPayload,
  type EmailWorker,
  type Mailer,
} from './email.js';
