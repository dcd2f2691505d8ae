// RFC 7644 §3.3 (create), §3.4.1 (retrieve), §3.5.1 (replace), §3.6 (delete) for Users,
// with RFC 7643 §4.1 (User) and §4.3 (enterprise extension), over HTTP.
import { TokenCache } from '../../src/tenancy/token-cache.js';
import { DirectoryHooks, type DirectoryChange } from '../../src/directory/changes.js';
import { settleAudit } from '../../src/audit/settle.js';
import { verifyTenantChain } from '../../src/audit/verify.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import {
  ENTERPRISE,
  ERROR,
  SCIM,
  scimClient,
  USER,
  userBody,
  type ScimClient,
} from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;
const changes: DirectoryChange[] = [];

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'SCIM users');
  const hooks = new DirectoryHooks();
  hooks.on(async (_trx, tenantId, change) => {
    if (tenantId === tenant.id) changes.push(change);
  });
  scim = scimClient(testApp(db.knex, undefined, { hooks }), tenant.scimToken);
});
afterAll(() => db.close());

describe('POST /Users (RFC 7644 §3.3)', () => {
  test('creates a user: 201, Location, ETag, meta and the id assigned by the server', async () => {
    const res = await scim.post(
      '/Users',
      userBody('alice@example.com', { externalId: 'okta-1', id: 'client-chosen' }),
    );
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.id).not.toBe('client-chosen');
    expect(res.body).toMatchObject({
      schemas: [USER],
      userName: 'alice@example.com',
      externalId: 'okta-1',
      active: true,
    });
    expect(res.body.meta).toMatchObject({ resourceType: 'User', version: 'W/"1"' });
    expect(res.body.meta.location).toMatch(new RegExp(`/scim/v2/Users/${res.body.id}$`));
    expect(res.headers.location).toBe(res.body.meta.location);
    expect(res.headers.etag).toBe('W/"1"');
    expect(Date.parse(res.body.meta.created)).not.toBeNaN();
  });

  test('userName is unique regardless of case: 409 uniqueness (RFC 7643 §4.1 caseExact=false)', async () => {
    await scim.post('/Users', userBody('Bob@Example.com')).expect(201);
    const res = await scim.post('/Users', userBody('bob@example.COM'));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
  });

  test('password is accepted and never stored or returned', async () => {
    const res = await scim.post('/Users', userBody('pw@example.com', { password: 'Secr3t!pass' }));
    expect(res.status).toBe(201);
    expect(JSON.stringify(res.body)).not.toContain('Secr3t');
    const rows = await db.owner('directory_users').where({ tenant_id: tenant.id });
    expect(JSON.stringify(rows)).not.toContain('Secr3t');
    // Its audit event neither: queued, then chained.
    const queued = await db.owner('audit_pending').where({ tenant_id: tenant.id });
    expect(queued.length).toBeGreaterThan(0);
    expect(JSON.stringify(queued)).not.toContain('Secr3t');
    await settleAudit(db.knex, { tenantId: tenant.id });
    const events = await db.owner('audit_events').where({ tenant_id: tenant.id });
    expect(JSON.stringify(events)).toContain('pw@example.com');
    expect(JSON.stringify(events)).not.toContain('Secr3t');
  });

  test('a missing userName is 400 invalidValue and writes nothing', async () => {
    const before = await db
      .owner('directory_users')
      .where({ tenant_id: tenant.id })
      .count({ n: '*' });
    const res = await scim.post('/Users', { schemas: [USER], name: { givenName: 'No' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    expect(
      await db.owner('directory_users').where({ tenant_id: tenant.id }).count({ n: '*' }),
    ).toEqual(before);
  });

  test('a value of the wrong type is 400 invalidValue', async () => {
    const res = await scim.post('/Users', { schemas: [USER], userName: 42 });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
  });

  test('malformed JSON is 400 invalidSyntax in the SCIM error format', async () => {
    const res = await scim.post('/Users', '{"userName": ').set('Content-Type', SCIM);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidSyntax' });
  });

  test('the enterprise extension is stored and returned, with its schema declared', async () => {
    const res = await scim.post('/Users', {
      ...userBody('ent@example.com'),
      schemas: [USER, ENTERPRISE],
      [ENTERPRISE]: {
        department: 'Design',
        costCenter: 'CC-7',
        employeeNumber: '701',
        manager: { value: 'mgr-1' },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.schemas).toEqual([USER, ENTERPRISE]);
    expect(res.body[ENTERPRISE]).toMatchObject({
      department: 'Design',
      costCenter: 'CC-7',
      manager: { value: 'mgr-1' },
    });
  });

  test('active "False" as a string (Entra) is read as false', async () => {
    const res = await scim.post('/Users', userBody('entra-str@example.com', { active: 'False' }));
    expect(res.status).toBe(201);
    expect(res.body.active).toBe(false);
  });

  test('each create appends an audit event and tells the licensing side which user changed', async () => {
    const res = await scim.post('/Users', userBody('hooked@example.com')).expect(201);
    expect(changes.at(-1)).toEqual({ userIds: [res.body.id], groupIds: [], created: true });
    // A create's event is queued with it and chained by the settler.
    await settleAudit(db.knex, { tenantId: tenant.id });
    const event = await db
      .owner('audit_events')
      .where({ tenant_id: tenant.id, target_id: res.body.id })
      .first();
    expect(event).toMatchObject({ action: 'user.created', actor_type: 'token' });
    expect((await verifyTenantChain(db.knex, tenant.id)).ok).toBe(true);
  });
});

describe('POST /Users when no directory listener hears creates (the service as it runs)', () => {
  let quiet: CreatedTenant;
  let client: ScimClient;
  beforeAll(async () => {
    quiet = await newTenant(db.knex, 'SCIM users, one-statement creates');
    // testApp's hooks carry only the seat reconciler, which does not listen to creates. The
    // token is verified once and cached, as in the service: the statements counted below
    // are the create's own.
    client = scimClient(
      testApp(db.knex, undefined, { tokens: new TokenCache(60_000) }),
      quiet.scimToken,
    );
    await client.post('/Users', userBody('warm-up@example.com')).expect(201);
  });
  const statementsDuring = async (run: () => Promise<unknown>) => {
    const sql: string[] = [];
    const record = (q: { sql: string }) => sql.push(q.sql);
    db.knex.on('query', record);
    try {
      await run();
    } finally {
      db.knex.removeListener('query', record);
    }
    return sql;
  };

  test('the user and its audit event are written by one statement, outside any transaction, scoped to its tenant', async () => {
    let id = '';
    const sql = await statementsDuring(async () => {
      id = (await client.post('/Users', userBody('single@example.com')).expect(201)).body.id;
    });
    expect(sql).toHaveLength(1);
    // It scopes itself to the tenant (row-level security, issue 13), and queues the event
    // through the insert-only view the service role may write (issue 12).
    expect(sql[0]).toMatch(/set_config\('seatkeeper\.tenant_id', r\.tenant_id::text, true\)/);
    expect(sql[0]).toMatch(/INSERT INTO audit_queue /);
    const queued = await db.owner('audit_pending').where({ tenant_id: quiet.id, target_id: id });
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({
      action: 'user.created',
      actor_type: 'token',
      subject_id: id,
    });
    expect(queued[0].body).toMatchObject({ userName: 'single@example.com' });

    expect(await settleAudit(db.knex, { tenantId: quiet.id })).toBeGreaterThanOrEqual(1);
    const chained = await db.owner('audit_events').where({ tenant_id: quiet.id, target_id: id });
    expect(chained).toHaveLength(1);
    const report = await verifyTenantChain(db.knex, quiet.id);
    expect(report).toMatchObject({ ok: true, pending: 0 });
  });

  test('a duplicate userName writes neither a user nor an event', async () => {
    await client.post('/Users', userBody('dup@example.com')).expect(201);
    const before = await db.owner('audit_pending').where({ tenant_id: quiet.id }).count({ n: '*' });
    const res = await client.post('/Users', userBody('DUP@example.com'));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    expect(
      await db.owner('audit_pending').where({ tenant_id: quiet.id }).count({ n: '*' }),
    ).toEqual(before);
    const users = await db
      .owner('directory_users')
      .where({ tenant_id: quiet.id })
      .whereRaw('lower(user_name) = ?', ['dup@example.com']);
    expect(users).toHaveLength(1);
  });
});

describe('GET /Users/{id} (RFC 7644 §3.4.1)', () => {
  test('returns the user with groups, meta and an ETag', async () => {
    const created = await scim.post('/Users', userBody('get@example.com')).expect(201);
    const res = await scim.get(`/Users/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: created.body.id,
      userName: 'get@example.com',
      groups: [],
    });
    expect(res.headers.etag).toBe('W/"1"');
  });

  test('an unknown or malformed id is 404 in the SCIM error format', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      const res = await scim.get(`/Users/${id}`);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '404' });
    }
  });

  test('attributes and excludedAttributes shape the response (§3.4.2.5)', async () => {
    const created = await scim.post('/Users', userBody('proj@example.com')).expect(201);
    const only = await scim.get(`/Users/${created.body.id}?attributes=userName,name.givenName`);
    expect(only.body).toEqual({
      schemas: [USER],
      id: created.body.id,
      userName: 'proj@example.com',
      name: { givenName: 'Test' },
    });
    const without = await scim.get(
      `/Users/${created.body.id}?excludedAttributes=emails,groups,meta`,
    );
    expect(without.body.emails).toBeUndefined();
    expect(without.body.groups).toBeUndefined();
    expect(without.body.meta).toBeUndefined();
    expect(without.body.userName).toBe('proj@example.com');
  });
});

describe('PUT /Users/{id} (RFC 7644 §3.5.1)', () => {
  test('replaces the writable attributes, bumps the version, keeps id and created', async () => {
    const created = await scim
      .post('/Users', userBody('put@example.com', { title: 'Engineer' }))
      .expect(201);
    const res = await scim.put(`/Users/${created.body.id}`, {
      schemas: [USER],
      userName: 'put@example.com',
      displayName: 'Put User',
    });
    expect(res.status).toBe(200);
    expect(res.body.title).toBeUndefined();
    expect(res.body.displayName).toBe('Put User');
    expect(res.body.meta.version).toBe('W/"2"');
    expect(res.body.meta.created).toBe(created.body.meta.created);
  });

  test('a PUT that changes nothing keeps the version (idempotent retries)', async () => {
    const created = await scim.post('/Users', userBody('same@example.com')).expect(201);
    const { id: _id, meta: _meta, groups: _groups, ...body } = created.body;
    const res = await scim.put(`/Users/${created.body.id}`, body);
    expect(res.body.meta.version).toBe('W/"1"');
  });

  test("renaming onto another user's userName is 409 and changes nothing", async () => {
    await scim.post('/Users', userBody('taken@example.com')).expect(201);
    const mine = await scim.post('/Users', userBody('mine@example.com')).expect(201);
    const res = await scim.put(`/Users/${mine.body.id}`, {
      schemas: [USER],
      userName: 'TAKEN@example.com',
    });
    expect(res.status).toBe(409);
    expect((await scim.get(`/Users/${mine.body.id}`)).body.userName).toBe('mine@example.com');
  });

  test('active=false deprovisions but the user is still returned', async () => {
    const created = await scim.post('/Users', userBody('leaver@example.com')).expect(201);
    await scim
      .put(`/Users/${created.body.id}`, {
        schemas: [USER],
        userName: 'leaver@example.com',
        active: false,
      })
      .expect(200);
    const res = await scim.get(`/Users/${created.body.id}`);
    expect(res.body.active).toBe(false);
  });
});

describe('DELETE /Users/{id} (RFC 7644 §3.6)', () => {
  test('deletes: 204, then 404, and the deletion is audited', async () => {
    const created = await scim.post('/Users', userBody('gone@example.com')).expect(201);
    const del = await scim.delete(`/Users/${created.body.id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await scim.get(`/Users/${created.body.id}`)).status).toBe(404);
    expect((await scim.delete(`/Users/${created.body.id}`)).status).toBe(404);
    const actions = await db
      .owner('audit_events')
      .where({ tenant_id: tenant.id, target_id: created.body.id })
      .orderBy('seq')
      .pluck('action');
    expect(actions).toEqual(['user.created', 'user.deleted']);
  });
});

describe('versioning (RFC 7644 §3.14)', () => {
  test('If-Match with a stale version is 412 and changes nothing; the current one succeeds', async () => {
    const created = await scim.post('/Users', userBody('etag@example.com')).expect(201);
    const path = `/Users/${created.body.id}`;
    await scim
      .put(path, { schemas: [USER], userName: 'etag@example.com', title: 'v2' })
      .expect(200);
    const stale = await scim
      .put(path, { schemas: [USER], userName: 'etag@example.com', title: 'v3' })
      .set('If-Match', 'W/"1"');
    expect(stale.status).toBe(412);
    expect(stale.body.status).toBe('412');
    const ok = await scim
      .put(path, { schemas: [USER], userName: 'etag@example.com', title: 'v3' })
      .set('If-Match', 'W/"2"');
    expect(ok.status).toBe(200);
    expect((await scim.delete(path).set('If-Match', 'W/"2"')).status).toBe(412);
  });

  test('If-None-Match with the current version answers 304', async () => {
    const created = await scim.post('/Users', userBody('304@example.com')).expect(201);
    const res = await scim.get(`/Users/${created.body.id}`).set('If-None-Match', 'W/"1"');
    expect(res.status).toBe(304);
    const changed = await scim.get(`/Users/${created.body.id}`).set('If-None-Match', 'W/"7"');
    expect(changed.status).toBe(200);
  });
});
