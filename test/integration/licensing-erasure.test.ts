// GDPR erasure reaches a person's seat history: every seat event names its holder as the
// subject, so erasing them removes the details (licence, rule, reason, their id) while
// the events and the chain stay verifiable.
import { eraseSubject } from '../../src/audit/erase.js';
import { verifyTenantChain } from '../../src/audit/verify.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, userBody, type ScimClient } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;
let api: ApiClient;

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Erasure of seat history');
  const app = testApp(db.knex);
  scim = scimClient(app, tenant.scimToken);
  api = apiClient(app, tenant.apiToken);
});
afterAll(() => db.close());

test('erasing a user erases the payloads of their seat events, and only theirs', async () => {
  const alice = (await scim.post('/Users', userBody('alice@erasure.example')).expect(201)).body.id;
  const bob = (await scim.post('/Users', userBody('bob@erasure.example')).expect(201)).body.id;
  const group = (
    await scim
      .post('/Groups', { schemas: [GROUP], displayName: 'Design', members: [{ value: alice }] })
      .expect(201)
  ).body.id;
  const productId = (await api.post('/products', { name: 'Figma' }).expect(201)).body.id;
  const licenseId = (
    await api
      .post('/licenses', { productId, name: 'Figma', type: 'subscription', quantity: 5 })
      .expect(201)
  ).body.item.id;
  await api.post('/rules', { licenseId, groupId: group }).expect(201); // alice: seat.granted
  await api.post('/seats', { licenseId, userId: bob }).expect(201); // bob: seat.assigned

  const seatPayloads = async (userId: string) =>
    db
      .owner('audit_events as e')
      .where({ 'e.tenant_id': tenant.id, 'e.target_type': 'seat', 'e.subject_id': userId })
      .orderBy('e.seq')
      .select('e.action', 'e.body', 'e.erased_at');
  expect((await seatPayloads(alice)).map((p) => p.action)).toEqual(['seat.granted']);
  expect((await seatPayloads(bob)).map((p) => p.action)).toContain('seat.assigned');

  // Her user.created event is a payload of hers too.
  expect(
    await eraseSubject(db.knex, tenant.id, alice, {
      actor: { type: 'user', id: 'dpo' },
      reason: 'GDPR request',
    }),
  ).toBe(2);
  const hers = await seatPayloads(alice);
  expect(hers).toEqual([{ action: 'seat.granted', body: null, erased_at: expect.any(Date) }]);
  const his = await seatPayloads(bob);
  expect(his.length).toBeGreaterThan(0);
  for (const p of his)
    expect(p).toMatchObject({ body: { licenseId, userId: bob }, erased_at: null });
  expect(await verifyTenantChain(db.knex, tenant.id)).toMatchObject({ ok: true });
});
