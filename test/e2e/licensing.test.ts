// Seats from directory membership, end to end: SCIM pushes users and groups, the admin API
// defines products, licences and rules, and seats follow, exactly and immediately.
import { withTenant } from '../../src/db/tenant-scope.js';
import { verifyTenantChain } from '../../src/audit/verify.js';
import { reconcile } from '../../src/licensing/reconcile.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { ENTERPRISE, GROUP, scimClient, USER, type ScimClient } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;
let api: ApiClient;
const clock = fixedClock('2026-06-01T09:00:00.000Z');

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Licensing');
  const app = testApp(db.knex, undefined, { clock });
  scim = scimClient(app, tenant.scimToken);
  api = apiClient(app, tenant.apiToken);
});
afterAll(() => db.close());

let n = 0;
async function user(dept = 'Design', extra: Record<string, unknown> = {}): Promise<string> {
  n += 1;
  const res = await scim
    .post('/Users', {
      schemas: [USER, ENTERPRISE],
      userName: `lic${n}@example.com`,
      [ENTERPRISE]: { department: dept },
      ...extra,
    })
    .expect(201);
  return res.body.id;
}
async function group(name: string, members: string[] = []): Promise<string> {
  const res = await scim
    .post('/Groups', {
      schemas: [GROUP],
      displayName: name,
      members: members.map((value) => ({ value })),
    })
    .expect(201);
  return res.body.id;
}
const addMembers = (gid: string, ids: string[]) =>
  scim
    .patchOps(`/Groups/${gid}`, [
      { op: 'add', path: 'members', value: ids.map((value) => ({ value })) },
    ])
    .expect(204);
const removeMember = (gid: string, id: string) =>
  scim
    .patchOps(`/Groups/${gid}`, [{ op: 'remove', path: `members[value eq "${id}"]` }])
    .expect(204);
