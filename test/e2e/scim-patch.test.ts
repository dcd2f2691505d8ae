// PATCH (RFC 7644 §3.5.2) with and without path, valuePath filters, multi-valued primary
// (RFC 7643 §2.4), and the shapes Okta and Entra ID document that they send.
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import {
  ENTERPRISE,
  GROUP,
  PATCH,
  scimClient,
  userBody,
  type ScimClient,
} from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'SCIM patch');
  scim = scimClient(testApp(db.knex), tenant.scimToken);
});
afterAll(() => db.close());

async function newUser(extra: Record<string, unknown> = {}) {
  const res = await scim.post('/Users', userBody(undefined, extra)).expect(201);
  return res.body as { id: string; userName: string };
}

describe('PATCH /Users', () => {
  test('replace with a path (§3.5.2.3)', async () => {
    const u = await newUser();
    const res = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'replace', path: 'name.givenName', value: 'Ada' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.name.givenName).toBe('Ada');
    expect(res.body.meta.version).toBe('W/"2"');
  });

  test('operation names in any case ("Replace", Entra)', async () => {
    const u = await newUser();
    const res = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'Replace', path: 'displayName', value: 'Cased' },
    ]);
    expect(res.body.displayName).toBe('Cased');
  });

  test('"active": "False" as a string deactivates (Entra)', async () => {
    const u = await newUser();
    const res = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'Replace', path: 'active', value: 'False' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
  });

  test('path-less replace {"active": false} (Okta deactivation)', async () => {
    const u = await newUser();
    const res = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'replace', value: { active: false } },
    ]);
    expect(res.body.active).toBe(false);
  });

  test('path-less replace with dotted and URN keys', async () => {
    const u = await newUser();
    const res = await scim.patchOps(`/Users/${u.id}`, [
      {
        op: 'replace',
        value: {
          'name.familyName': 'Lovelace',
          [`${ENTERPRISE}:department`]: 'Math',
          displayName: 'Ada L',
        },
      },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.name.familyName).toBe('Lovelace');
    expect(res.body[ENTERPRISE].department).toBe('Math');
    expect(res.body.schemas).toContain(ENTERPRISE);
  });

  test('add on a single-valued attribute sets it', async () => {
    const u = await newUser();
    const res = await scim.patchOps(`/Users/${u.id}`, [{ op: 'Add', path: 'title', value: 'CTO' }]);
    expect(res.body.title).toBe('CTO');
  });

  test('valuePath filter: replace emails[type eq "work"].value', async () => {
    const u = await newUser();
    const res = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'replace', path: 'emails[type eq "work"].value', value: 'new@example.com' },
    ]);
    expect(res.body.emails).toEqual([
      expect.objectContaining({ type: 'work', value: 'new@example.com' }),
    ]);
  });

  test('a valuePath that matches nothing on replace is 400 noTarget', async () => {
    const u = await newUser();
    const res = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'replace', path: 'emails[type eq "home"].value', value: 'x@example.com' },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('noTarget');
  });

  test('adding a primary value leaves only that one primary (RFC 7643 §2.4)', async () => {
    const u = await newUser();
    const res = await scim.patchOps(`/Users/${u.id}`, [
      {
        op: 'add',
        path: 'emails',
        value: [{ value: 'home@example.com', type: 'home', primary: true }],
      },
    ]);
    const primaries = (res.body.emails as Array<{ primary?: boolean; value: string }>).filter(
      (e) => e.primary,
    );
    expect(primaries).toEqual([expect.objectContaining({ value: 'home@example.com' })]);
    expect(res.body.emails).toHaveLength(2);
  });

  test('remove with a valuePath removes just those values', async () => {
    const u = await newUser({
      emails: [
        { value: 'a@example.com', type: 'work' },
        { value: 'b@example.com', type: 'home' },
      ],
    });
    const res = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'remove', path: 'emails[type eq "home"]' },
    ]);
    expect(res.body.emails).toEqual([expect.objectContaining({ value: 'a@example.com' })]);
  });

  test('a valuePath filter with "and" is matched against one element at a time (same element)', async () => {
    const u = await newUser({
      emails: [
        { value: 'a@old.example', type: 'work' },
        { value: 'b@old.example', type: 'home' },
        { value: 'c@new.example', type: 'work' },
      ],
    });
    const res = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'remove', path: 'emails[type eq "work" and value ew "@old.example"]' },
    ]);
    expect(res.body.emails.map((e: { value: string }) => e.value)).toEqual([
      'b@old.example',
      'c@new.example',
    ]);
    const replaced = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'replace', path: 'emails[type eq "home" or value sw "c@"].type', value: 'other' },
    ]);
    expect(replaced.body.emails.map((e: { type: string }) => e.type)).toEqual(['other', 'other']);
    const negated = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'remove', path: 'emails[not (value sw "b@")]' },
    ]);
    expect(negated.body.emails.map((e: { value: string }) => e.value)).toEqual(['b@old.example']);
  });

  test('a value filter with a sub-attribute sets or clears it on the matching values only, and keeps one primary', async () => {
    const u = await newUser({
      emails: [
        { value: 'a@example.com', type: 'work', primary: true, display: 'A' },
        { value: 'b@example.com', type: 'home', display: 'B' },
        { value: 'c@example.com', type: 'work', display: 'C' },
      ],
    });
    const res = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'remove', path: 'emails[type eq "work"].display' },
      { op: 'add', path: 'emails[value eq "b@example.com"].display', value: 'Home' },
      { op: 'replace', path: 'emails[value eq "c@example.com"].primary', value: 'True' },
      {
        op: 'replace',
        path: 'emails[type eq "home"]',
        value: { value: 'h@example.com', type: 'home' },
      },
    ]);
    expect(res.body.emails).toEqual([
      { value: 'a@example.com', type: 'work', primary: false },
      { value: 'h@example.com', type: 'home' },
      { value: 'c@example.com', type: 'work', primary: true },
    ]);
  });

  test('remove without a path is 400 noTarget', async () => {
    const u = await newUser();
    const res = await scim.patchOps(`/Users/${u.id}`, [{ op: 'remove' }]);
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('noTarget');
  });

  test('an unknown op is 400 invalidSyntax; an unknown path is 400 invalidPath', async () => {
    const u = await newUser();
    expect(
      (await scim.patchOps(`/Users/${u.id}`, [{ op: 'merge', path: 'title', value: 'x' }])).body
        .scimType,
    ).toBe('invalidSyntax');
    expect(
      (await scim.patchOps(`/Users/${u.id}`, [{ op: 'remove', path: 'nosuch' }])).body.scimType,
    ).toBe('invalidPath');
  });

  test('groups are read-only on a user: 400 mutability', async () => {
    const u = await newUser();
    const res = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'add', path: 'groups', value: [{ value: u.id }] },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('mutability');
  });

  test('a failing operation rolls back the earlier ones in the same request', async () => {
    const u = await newUser({ title: 'Before' });
    const res = await scim.patchOps(`/Users/${u.id}`, [
      { op: 'replace', path: 'title', value: 'After' },
      { op: 'replace', path: 'userName', value: 12 },
    ]);
    expect(res.status).toBe(400);
    expect((await scim.get(`/Users/${u.id}`)).body.title).toBe('Before');
  });

  test('an empty Operations array changes nothing', async () => {
    const u = await newUser();
    const res = await scim.patch(`/Users/${u.id}`, { schemas: [PATCH], Operations: [] });
    expect(res.status).toBe(200);
    expect(res.body.meta.version).toBe('W/"1"');
  });

  test('a body without the PatchOp schema is 400 invalidSyntax', async () => {
    const u = await newUser();
    const res = await scim.patch(`/Users/${u.id}`, {
      Operations: [{ op: 'replace', path: 'title', value: 'x' }],
    });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidSyntax');
  });
});

