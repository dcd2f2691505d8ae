// Webhook events from the seats' whole life (issue 14, "Event types at least: seat.granted,
// seat.waitlisted, seat.reclaim_scheduled, seat.restored, seat.reclaimed"): what the rules,
// SCIM deprovisioning, the full reconcile and an admin's manual seats do reaches a real
// receiver as the matching event, with the seat, user and licence ids. Delivered after
// each step (receivers are promised no order within a round); the clock is moved, not
// waited for.
import { randomBytes } from 'node:crypto';
import { reconcileTenant } from '../../src/licensing/full-reconcile.js';
import { deliverDueWebhooks } from '../../src/notifications/index.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, USER, type ScimClient } from '../support/scim.js';
import { startReceiver, type Receiver } from '../support/webhook-receiver.js';

let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;
let api: ApiClient;
let receiver: Receiver;
const clock = fixedClock('2026-12-08T09:00:00.000Z');
const secretKey = new Uint8Array(randomBytes(32));
const deliver = () => deliverDueWebhooks(db.knex, { clock, secretKey, allowPrivateUrls: true });

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Webhook events');
  const app = testApp(db.knex, undefined, {
    clock,
    webhooks: { secretKey, allowPrivateUrls: true },
  });
  scim = scimClient(app, tenant.scimToken);
  api = apiClient(app, tenant.apiToken);
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await db.close();
});

let n = 0;
const endpoint = async (path: string, events: string[]) =>
  (await api.post('/webhooks', { url: `${receiver.base}${path}`, events }).expect(201)).body as {
    id: string;
  };
const at = (path: string) => receiver.at(path);
test("a seat's life reaches the receiver: granted, waitlisted, reclaim scheduled, restored, reclaimed, and the next in line granted (issue 14)", async () => {
  await endpoint('/life', [
    'seat.granted',
    'seat.waitlisted',
    'seat.reclaim_scheduled',
    'seat.restored',
    'seat.reclaimed',
  ]);
  const user = async () =>
    (
      await scim
        .post('/Users', { schemas: [USER], userName: `life${++n}@example.com`, active: true })
        .expect(201)
    ).body.id as string;
  const a = await user();
  const group = (
    await scim
      .post('/Groups', { schemas: [GROUP], displayName: `Life ${n}`, members: [{ value: a }] })
      .expect(201)
  ).body.id as string;
  const product = (await api.post('/products', { name: `Life ${n}` }).expect(201)).body.id;
  const licence = (
    await api
      .post('/licenses', {
        productId: product,
        name: `Life ${n}`,
        type: 'subscription',
        quantity: 1,
        reclaimGraceDays: 3,
      })
      .expect(201)
  ).body.item.id as string;
  // Delivered after each step: receivers are promised no order within a round.
  const steps: Array<Array<[string, unknown, unknown]>> = [];
  const step = async () => {
    receiver.received.length = 0;
    await deliver();
    const bodies = at('/life').map(
      (r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> },
    );
    for (const x of bodies) expect(x.data.licenseId).toBe(licence);
    steps.push(
      bodies
        .map((x): [string, unknown, unknown] => [x.type, x.data.userId, x.data.reason])
        .sort((p, q) => p[0].localeCompare(q[0])),
    );
  };
  await api.post('/rules', { licenseId: licence, groupId: group }).expect(201);
  await step();
  const b = await user();
  await scim
    .patchOps(`/Groups/${group}`, [{ op: 'add', path: 'members', value: [{ value: b }] }])
    .expect(204);
  await step();
  const active = async (on: boolean) => {
    clock.advance(1000);
    await scim.patchOps(`/Users/${a}`, [{ op: 'replace', path: 'active', value: on }]).expect(200);
    await step();
  };
  await active(false);
  await active(true);
  await active(false);
  clock.advance(4 * 86_400_000);
  await reconcileTenant(db.knex, tenant.id, { clock, actor: { type: 'job', id: 'test' } });
  await step();
  expect(steps).toEqual([
    [['seat.granted', a, 'eligible']],
    [['seat.waitlisted', b, 'pool_full']],
    [['seat.reclaim_scheduled', a, 'deprovisioned']],
    [['seat.restored', a, 'eligible_again']],
    [['seat.reclaim_scheduled', a, 'deprovisioned']],
    [
      ['seat.granted', b, 'seat_freed'],
      ['seat.reclaimed', a, 'deprovisioned'],
    ],
  ]);
});

test("an admin's seats reach the receiver: assigned into a full pool (waitlisted), released, transferred (issue 14)", async () => {
  await endpoint('/manual', ['seat.granted', 'seat.waitlisted', 'seat.released', 'seat.reclaimed']);
  const person = async () =>
    (
      await scim
        .post('/Users', { schemas: [USER], userName: `manual${++n}@example.com`, active: true })
        .expect(201)
    ).body.id as string;
  const [a, b, c] = [await person(), await person(), await person()];
  const product = (await api.post('/products', { name: `Manual ${n}` }).expect(201)).body.id;
  const licence = (
    await api
      .post('/licenses', {
        productId: product,
        name: `Manual ${n}`,
        type: 'subscription',
        quantity: 1,
      })
      .expect(201)
  ).body.item.id as string;
  const steps: string[][] = [];
  const step = async () => {
    clock.advance(1000);
    receiver.received.length = 0;
    await deliver();
    steps.push(
      at('/manual')
        .map((r) => JSON.parse(r.body) as { type: string; data: Record<string, string> })
        .map(
          (x) =>
            `${x.type} ${x.data.userId === a ? 'a' : x.data.userId === b ? 'b' : 'c'} ${x.data.reason}`,
        )
        .sort(),
    );
  };
  const seatA = (await api.post('/seats', { licenseId: licence, userId: a }).expect(201)).body.id;
  await step();
  await api.post('/seats', { licenseId: licence, userId: b }).expect(201);
  await step();
  await api.delete(`/seats/${seatA}`).expect(200);
  await step();
  const seatB = (
    (await api.get(`/licenses/${licence}/seats`).expect(200)).body.items as Array<{
      id: string;
      userId: string;
      state: string;
    }>
  ).find((s) => s.userId === b && s.state === 'active')!.id;
  await api.post(`/seats/${seatB}/transfer`, { userId: c }).expect(201);
  await step();
  expect(steps).toEqual([
    ['seat.granted a seat_freed'],
    ['seat.waitlisted b pool_full'],
    ['seat.granted b seat_freed', 'seat.released a released_by_admin'],
    ['seat.granted c transferred', 'seat.released b transferred'],
  ]);
});