async function product(): Promise<string> {
  return (await api.post('/products', { name: `Figma ${++n}`, vendor: 'Figma' }).expect(201)).body
    .id;
}
async function licence(
  quantity: number | null,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await api.post('/licenses', {
    productId: await product(),
    name: `Pool ${++n}`,
    type: 'subscription',
    quantity,
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.body.item.id;
}
async function rule(licenseId: string, groupId: string, extra: Record<string, unknown> = {}) {
  const res = await api.post('/rules', { licenseId, groupId, ...extra });
  expect(res.status).toBe(201);
  return res.body as { item: { id: string }; seatChanges: { summary: Record<string, number> } };
}
async function seats(
  licenseId: string,
  state?: string,
): Promise<Array<{ userId: string; state: string; id: string; releaseReason: string | null }>> {
  const res = await api
    .get(`/licenses/${licenseId}/seats?limit=500${state ? `&state=${state}` : ''}`)
    .expect(200);
  return res.body.items;
}
const holders = async (licenseId: string) =>
  (await seats(licenseId, 'active')).map((s) => s.userId).sort();

describe('group rules grant seats', () => {
  test('members of the group get seats; a full pool waitlists in order; a freed seat goes to the next in line at once', async () => {
    const lic = await licence(2);
    const [a, b, c] = [await user(), await user(), await user()];
    const g = await group('Design', []);
    await rule(lic, g, { name: 'Design team' });
    await addMembers(g, [a!]);
    clock.advance(1000);
    await addMembers(g, [b!]);
    clock.advance(1000);
    await addMembers(g, [c!]);
    expect(await holders(lic)).toEqual([a, b].sort());
    expect((await seats(lic, 'waitlisted')).map((s) => s.userId)).toEqual([c]);

    await removeMember(g, a!);
    expect(await holders(lic)).toEqual([b, c].sort());
    const released = (await seats(lic, 'released')).find((s) => s.userId === a);
    expect(released?.releaseReason).toBe('no_longer_eligible');
    expect((await verifyTenantChain(db.knex, tenant.id)).ok).toBe(true);
  });

  test('a rule created over an existing group grants seats to its members, and reports the diff', async () => {
    const lic = await licence(10);
    const ids = [await user(), await user()];
    const g = await group('Existing', ids);
    const created = await rule(lic, g);
    expect(created.seatChanges.summary.granted).toBe(2);
    expect(await holders(lic)).toEqual(ids.sort());
  });

  test('nested groups: members of a group inside the rule group get seats', async () => {
    const lic = await licence(null);
    const inner = [await user(), await user()];
    const innerG = await group('Inner', inner);
    const outer = await group('Outer', [innerG]);
    await rule(lic, outer);
    expect(await holders(lic)).toEqual(inner.sort());
    // Taking the inner group out of the outer one takes the seats away.
    await removeMember(outer, innerG);
    expect(await holders(lic)).toEqual([]);
  });

  test('a rule filter narrows the group: department eq "Design"', async () => {
    const lic = await licence(null);
    const designer = await user('Design');
    const seller = await user('Sales');
    const g = await group('Mixed', [designer, seller]);
    await rule(lic, g, { filter: `${ENTERPRISE}:department eq "Design"` });
    expect(await holders(lic)).toEqual([designer]);
    // The seller moves to Design: the attribute change alone grants the seat.
    await scim
      .patchOps(`/Users/${seller}`, [
        { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Design' },
      ])
      .expect(200);
    expect(await holders(lic)).toEqual([designer, seller].sort());
  });

  test('two rules for one licence give one seat, from the rule with the best priority', async () => {
    const lic = await licence(null);
    const u = await user();
    const g1 = await group('P1', [u]);
    const g2 = await group('P2', [u]);
    await rule(lic, g1, { priority: 50 });
    const best = await rule(lic, g2, { priority: 10 });
    const live = (await seats(lic)).filter((s) => s.state !== 'released');
    expect(live).toHaveLength(1);
    expect((await api.get(`/licenses/${lic}/seats`)).body.items[0].ruleId).toBe(best.item.id);
  });

  test('with a reclaim grace of 0, deprovisioning (active=false) releases the seat at once; reactivation brings it back', async () => {
    const lic = await licence(5, { reclaimGraceDays: 0 });
    const u = await user();
    await rule(lic, await group('Deprov', [u]));
    expect(await holders(lic)).toEqual([u]);
    await scim.patchOps(`/Users/${u}`, [{ op: 'replace', value: { active: false } }]).expect(200);
    expect(await holders(lic)).toEqual([]);
    expect((await seats(lic, 'released'))[0]?.releaseReason).toBe('deprovisioned');
    await scim.patchOps(`/Users/${u}`, [{ op: 'replace', value: { active: true } }]).expect(200);
    expect(await holders(lic)).toEqual([u]);
  });

  test('deleting the user releases the seat', async () => {
    const lic = await licence(5);
    const u = await user();
    await rule(lic, await group('Del', [u]));
    await scim.delete(`/Users/${u}`).expect(204);
    expect((await seats(lic, 'released'))[0]).toMatchObject({
      userId: u,
      releaseReason: 'user_deleted',
    });
  });

  test('removal grace: a removed member keeps the seat pending reclaim, restored if re-added, reclaimed after the grace', async () => {
    const lic = await licence(5);
    const u = await user();
    const g = await group('Grace', [u]);
    await rule(lic, g, { removalGraceDays: 7 });
    await removeMember(g, u);
    expect((await seats(lic, 'pending_reclaim')).map((s) => s.userId)).toEqual([u]);
    await addMembers(g, [u]);
    expect(await holders(lic)).toEqual([u]);
    await removeMember(g, u);
    clock.advance(8 * 86_400_000);
    await withTenant(db.knex, tenant.id, (trx) =>
      reconcile(trx, tenant.id, { all: true }, { clock, actor: { type: 'job' } }),
    );
    expect((await seats(lic, 'released'))[0]).toMatchObject({
      userId: u,
      releaseReason: 'no_longer_eligible',
    });
  });

  test('manual seats are never removed by rule changes', async () => {
    const lic = await licence(3);
    const u = await user();
    const manual = await api.post('/seats', { licenseId: lic, userId: u });
    expect(manual.status).toBe(201);
    expect(manual.body).toMatchObject({ state: 'active', source: 'manual' });
    const g = await group('Manual', [u]);
    const r = await rule(lic, g);
    await removeMember(g, u);
    await api.delete(`/rules/${r.item.id}`).expect(200);
    expect(await holders(lic)).toEqual([u]);
    // Release frees it; transfer moves it without it returning to the pool.
    const other = await user();
    const moved = await api.post(`/seats/${manual.body.id}/transfer`, { userId: other });
    expect(moved.status).toBe(201);
    expect(await holders(lic)).toEqual([other]);
    expect((await api.delete(`/seats/${moved.body.id}`)).body.state).toBe('released');
  });
});

describe('dry-run, explain, compliance', () => {
  test('?dryRun=true returns the exact diff and commits nothing', async () => {
    const lic = await licence(1);
    const ids = [await user(), await user()];
    const g = await group('DryRun', ids);
    const before = await db.owner('audit_events').where({ tenant_id: tenant.id }).count({ n: '*' });
    const res = await api.post('/rules?dryRun=true', { licenseId: lic, groupId: g });
    expect(res.status).toBe(200);
    expect(res.body.dryRun).toBe(true);
    expect(res.body.seatChanges.summary).toMatchObject({ granted: 1, waitlisted: 1 });
    expect(await seats(lic)).toEqual([]);
    expect(
      (await api.get('/rules?limit=500')).body.items.some(
        (r: { licenseId: string }) => r.licenseId === lic,
      ),
    ).toBe(false);
    expect(
      await db.owner('audit_events').where({ tenant_id: tenant.id }).count({ n: '*' }),
    ).toEqual(before);
  });

  test('explain names the rule and group for a seat, the place in line, and why a restricted user has none', async () => {
    const lic = await licence(1, { restrictions: { departments: ['Design', 'Eng'] } });
    const first = await user('Design');
    const second = await user('Eng');
    const outsider = await user('Sales');
    const inner = await group('Explain inner', [first]);
    const g = await group('Explain', [inner]);
    await rule(lic, g, { name: 'Explainers' });
    await addMembers(g, [second, outsider]);
    const seated = (await api.get(`/users/${first}/seats`)).body;
    expect(seated.seats[0]).toMatchObject({ state: 'active', source: 'rule' });
    expect(seated.seats[0].explanation).toMatch(
      /rule 'Explainers'.*group 'Explain' \(through 'Explain inner'\)/,
    );
    const waiting = (await api.get(`/users/${second}/seats`)).body;
    expect(waiting.seats[0]).toMatchObject({ state: 'waitlisted', position: 1 });
    expect(waiting.seats[0].explanation).toMatch(/pool is full \(1 of 1 in use\)/);
    const out = (await api.get(`/users/${outsider}/seats`)).body;
    expect(out.seats).toEqual([]);
    expect(out.notSeated[0].reason).toMatch(/restricted: department Sales/);
  });

  test('compliance: used vs purchased, utilisation, over-deployment and threshold alerts', async () => {
    const lic = await licence(2, {
      fullPolicy: 'overdeploy',
      overdeployLimit: 1,
      cost: { unitCost: 10, currency: 'EUR' },
    });
    const ids = [await user(), await user(), await user(), await user()];
    await rule(lic, await group('Compliance', ids));
    const c = (await api.get(`/licenses/${lic}/compliance`)).body;
    expect(c).toMatchObject({
      purchased: 2,
      used: 3,
      waitlisted: 1,
      available: 0,
      utilisationPercent: 150,
    });
    expect(c.statuses).toContain('over_deployed');
    expect(c.thresholdsCrossed).toEqual([80, 90, 100]);
    const alerts = await db
      .owner('audit_events')
      .where({ tenant_id: tenant.id, action: 'license.threshold_crossed', target_id: lic });
    expect(alerts).toHaveLength(1);
    const summary = (await api.get('/compliance')).body;
    expect(summary.overDeployed).toBeGreaterThanOrEqual(1);
    expect(summary.score).toBeLessThan(100);
  });

  test('an expired licence releases its seats with the reason', async () => {
    const lic = await licence(5);
    const u = await user();
    await rule(lic, await group('Expiry', [u]));
    const res = await api.patch(`/licenses/${lic}`, { endsAt: '2026-01-01T00:00:00Z' });
    expect(res.status).toBe(200);
    expect(res.body.seatChanges.summary.revoked).toBe(1);
    expect((await seats(lic, 'released'))[0]?.releaseReason).toBe('license_expired');
    expect((await api.get(`/licenses/${lic}/compliance`)).body.statuses).toContain('expired');
  });

  test('a full reconcile changes nothing the second time', async () => {
    const run = () =>
      withTenant(db.knex, tenant.id, (trx) =>
        reconcile(trx, tenant.id, { all: true }, { clock, actor: { type: 'job' } }),
      );
    await run();
    expect(await run()).toEqual([]);
  });
});

describe('the admin API', () => {
  test('validates input with RFC 9457 problems naming each field', async () => {
    const res = await api.post('/licenses', {
      productId: 'nope',
      name: '',
      type: 'forever',
      quantity: -1,
    });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'name',
      'productId',
      'quantity',
      'type',
    ]);
  });

  test('a rule with an invalid SCIM filter is refused', async () => {
    const lic = await licence(1);
    const res = await api.post('/rules', {
      licenseId: lic,
      groupId: await group('Bad filter'),
      filter: 'department eq',
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_filter');
  });

  test('a rule naming a group that does not exist is refused on create and on edit (422)', async () => {
    const lic = await licence(1);
    const missing = '00000000-0000-4000-8000-00000000dead';
    const created = await api.post('/rules', { licenseId: lic, groupId: missing });
    expect(created.status).toBe(422);
    const rule = await api.post('/rules', { licenseId: lic, groupId: await group('Real group') });
    expect(rule.status).toBe(201);
    const edited = await api.patch(`/rules/${rule.body.item.id}`, { groupId: missing });
    expect(edited.status).toBe(422);
    const after = await api.get(`/rules/${rule.body.item.id}`);
    expect(after.body.groupId).toBe(rule.body.item.groupId);
  });

  test('lists page with items, total and nextCursor', async () => {
    const first = await api.get('/products?limit=2').expect(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.total).toBeGreaterThan(2);
    const second = await api.get(`/products?limit=2&cursor=${first.body.nextCursor}`).expect(200);
    expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
  });

  test('users and groups are listed by their SCIM ids', async () => {
    const u = await user();
    expect((await api.get(`/users/${u}`)).body).toMatchObject({ id: u, department: 'Design' });
    expect((await api.get('/groups')).body.total).toBeGreaterThan(0);
  });

  test('the OpenAPI 3.1 document is generated from the validating schemas', async () => {
    const res = await api.get('/openapi.json').expect(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.body.components.schemas.LicenseInput.properties.type.enum).toEqual([
      'perpetual',
      'subscription',
      'trial',
      'floating',
      'node-locked',
      'site',
    ]);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/licenses/{id}/seats',
        '/rules',
        '/seats/{id}/transfer',
        '/compliance',
      ]),
    );
    // A valid OpenAPI 3.1 document, by an independent validator.
    const { validate } = await import('@readme/openapi-parser');
    expect(await validate(res.body)).toMatchObject({ valid: true, warnings: [] });
  });

  test("every route answers 404 to another tenant's token for this tenant's ids, and changes nothing", async () => {
    const other = await newTenant(db.knex, 'Isolation');
    const otherApi = apiClient(testApp(db.knex), other.apiToken);
    const u = await user();
    const g = await group('Isolated', [u]);
    const lic = await licence(3);
    const prod = (await api.get(`/licenses/${lic}`)).body.productId as string;
    const r = (await rule(lic, g)).item.id;
    const seat = (await api.get(`/licenses/${lic}/seats`)).body.items[0].id as string;
    const manualLic = await licence(3);
    const manual = (await api.post('/seats', { licenseId: manualLic, userId: u })).body
      .id as string;
    const probes: Array<[string, string, unknown?]> = [
      ['get', `/products/${prod}`],
      ['patch', `/products/${prod}`, { name: 'x' }],
      ['delete', `/products/${prod}`],
      ['get', `/licenses/${lic}`],
      ['patch', `/licenses/${lic}`, { quantity: 0 }],
      ['delete', `/licenses/${lic}`],
      ['get', `/licenses/${lic}/seats`],
      ['get', `/licenses/${lic}/compliance`],
      ['get', `/rules/${r}`],
      ['patch', `/rules/${r}`, { priority: 1 }],
      ['delete', `/rules/${r}`],
      ['post', '/seats', { licenseId: lic, userId: u }],
      ['delete', `/seats/${manual}`],
      ['post', `/seats/${manual}/transfer`, { userId: u }],
      ['get', `/users/${u}`],
      ['get', `/users/${u}/seats`],
      ['get', `/groups/${g}`],
    ];
    for (const [method, path, body] of probes) {
      const res =
        method === 'get' || method === 'delete'
          ? await otherApi[method](path)
          : await otherApi[method as 'post' | 'patch'](path, body);
      expect([path, method, res.status]).toEqual([path, method, 404]);
    }
    expect((await otherApi.post('/rules', { licenseId: lic, groupId: g })).status).toBe(404);
    expect((await otherApi.get('/compliance')).body.licenses).toBe(0);
    expect(await holders(lic)).toEqual([u]);
    expect((await api.get(`/seats/${seat}`)).status).toBe(405); // seats are read per licence: DELETE only
    expect(
      (await api.get(`/licenses/${manualLic}/seats?state=active`)).body.items.map(
        (s: { id: string }) => s.id,
      ),
    ).toEqual([manual]);
  });

  test("another tenant's token sees none of it", async () => {
    const other = await newTenant(db.knex, 'Other licensing');
    const lic = await licence(1);
    const otherApi = apiClient(testApp(db.knex), other.apiToken);
    expect((await otherApi.get(`/licenses/${lic}`)).status).toBe(404);
    expect((await otherApi.get(`/licenses/${lic}/seats`)).status).toBe(404);
    expect((await otherApi.patch(`/licenses/${lic}`, { quantity: 100 })).status).toBe(404);
    expect((await otherApi.get('/licenses')).body.total).toBe(0);
    expect((await otherApi.get('/users')).body.total).toBe(0);
  });
});