describe('PATCH /Groups members', () => {
  let ids: string[];
  beforeAll(async () => {
    ids = [];
    for (let i = 0; i < 6; i++) ids.push((await newUser()).id);
  });
  const group = async (memberIds: string[] = []) =>
    (
      await scim
        .post('/Groups', {
          schemas: [GROUP],
          displayName: `G ${Math.random()}`,
          members: memberIds.map((value) => ({ value })),
        })
        .expect(201)
    ).body.id as string;
  const membersOf = async (gid: string) =>
    ((await scim.get(`/Groups/${gid}`)).body.members ?? [])
      .map((m: { value: string }) => m.value)
      .sort();

  test('add members answers 204 and adds them; adding again is a no-op', async () => {
    const gid = await group();
    const res = await scim.patchOps(`/Groups/${gid}`, [
      { op: 'add', path: 'members', value: [{ value: ids[0] }, { value: ids[1] }] },
    ]);
    expect(res.status).toBe(204);
    expect(await membersOf(gid)).toEqual([ids[0], ids[1]].sort());
    const version = (await scim.get(`/Groups/${gid}`)).body.meta.version;
    await scim
      .patchOps(`/Groups/${gid}`, [{ op: 'add', path: 'members', value: [{ value: ids[0] }] }])
      .expect(204);
    expect((await scim.get(`/Groups/${gid}`)).body.meta.version).toBe(version);
  });

  test('remove members[value eq "id"] removes that member (Okta)', async () => {
    const gid = await group(ids.slice(0, 3));
    await scim
      .patchOps(`/Groups/${gid}`, [{ op: 'remove', path: `members[value eq "${ids[1]}"]` }])
      .expect(204);
    expect(await membersOf(gid)).toEqual([ids[0], ids[2]].sort());
  });

  test('remove members with a value array removes those members only (Entra)', async () => {
    const gid = await group(ids.slice(0, 4));
    await scim
      .patchOps(`/Groups/${gid}`, [
        { op: 'Remove', path: 'members', value: [{ value: ids[0] }, { value: ids[3] }] },
      ])
      .expect(204);
    expect(await membersOf(gid)).toEqual([ids[1], ids[2]].sort());
  });

  test('remove members without a value removes everyone', async () => {
    const gid = await group(ids.slice(0, 3));
    await scim.patchOps(`/Groups/${gid}`, [{ op: 'remove', path: 'members' }]).expect(204);
    expect(await membersOf(gid)).toEqual([]);
  });

  test('replace members [] empties the group; replace with a list sets it', async () => {
    const gid = await group(ids.slice(0, 3));
    await scim
      .patchOps(`/Groups/${gid}`, [{ op: 'replace', path: 'members', value: [] }])
      .expect(204);
    expect(await membersOf(gid)).toEqual([]);
    await scim
      .patchOps(`/Groups/${gid}`, [{ op: 'replace', path: 'members', value: [{ value: ids[4] }] }])
      .expect(204);
    expect(await membersOf(gid)).toEqual([ids[4]]);
  });

  test('combined remove + add in one request, with "$ref": null (Okta)', async () => {
    const gid = await group(ids.slice(0, 2));
    await scim
      .patchOps(`/Groups/${gid}`, [
        { op: 'remove', path: 'members', value: [{ value: ids[0], $ref: null }] },
        { op: 'add', path: 'members', value: [{ value: ids[5], $ref: null, display: 'someone' }] },
      ])
      .expect(204);
    expect(await membersOf(gid)).toEqual([ids[1], ids[5]].sort());
  });

  test('path-less replace of displayName and members together', async () => {
    const gid = await group(ids.slice(0, 1));
    await scim
      .patchOps(`/Groups/${gid}`, [
        { op: 'replace', value: { displayName: 'Renamed', members: [{ value: ids[2] }] } },
      ])
      .expect(204);
    const g = (await scim.get(`/Groups/${gid}`)).body;
    expect(g.displayName).toBe('Renamed');
    expect(g.members.map((m: { value: string }) => m.value)).toEqual([ids[2]]);
  });

  test('PATCH with attributes asks for the resource back: 200 with it', async () => {
    const gid = await group();
    const res = await scim.patchOps(`/Groups/${gid}?attributes=displayName,members`, [
      { op: 'add', path: 'members', value: [{ value: ids[0] }] },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.members).toHaveLength(1);
  });

  test('an unknown member in a PATCH writes nothing', async () => {
    const gid = await group(ids.slice(0, 1));
    const res = await scim.patchOps(`/Groups/${gid}`, [
      { op: 'remove', path: 'members' },
      { op: 'add', path: 'members', value: [{ value: '00000000-0000-4000-8000-00000000dead' }] },
    ]);
    expect(res.status).toBe(400);
    expect(await membersOf(gid)).toEqual([ids[0]]);
  });

  test('thousands of members in one PATCH, then removing some with a value array', async () => {
    const many: string[] = (
      await db.owner.raw(
        `INSERT INTO directory_users (tenant_id, user_id, user_name, active, data, created_at, last_modified)
         SELECT ?, gen_random_uuid(), 'bulk' || i || '@example.com', true, jsonb_build_object('userName', 'bulk' || i || '@example.com'), now(), now()
         FROM generate_series(1, 2000) i RETURNING user_id`,
        [tenant.id],
      )
    ).rows.map((r: { user_id: string }) => r.user_id);
    const gid = await group();
    await scim
      .patchOps(`/Groups/${gid}`, [
        { op: 'add', path: 'members', value: many.map((value) => ({ value })) },
      ])
      .expect(204);
    expect(
      Number(
        (
          await db
            .owner('directory_memberships')
            .where({ tenant_id: tenant.id, group_id: gid })
            .count({ n: '*' })
        )[0]!.n,
      ),
    ).toBe(2000);
    await scim
      .patchOps(`/Groups/${gid}`, [
        { op: 'remove', path: 'members', value: many.slice(0, 500).map((value) => ({ value })) },
      ])
      .expect(204);
    expect(
      Number(
        (
          await db
            .owner('directory_memberships')
            .where({ tenant_id: tenant.id, group_id: gid })
            .count({ n: '*' })
        )[0]!.n,
      ),
    ).toBe(1500);
  });
});
