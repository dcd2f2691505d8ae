// Domain events for webhooks (issue 14, "Events are written to an outbox in the same
// transaction as the change that caused them"): publishEvents writes the body receivers
// get (Standard Webhooks: {"type", "timestamp", "data"}) on the outbox's webhook channel,
// once per dedupe key, and only when the transaction commits.
import { withTenant } from '../../src/db/tenant-scope.js';
import { publishEvents } from '../../src/notifications/index.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';

let db: TestDb;
let tenantId: string;
const NOW = new Date('2026-12-08T00:00:00.000Z');

beforeAll(async () => {
  db = await openTestDb();
  tenantId = (await newTenant(db.knex)).id;
});
afterAll(() => db.close());

const rows = () =>
  db.owner('outbox').where({ tenant_id: tenantId, channel: 'webhook' }).orderBy('created_at');

test('an event is one webhook message whose payload is the body receivers get', async () => {
  const data = { seatId: 's1', userId: 'u1', licenseId: 'l1' };
  const n = await withTenant(db.knex, tenantId, (trx) =>
    publishEvents(trx, tenantId, [{ type: 'seat.granted', data, dedupeKey: 's1' }], NOW),
  );
  expect(n).toBe(1);
  const [row] = await rows();
  expect(row).toMatchObject({ type: 'seat.granted', dedupe_key: 'seat.granted:s1' });
  expect(row.payload).toEqual({ type: 'seat.granted', timestamp: NOW.toISOString(), data });
});

test('the same dedupe key publishes once; another type with the same key is its own event', async () => {
  const again = await withTenant(db.knex, tenantId, (trx) =>
    publishEvents(
      trx,
      tenantId,
      [
        { type: 'seat.granted', data: {}, dedupeKey: 's1' },
        { type: 'seat.reclaimed', data: {}, dedupeKey: 's1' },
      ],
      NOW,
    ),
  );
  expect(again).toBe(1);
  expect((await rows()).map((r) => r.type)).toEqual(['seat.granted', 'seat.reclaimed']);
});

test('a transaction that rolls back publishes nothing', async () => {
  await expect(
    withTenant(db.knex, tenantId, async (trx) => {
      await publishEvents(
        trx,
        tenantId,
        [{ type: 'license.expired', data: {}, dedupeKey: 'x' }],
        NOW,
      );
      throw new Error('the change failed');
    }),
  ).rejects.toThrow('the change failed');
  expect((await rows()).map((r) => r.type)).not.toContain('license.expired');
});
