// Replays of the provisioning lifecycles that Okta ("SCIM 2.0 protocol reference",
// developer.okta.com) and Microsoft Entra ID ("Tutorial: Develop and plan provisioning
// for a SCIM endpoint", learn.microsoft.com, request/response examples) document:
// the same requests, in the same order, with the same bodies and quirks.
import request from 'supertest';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { ENTRA_CREATE_USER, OKTA_CREATE_USER } from '../support/idp-bodies.js';
import { ENTERPRISE, GROUP, PATCH, scimClient, USER, type ScimClient } from '../support/scim.js';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
});
afterAll(() => db.close());

describe('Okta lifecycle', () => {
  let tenant: CreatedTenant;
  let scim: ScimClient;
  beforeAll(async () => {
    tenant = await newTenant(db.knex, 'Okta');
    scim = scimClient(testApp(db.knex), tenant.scimToken);
  });

  test('connection test, create, update by GET-then-PUT, deactivate, reactivate, group push, delete', async () => {
    // Test connector configuration.
    const probe = await scim.get('/Users?startIndex=1&count=2');
    expect(probe.status).toBe(200);
    expect(probe.body).toMatchObject({ totalResults: 0, startIndex: 1, Resources: [] });

    // Create: look the user up first, then POST (Okta sends password, groups: [] and externalId-less bodies).
    const lookup = await scim.get(
      `/Users?filter=${encodeURIComponent('userName eq "test.user@okta.local"')}&startIndex=1&count=100`,
    );
    expect(lookup.body.totalResults).toBe(0);
    const created = await scim.post('/Users', OKTA_CREATE_USER);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body.password).toBeUndefined();

    // Update: Okta GETs the user and PUTs the whole resource back, changed.
    const current = (await scim.get(`/Users/${id}`)).body;
    const put = await scim.put(`/Users/${id}`, {
      ...current,
      name: { givenName: 'Another', familyName: 'User' },
    });
    expect(put.status).toBe(200);
    expect(put.body.name.givenName).toBe('Another');

    // Deactivate and reactivate with path-less replace.
    const off = await scim.patch(`/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    expect(
      (await scim.get(`/Users?filter=${encodeURIComponent('userName eq "test.user@okta.local"')}`))
        .body.Resources[0].active,
    ).toBe(false);
    const on = await scim.patch(`/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', value: { active: true } }],
    });
    expect(on.body.active).toBe(true);

    // Group push.
    const group = await scim.post('/Groups', {
      schemas: [GROUP],
      displayName: 'Test SCIMv2',
      members: [],
    });
    expect(group.status).toBe(201);
    const gid = group.body.id as string;
    expect(
      (
        await scim.get(
          `/Groups?filter=${encodeURIComponent('displayName eq "Test SCIMv2"')}&startIndex=1&count=100`,
        )
      ).body.totalResults,
    ).toBe(1);
    // Rename: Okta puts the group's id inside the value.
    const rename = await scim.patch(`/Groups/${gid}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', value: { id: gid, displayName: 'Test SCIMv2 renamed' } }],
    });
    expect(rename.status).toBe(204);
    const add = await scim.patch(`/Groups/${gid}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'add', path: 'members', value: [{ value: id, display: 'test.user@okta.local' }] },
      ],
    });
    expect(add.status).toBe(204);
    const pushed = (await scim.get(`/Groups/${gid}`)).body;
    expect(pushed.displayName).toBe('Test SCIMv2 renamed');
    expect(pushed.members.map((m: { value: string }) => m.value)).toEqual([id]);
    const remove = await scim.patch(`/Groups/${gid}`, {
      schemas: [PATCH],
      Operations: [{ op: 'remove', path: `members[value eq "${id}"]` }],
    });
    expect(remove.status).toBe(204);
    expect((await scim.get(`/Groups/${gid}`)).body.members).toEqual([]);

    expect((await scim.delete(`/Groups/${gid}`)).status).toBe(204);
    expect((await scim.delete(`/Users/${id}`)).status).toBe(204);
    expect((await scim.get(`/Users/${id}`)).status).toBe(404);
  });
});

