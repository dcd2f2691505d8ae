// Delivering the outbox's email (issue 14) through SMTP with nodemailer (SMTP_URL,
// MAIL_FROM; off when SMTP_URL is unset). At least once: a message is claimed for a
// minute (two replicas never hold it at once), sent, then marked delivered; a failure
// is recorded and retried with exponential backoff (10 s, 20 s, … up to an hour). A
// process killed between sending and marking sends that one message again.
import type { Knex } from 'knex';
import nodemailer from 'nodemailer';
import { withTenant } from '../db/tenant-scope.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../shared/clock.js';
import { repeatEvery } from '../shared/repeat.js';

export interface EmailPayload {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(message: EmailPayload): Promise<void>;
  close(): void;
}

export function smtpMailer(smtpUrl: string, from: string): Mailer {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(m) {
      await transport.sendMail({ from, to: m.to, subject: m.subject, text: m.text });
    },
    close: () => transport.close(),
  };
}

const CLAIM_MS = 60_000;
const BATCH = 50;
const backoffMs = (attempts: number) =>
  Math.min(10_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);

/** Send what is due now, every tenant; returns how many were delivered. */
export async function deliverDueEmails(
  knex: Knex,
  mailer: Mailer,
  opts: { clock: Clock; logger?: Logger },
): Promise<number> {
  const now = opts.clock.now();
  const { rows: tenants } = (await knex.raw(
    "SELECT t AS id FROM outbox_due_tenants('email', ?) AS t",
    [now.toISOString()],
  )) as { rows: Array<{ id: string }> };
  let delivered = 0;
  for (const { id: tenantId } of tenants) {
    const claimed = (await withTenant(knex, tenantId, async (trx) => {
      const { rows } = (await trx.raw(
        `UPDATE outbox o SET claimed_until = ?::timestamptz, attempts = o.attempts + 1
          WHERE (o.tenant_id, o.message_id) IN (
            SELECT tenant_id, message_id FROM outbox
             WHERE tenant_id = ? AND channel = 'email' AND delivered_at IS NULL
               AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
             ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)
          RETURNING o.message_id, o.payload, o.attempts`,
        [
          new Date(now.getTime() + CLAIM_MS).toISOString(),
          tenantId,
          now.toISOString(),
          now.toISOString(),
          BATCH,
        ],
      )) as { rows: Array<{ message_id: string; payload: EmailPayload; attempts: number }> };
      return rows;
    })) as Array<{ message_id: string; payload: EmailPayload; attempts: number }>;
    for (const m of claimed) {
      try {
        await mailer.send(m.payload);
        await withTenant(knex, tenantId, (trx) =>
          trx('outbox').where({ tenant_id: tenantId, message_id: m.message_id }).update({
            delivered_at: opts.clock.now().toISOString(),
            claimed_until: null,
            last_error: null,
          }),
        );
        delivered += 1;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        opts.logger?.warn('email delivery failed; retried later', {
          tenantId,
          messageId: m.message_id,
          error,
        });
        await withTenant(knex, tenantId, (trx) =>
          trx('outbox')
            .where({ tenant_id: tenantId, message_id: m.message_id })
            .update({
              claimed_until: null,
              last_error: error.slice(0, 2000),
              next_attempt_at: new Date(
                opts.clock.now().getTime() + backoffMs(m.attempts),
              ).toISOString(),
            }),
        );
      }
    }
  }
  return delivered;
}

export interface EmailWorker {
  stop(): Promise<void>;
}

/** Deliver every `everyMs` in the background until stopped. */
export function startEmailWorker(
  knex: Knex,
  mailer: Mailer,
  opts: { everyMs: number; clock: Clock; logger: Logger },
): EmailWorker {
  const rounds = repeatEvery(
    opts.everyMs,
    () => deliverDueEmails(knex, mailer, opts),
    (err) => opts.logger.warn('email delivery round failed', { error: err }),
  );
  return {
    async stop() {
      await rounds.stop();
      mailer.close();
    },
  };
}
