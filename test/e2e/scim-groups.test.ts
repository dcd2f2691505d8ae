// RFC 7644 §3.3–3.6 for Groups (RFC 7643 §4.2), members included, over HTTP.
import { DirectoryHooks, type DirectoryChange } from '../../src/directory/changes.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, userBody, type ScimClient } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;
const changes: DirectoryChange[] = [];
const users: string[] = [];

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'SCIM groups');
  const hooks = new DirectoryHooks();
  hooks.on(async (_t, tenantId, c) => {
    if (tenantId === tenant.id) changes.push(c);
  });
  scim = scimClient(testApp(db.knex, undefined, { hooks }), tenant.scimToken);
  for (let i = 0; i < 5; i++)
    users.push((await scim.post('/Users', userBody(`g${i}@example.com`)).expect(201)).body.id);
});
afterAll(() => db.close());

const members = (ids: string[]) => ids.map((value) => ({ value }));
const memberIds = (body: { members?: Array<{ value: string }> }) =>
  (body.members ?? []).map((m) => m.value).sort();

describe('Groups', () => {
  test('POST creates a group with members, each with type, display and $ref', async () => {
    const res = await scim.post('/Groups', {
      schemas: [GROUP],
      displayName: 'Design',
      externalId: 'ext-d',
      members: members(users.slice(0, 2)),
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      schemas: [GROUP],
      displayName: 'Design',
      externalId: 'ext-d',
    });
    expect(memberIds(res.body)).toEqual(users.slice(0, 2).sort());
    expect(res.body.members[0]).toMatchObject({ type: 'User', display: expect.any(String) });
    expect(res.body.members[0].$ref).toMatch(/\/scim\/v2\/Users\//);
    expect(changes.at(-1)?.userIds.sort()).toEqual(users.slice(0, 2).sort());
  });

  test('a user lists the groups it belongs to', async () => {
    const res = await scim.get(`/Users/${users[0]}`);
    expect(res.body.groups).toEqual([
      expect.objectContaining({ display: 'Design', type: 'direct' }),
    ]);
  });

  test('extra schema URIs that IdPs add to a group are tolerated (Entra)', async () => {
    const res = await scim.post('/Groups', {
      schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      displayName: 'Entra group',
    });
    expect(res.status).toBe(201);
    expect(res.body.schemas).toEqual([GROUP]);
  });

  test('a member that does not exist fails the whole request, writing nothing', async () => {
    const res = await scim.post('/Groups', {
      schemas: [GROUP],
      displayName: 'Ghosts',
      members: [{ value: users[0] }, { value: '00000000-0000-4000-8000-000000000000' }],
    });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
    expect(
      await db
        .owner('directory_groups')
        .where({ tenant_id: tenant.id, display_name: 'Ghosts' })
        .first(),
    ).toBeUndefined();
  });

  test('groups nest: a group can be a member of another, but not of itself', async () => {
    const inner = await scim
      .post('/Groups', { schemas: [GROUP], displayName: 'Inner', members: members([users[4]!]) })
      .expect(201);
    const outer = await scim
      .post('/Groups', {
        schemas: [GROUP],
        displayName: 'Outer',
        members: members([inner.body.id]),
      })
      .expect(201);
    expect(outer.body.members).toEqual([
      expect.objectContaining({ value: inner.body.id, type: 'Group', display: 'Inner' }),
    ]);
    const self = await scim.patchOps(`/Groups/${inner.body.id}`, [
      { op: 'add', path: 'members', value: [{ value: inner.body.id }] },
    ]);
    expect(self.status).toBe(400);
  });

  test('PUT replaces the member list', async () => {
    const g = await scim
      .post('/Groups', {
        schemas: [GROUP],
        displayName: 'Put',
        members: members(users.slice(0, 3)),
      })
      .expect(201);
    const res = await scim.put(`/Groups/${g.body.id}`, {
      schemas: [GROUP],
      displayName: 'Put 2',
      members: members(users.slice(2, 5)),
    });
    expect(res.status).toBe(200);
    expect(res.body.displayName).toBe('Put 2');
    expect(memberIds(res.body)).toEqual(users.slice(2, 5).sort());
    expect(res.body.meta.version).toBe('W/"2"');
  });

  test('excludedAttributes=members leaves the members out', async () => {
    const g = await scim
      .post('/Groups', { schemas: [GROUP], displayName: 'Big', members: members(users) })
      .expect(201);
    const res = await scim.get(`/Groups/${g.body.id}?excludedAttributes=members`);
    expect(res.body.members).toBeUndefined();
    expect(res.body.displayName).toBe('Big');
  });

  test('DELETE removes the group and its memberships; its users remain', async () => {
    const g = await scim
      .post('/Groups', { schemas: [GROUP], displayName: 'Doomed', members: members([users[1]!]) })
      .expect(201);
    expect((await scim.delete(`/Groups/${g.body.id}`)).status).toBe(204);
    expect((await scim.get(`/Groups/${g.body.id}`)).status).toBe(404);
    expect((await scim.get(`/Users/${users[1]}`)).status).toBe(200);
    expect(
      await db.owner('directory_memberships').where({ tenant_id: tenant.id, group_id: g.body.id }),
    ).toEqual([]);
  });

  test('deleting a user removes it from its groups', async () => {
    const u = await scim.post('/Users', userBody('member-gone@example.com')).expect(201);
    const g = await scim
      .post('/Groups', {
        schemas: [GROUP],
        displayName: 'Keeps',
        members: members([u.body.id, users[0]!]),
      })
      .expect(201);
    await scim.delete(`/Users/${u.body.id}`).expect(204);
    expect(memberIds((await scim.get(`/Groups/${g.body.id}`)).body)).toEqual([users[0]]);
  });
});
