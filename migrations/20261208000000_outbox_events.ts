// The outbox carries events for webhooks too (issue 14): a domain event ("seat.granted",
// "license.expiring", …) is written to the outbox in the transaction of the change that
// caused it, on the channel 'webhook', and delivered to the tenant's subscribed endpoints
// afterwards. Only the channel's CHECK changes.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE outbox DROP CONSTRAINT outbox_channel_check;
    ALTER TABLE outbox ADD CONSTRAINT outbox_channel_check CHECK (channel IN ('email', 'webhook'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DELETE FROM outbox WHERE channel = 'webhook';
    ALTER TABLE outbox DROP CONSTRAINT outbox_channel_check;
    ALTER TABLE outbox ADD CONSTRAINT outbox_channel_check CHECK (channel IN ('email'));
  `);
}