describe('Microsoft Entra ID lifecycle', () => {
  let tenant: CreatedTenant;
  let scim: ScimClient;
  beforeAll(async () => {
    tenant = await newTenant(db.knex, 'Entra');
    scim = scimClient(testApp(db.knex), tenant.scimToken);
  });

  test('probe filter, create, query, multi- and single-valued updates, disable, group with members, delete', async () => {
    // Entra's connection test queries a userName that cannot exist.
    const probe = await scim.get(
      `/Users?filter=${encodeURIComponent('userName eq "ea7a8b0b-0000-4c1b-a6f5-7f5e2b2ab0e3"')}`,
    );
    expect(probe.status).toBe(200);
    expect(probe.body.totalResults).toBe(0);

    const created = await scim.post('/Users', ENTRA_CREATE_USER);
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    const byName = await scim.get(
      `/Users?filter=${encodeURIComponent('userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"')}`,
    );
    expect(byName.body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);
    const byExternal = await scim.get(
      `/Users?filter=${encodeURIComponent('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`,
    );
    expect(byExternal.body.totalResults).toBe(1);
    const byEmail = await scim.get(
      `/Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"')}`,
    );
    expect(byEmail.status === 200 || byEmail.status === 400).toBe(true);

    // Update user [multi-valued properties].
    const multi = await scim.patch(`/Users/${id}`, {
      schemas: [PATCH],
      Operations: [
        {
          op: 'Replace',
          path: 'emails[type eq "work"].value',
          value: 'updatedEmail@microsoft.com',
        },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ],
    });
    expect(multi.status).toBe(200);
    expect(multi.body.emails[0].value).toBe('updatedEmail@microsoft.com');
    expect(multi.body.name.familyName).toBe('updatedFamilyName');

    // Entra also sends Add with a valuePath for an email change.
    const addEmail = await scim.patch(`/Users/${id}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'Add', path: 'emails[type eq "work"].value', value: 'again@microsoft.com' },
      ],
    });
    expect(addEmail.status).toBe(200);
    expect(
      addEmail.body.emails
        .filter((e: { type: string }) => e.type === 'work')
        .map((e: { value: string }) => e.value),
    ).toEqual(['again@microsoft.com']);

    // Update user [single-valued properties] and enterprise attributes by URN path.
    const single = await scim.patch(`/Users/${id}`, {
      schemas: [PATCH],
      Operations: [
        {
          op: 'Replace',
          path: 'userName',
          value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com',
        },
        { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Design' },
      ],
    });
    expect(single.status).toBe(200);
    expect(single.body.userName).toBe('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
    expect(single.body[ENTERPRISE].department).toBe('Design');

    // Disable user, with the boolean as a string as Entra sends it.
    const disable = await scim.patch(`/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    });
    expect(disable.status).toBe(200);
    expect(disable.body.active).toBe(false);
    expect(
      (
        await scim.get(
          `/Users?filter=${encodeURIComponent('userName eq "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"')}`,
        )
      ).body.Resources[0].active,
    ).toBe(false);

    // Groups: Entra adds its own schema URI, reads with excludedAttributes=members.
    const group = await scim.post('/Groups', {
      schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: { resourceType: 'Group' },
    });
    expect(group.status).toBe(201);
    const gid = group.body.id as string;
    const read = await scim.get(`/Groups/${gid}?excludedAttributes=members`);
    expect(read.body.members).toBeUndefined();
    const byDisplay = await scim.get(
      `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "displayName"')}`,
    );
    expect(byDisplay.body.totalResults).toBe(1);

    await scim
      .patch(`/Groups/${gid}`, {
        schemas: [PATCH],
        Operations: [{ op: 'Replace', path: 'displayName', value: 'updatedDisplayName' }],
      })
      .expect(204);
    await scim
      .patch(`/Groups/${gid}`, {
        schemas: [PATCH],
        Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: id }] }],
      })
      .expect(204);
    expect(
      (await scim.get(`/Groups/${gid}`)).body.members.map((m: { value: string }) => m.value),
    ).toEqual([id]);
    await scim
      .patch(`/Groups/${gid}`, {
        schemas: [PATCH],
        Operations: [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: id }] }],
      })
      .expect(204);
    expect((await scim.get(`/Groups/${gid}`)).body.members).toEqual([]);

    expect((await scim.delete(`/Groups/${gid}`)).status).toBe(204);
    expect((await scim.delete(`/Users/${id}`)).status).toBe(204);
  });

  test('Entra\'s documented filters beyond RFC 7644\'s grammar: bare values, and emails[type eq "work"].value (issue 16)', async () => {
    // learn.microsoft.com, "Develop and plan provisioning for a SCIM endpoint": the
    // request examples show `externalId eq jyoung`-style unquoted values and match users
    // on `emails[type eq "work"].value eq "…"`. A no-match makes Entra create the user
    // again, so refusing them made duplicates.
    const user = {
      ...ENTRA_CREATE_USER,
      externalId: 'jyoung',
      userName: 'jyoung@entra.test',
      emails: [
        { type: 'home', value: 'home@entra.test' },
        { type: 'work', value: 'work@entra.test', primary: true },
      ],
    };
    const id = (await scim.post('/Users', user).expect(201)).body.id as string;
    // Another user without emails at all must not make the email filter fail.
    await scim.post('/Users', { schemas: [USER], userName: 'no-emails@entra.test' }).expect(201);
    const find = async (filter: string) => {
      const res = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`);
      expect(res.status).toBe(200);
      return (res.body.Resources as Array<{ id: string }>).map((r) => r.id);
    };
    expect(await find('externalId eq jyoung')).toEqual([id]);
    expect(await find('userName eq jyoung@entra.test')).toEqual([id]);
    expect(await find('emails[type eq "work"].value eq "work@entra.test"')).toEqual([id]);
    // The same element must match both: the home address is not a work one.
    expect(await find('emails[type eq "work"].value eq "home@entra.test"')).toEqual([]);
    expect(
      await find('meta.created gt 2015-10-10T14:38:21.8617979-07:00 and externalId eq jyoung'),
    ).toEqual([id]);
    // A value path in attributes / excludedAttributes returns only the matching values.
    const q = (name: string, value: string) => `${name}=${encodeURIComponent(value)}`;
    const work = await scim.get(`/Users/${id}?${q('attributes', 'emails[type eq "work"].value')}`);
    expect(work.status).toBe(200);
    expect(work.body.emails).toEqual([{ value: 'work@entra.test' }]);
    expect(work.body.userName).toBeUndefined();
    const listed = await scim.get(
      `/Users?${q('filter', 'externalId eq jyoung')}&${q('attributes', 'userName,emails[type eq "work"]')}`,
    );
    expect(listed.body.Resources[0].emails).toEqual([
      { type: 'work', value: 'work@entra.test', primary: true },
    ]);
    expect(listed.body.Resources[0].userName).toBe('jyoung@entra.test');
    const noHome = await scim.get(
      `/Users/${id}?${q('excludedAttributes', 'emails[type eq "home"]')}`,
    );
    expect(noHome.body.emails).toEqual([{ type: 'work', value: 'work@entra.test', primary: true }]);
    expect(noHome.body.userName).toBe('jyoung@entra.test');
    expect(
      (await scim.get(`/Users/${id}?${q('attributes', 'userName[type eq "work"]')}`)).status,
    ).toBe(400);

    // Strictness stays where it protects data: a bare word is no boolean.
    expect((await scim.get(`/Users?filter=${encodeURIComponent('active eq True')}`)).status).toBe(
      400,
    );
  });

  test('Entra accepts application/json as well as application/scim+json', async () => {
    const res = await request(testApp(db.knex))
      .post('/scim/v2/Users')
      .set('Authorization', `Bearer ${tenant.scimToken}`)
      .set('Content-Type', 'application/json; charset=utf-8')
      .send({ schemas: [USER], userName: 'json-type@entra.test' });
    expect(res.status).toBe(201);
  });
});
