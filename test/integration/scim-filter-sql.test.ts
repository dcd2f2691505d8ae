// SCIM filters translated to SQL and run on the real schema (PGlite, or PostgreSQL when
// DATABASE_URL is set): a table of filters and the userNames each must select, checked
// against the database and the reference evaluator alike; then groups, tenant isolation,
// and index use.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import {
  filterToSql,
  matches,
  parseFilter,
  type ScimResourceKind,
} from '../../src/directory/filter/index.js';
import { createTenant } from '../../src/tenancy/service.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { openTestDb, type TestDb } from '../support/db.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

interface User {
  id: string;
  userName: string;
  externalId?: string;
  active: boolean;
  created: string;
  lastModified: string;
  data: Record<string, unknown>;
}
interface Group {
  id: string;
  displayName: string;
  members: { id: string; type: 'User' | 'Group' }[];
}

const ids = {
  alice: randomUUID(),
  bob: randomUUID(),
  carol: randomUUID(),
  dave: randomUUID(),
  eve: randomUUID(),
};
const groupIds = { eng: randomUUID(), admins: randomUUID(), empty: randomUUID() };

const users: User[] = [
  {
    id: ids.alice,
    userName: 'Alice',
    externalId: 'ext-A',
    active: true,
    created: '2026-01-01T00:00:00.000Z',
    lastModified: '2026-03-01T10:00:00.000Z',
    data: {
      displayName: 'Alice Smith',
      title: 'Engineer',
      name: { givenName: 'Alice', familyName: 'Smith' },
      emails: [
        { value: 'alice@work.example', type: 'work', primary: true },
        { value: 'alice@home.example', type: 'home' },
      ],
      [ENT]: {
        department: 'R&D',
        employeeNumber: '100',
        manager: { value: ids.bob, displayName: 'Bob' },
      },
    },
  },
  {
    id: ids.bob,
    userName: 'bob',
    externalId: 'EXT-b',
    active: true,
    created: '2026-01-02T00:00:00.000Z',
    lastModified: '2026-03-02T00:00:00.000Z',
    data: {
      displayName: 'Bob',
      title: '',
      emails: [
        { value: 'bob@home.example', type: 'home' },
        { value: 'bob@work.example', type: 'other', primary: false },
      ],
      [ENT]: { department: 'Sales' },
    },
  },
  {
    id: ids.carol,
    userName: 'carol_100%',
    active: false,
    created: '2026-01-03T00:00:00.000Z',
    lastModified: '2026-02-15T00:00:00.000Z',
    data: { emails: [], name: {}, phoneNumbers: [{ value: '+1 555 0100', type: 'mobile' }] },
  },
  {
    id: ids.dave,
    userName: 'Dave\\Back',
    externalId: 'ext-d',
    active: true,
    created: '2026-01-04T00:00:00.000Z',
    // One microsecond after Alice's.
    lastModified: '2026-03-01T10:00:00.000001Z',
    data: { title: 'engineer', emails: [{ type: 'work' }], [ENT]: {} },
  },
  {
    id: ids.eve,
    userName: 'eve',
    active: true,
    created: '2026-01-05T00:00:00.000Z',
    lastModified: '2026-01-05T00:00:00.000Z',
    data: {},
  },
];

const groups: Group[] = [
  {
    id: groupIds.eng,
    displayName: 'Engineering',
    members: [
      { id: ids.alice, type: 'User' },
      { id: ids.dave, type: 'User' },
      { id: groupIds.admins, type: 'Group' },
    ],
  },
  { id: groupIds.admins, displayName: 'Admins', members: [{ id: ids.bob, type: 'User' }] },
  { id: groupIds.empty, displayName: 'Nobody', members: [] },
];

/** The SCIM JSON a client would see, for the reference evaluator. */
function userJson(u: User): object {
  const memberOf = groups.filter((g) => g.members.some((m) => m.id === u.id));
  return {
    ...u.data,
    id: u.id,
    userName: u.userName,
    ...(u.externalId ? { externalId: u.externalId } : {}),
    active: u.active,
    meta: { resourceType: 'User', created: u.created, lastModified: u.lastModified },
    groups: memberOf.map((g) => ({ value: g.id, display: g.displayName, type: 'direct' })),
  };
}

function memberDisplay(m: { id: string; type: string }): string | undefined {
  if (m.type === 'Group') return groups.find((g) => g.id === m.id)?.displayName;
  const u = users.find((x) => x.id === m.id);
  const display = u?.data.displayName;
  return typeof display === 'string' && display !== '' ? display : u?.userName;
}

function groupJson(g: Group): object {
  return {
    id: g.id,
    displayName: g.displayName,
    meta: {
      resourceType: 'Group',
      created: '2026-01-01T00:00:00Z',
      lastModified: '2026-01-01T00:00:00Z',
    },
    members: g.members.map((m) => ({ value: m.id, type: m.type, display: memberDisplay(m) })),
  };
}

async function insertDirectory(knex: Knex, tenantId: string): Promise<void> {
  await knex('directory_users').insert(
    users.map((u) => ({
      tenant_id: tenantId,
      user_id: u.id,
      user_name: u.userName,
      external_id: u.externalId ?? null,
      active: u.active,
      data: JSON.stringify(u.data),
      created_at: u.created,
      last_modified: u.lastModified,
    })),
  );
  await knex('directory_groups').insert(
    groups.map((g) => ({
      tenant_id: tenantId,
      group_id: g.id,
      display_name: g.displayName,
      data: JSON.stringify({ displayName: g.displayName }),
      created_at: '2026-01-01T00:00:00Z',
      last_modified: '2026-01-01T00:00:00Z',
    })),
  );
  const memberships = groups.flatMap((g) =>
    g.members.map((m) => ({
      tenant_id: tenantId,
      group_id: g.id,
      member_id: m.id,
      member_type: m.type,
      added_at: '2026-01-01T00:00:00Z',
    })),
  );
  await knex('directory_memberships').insert(memberships);
}

let db: TestDb;
let tenantId: string;
let otherTenantId: string;

beforeAll(async () => {
  db = await openTestDb();
  tenantId = (await createTenant(db.knex, 'x', { actor: { type: 'system' } })).id;
  otherTenantId = (await createTenant(db.knex, 'y', { actor: { type: 'system' } })).id;
  await insertDirectory(db.owner, tenantId);
  // The other tenant has the very same directory (same ids, same names): none of it may match.
  await insertDirectory(db.owner, otherTenantId);
});
afterAll(() => db.close());

/**
 * The names a filter selects in `tenant`, as the service runs it: its role, in a
 * transaction scoped to the tenant. With `asOwner`, as the tables' owner, whom row-level
 * security does not filter: what the SQL's own tenant conditions select, on their own.
 */
async function select(
  kind: ScimResourceKind,
  filter: string,
  tenant = tenantId,
  { asOwner = false } = {},
): Promise<string[]> {
  const { sql, bindings } = filterToSql(filter, kind, 'r');
  const [table, name] =
    kind === 'User' ? ['directory_users', 'user_name'] : ['directory_groups', 'display_name'];
  const run = (k: Knex) =>
    k.raw(
      `SELECT r.${name} AS name FROM ${table} r WHERE r.tenant_id = ? AND (${sql}) ORDER BY r.${name} COLLATE "C"`,
      [tenant, ...bindings] as Knex.RawBinding[],
    );
  const res = asOwner ? await run(db.owner) : await withTenant(db.knex, tenant, run);
  return (res.rows as { name: string }[]).map((r) => r.name);
}

function evaluate(kind: ScimResourceKind, filter: string): string[] {
  const node = parseFilter(filter);
  const names =
    kind === 'User'
      ? users.filter((u) => matches(node, userJson(u), 'User')).map((u) => u.userName)
      : groups.filter((g) => matches(node, groupJson(g), 'Group')).map((g) => g.displayName);
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const ALL = ['Alice', 'Dave\\Back', 'bob', 'carol_100%', 'eve'];

// [filter, userNames in code point order]
const USER_CASES: [string, string[]][] = [
  // eq / ne and caseExact
  ['userName eq "alice"', ['Alice']],
  ['USERNAME EQ "ALICE"', ['Alice']],
  ['userName ne "alice"', ['Dave\\Back', 'bob', 'carol_100%', 'eve']],
  ['externalId eq "ext-A"', ['Alice']],
  ['externalId eq "EXT-A"', []],
  ['externalId ne "ext-A"', ['Dave\\Back', 'bob', 'carol_100%', 'eve']],
  ['title eq "engineer"', ['Alice', 'Dave\\Back']],
  ['title ne "engineer"', ['bob', 'carol_100%', 'eve']],
  ['title eq ""', ['bob']],
  ['title eq null', ['bob', 'carol_100%', 'eve']],
  ['title ne null', ['Alice', 'Dave\\Back']],
  [`id eq "${ids.bob}"`, ['bob']],
  [`id ne "${ids.bob}"`, ['Alice', 'Dave\\Back', 'carol_100%', 'eve']],
  [`id eq "${ids.bob.toUpperCase()}"`, []],
  ['id eq "not-a-uuid"', []],
  ['active eq false', ['carol_100%']],
  ['active ne true', ['carol_100%']],
  ['meta.resourceType eq "User"', ALL],
  ['meta.resourceType eq "user"', []],
  // co / sw / ew, with LIKE metacharacters taken literally
  ['userName co "LIC"', ['Alice']],
  ['userName co "%"', ['carol_100%']],
  ['userName co "_"', ['carol_100%']],
  ['userName ew "0%"', ['carol_100%']],
  ['userName co "\\\\"', ['Dave\\Back']],
  ['userName sw "dave\\\\b"', ['Dave\\Back']],
  ['userName co ""', ALL],
  ['externalId sw "ext"', ['Alice', 'Dave\\Back']],
  ['externalId sw "EXT"', ['bob']],
  // gt / ge / lt / le on strings: folded when caseExact=false, code point order
  ['userName gt "c"', ['Dave\\Back', 'carol_100%', 'eve']],
  ['userName le "bob"', ['Alice', 'bob']],
  ['externalId lt "ext"', ['bob']],
  ['externalId ge "ext-B"', ['Dave\\Back']],
  // dateTime
  ['meta.lastModified gt "2026-03-01T10:00:00Z"', ['Dave\\Back', 'bob']],
  ['meta.lastModified ge "2026-03-01T10:00:00Z"', ['Alice', 'Dave\\Back', 'bob']],
  ['meta.lastModified eq "2026-03-01T11:00:00+01:00"', ['Alice']],
  ['meta.lastModified eq "2026-03-01T10:00:00.000001Z"', ['Dave\\Back']],
  ['meta.lastModified lt "2026-02-15T00:00:00.000001Z"', ['carol_100%', 'eve']],
  ['meta.created le "2026-01-02T00:00:00Z"', ['Alice', 'bob']],
  // pr
  ['title pr', ['Alice', 'Dave\\Back']],
  ['externalId pr', ['Alice', 'Dave\\Back', 'bob']],
  ['name pr', ['Alice']],
  ['emails pr', ['Alice', 'Dave\\Back', 'bob']],
  ['emails.value pr', ['Alice', 'bob']],
  ['phoneNumbers pr', ['carol_100%']],
  ['not (emails pr)', ['carol_100%', 'eve']],
  [`${ENT}:manager pr`, ['Alice']],
  // multi-valued attributes
  ['emails co "work"', ['Alice', 'bob']],
  ['emails.value co "@home"', ['Alice', 'bob']],
  ['emails.type eq "work"', ['Alice', 'Dave\\Back']],
  ['emails.primary eq true', ['Alice']],
  ['emails.primary eq false', ['bob']],
  ['emails[type eq "work" and value co "@work"]', ['Alice']],
  ['emails[type eq "home" and value co "@work"]', []],
  ['emails.type eq "home" and emails.value co "@work"', ['Alice', 'bob']],
  ['emails[type eq "work" or primary eq false]', ['Alice', 'Dave\\Back', 'bob']],
  ['emails[not (value pr)]', ['Dave\\Back']],
  ['emails.type ne "work"', ['Alice', 'bob']],
  ['not (emails.type eq "work")', ['bob', 'carol_100%', 'eve']],
  ['emails[type ne "home"]', ['Alice', 'Dave\\Back', 'bob']],
  ['name[givenName sw "A" and familyName eq "smith"]', ['Alice']],
  ['meta[lastModified lt "2026-02-01T00:00:00Z"]', ['eve']],
  // enterprise extension by URN
  [`${ENT}:department eq "r&d"`, ['Alice']],
  [`${ENT}:department ne "Sales"`, ['Alice', 'Dave\\Back', 'carol_100%', 'eve']],
  [`${ENT}:department pr`, ['Alice', 'bob']],
  [`${ENT}:manager.value eq "${ids.bob}"`, ['Alice']],
  [`${ENT}:manager eq "${ids.bob}"`, ['Alice']],
  [`${ENT}:manager.displayName co "ob"`, ['Alice']],
  [`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob"`, ['bob']],
  // groups (direct memberships)
  ['groups pr', ['Alice', 'Dave\\Back', 'bob']],
  ['not (groups pr)', ['carol_100%', 'eve']],
  [`groups.value eq "${groupIds.eng}"`, ['Alice', 'Dave\\Back']],
  [`groups eq "${groupIds.admins}"`, ['bob']],
  ['groups.display eq "engineering"', ['Alice', 'Dave\\Back']],
  ['groups.display ne "Engineering"', ['bob']],
  ['groups.type eq "direct"', ['Alice', 'Dave\\Back', 'bob']],
  ['groups[display sw "Adm" or display sw "Eng"]', ['Alice', 'Dave\\Back', 'bob']],
  // and / or / not / precedence
  ['title eq "engineer" and active eq true and not (userName sw "d")', ['Alice']],
  ['userName eq "eve" or title pr and externalId sw "ext-d"', ['Dave\\Back', 'eve']],
  ['(userName eq "eve" or title pr) and externalId sw "ext-d"', ['Dave\\Back']],
  ['not (userName eq "eve" or title pr)', ['bob', 'carol_100%']],
  ['not (userName eq "eve" and title pr)', ALL],
  ['not (not (active eq false))', ['carol_100%']],
];

describe('User filters select what the RFC says, in SQL and in the reference evaluator', () => {
  test.each(USER_CASES)('%s', async (filter, expected) => {
    expect(await select('User', filter)).toEqual(expected);
    expect(evaluate('User', filter)).toEqual(expected);
  });
});

const GROUP_CASES: [string, string[]][] = [
  ['displayName eq "engineering"', ['Engineering']],
  ['displayName co "i"', ['Admins', 'Engineering']],
  [`members.value eq "${ids.alice}"`, ['Engineering']],
  [`members eq "${ids.bob.toUpperCase()}"`, ['Admins']], // members.value is caseExact=false
  ['members.type eq "group"', ['Engineering']],
  ['members.display eq "Alice Smith"', ['Engineering']],
  ['members.display eq "Dave\\\\Back"', ['Engineering']], // no displayName: userName
  ['members.display eq "Admins"', ['Engineering']],
  ['members[type eq "User" and display sw "B"]', ['Admins']],
  ['members pr', ['Admins', 'Engineering']],
  ['not (members pr)', ['Nobody']],
  ['members.type ne "User"', ['Engineering']],
  ['meta.resourceType eq "Group"', ['Admins', 'Engineering', 'Nobody']],
];

describe('Group filters', () => {
  test.each(GROUP_CASES)('%s', async (filter, expected) => {
    expect(await select('Group', filter)).toEqual(expected);
    expect(evaluate('Group', filter)).toEqual(expected);
  });
});

describe('tenant isolation', () => {
  test("another tenant's rows never match, even identical ones", async () => {
    const stranger = randomUUID();
    for (const [filter] of [
      ...USER_CASES.slice(0, 5),
      ['groups pr'],
      [`groups.value eq "${groupIds.eng}"`],
    ]) {
      expect(await select('User', filter as string, stranger)).toEqual([]);
      // Not only because row-level security hides the rows: the SQL's own conditions too.
      expect(await select('User', filter as string, stranger, { asOwner: true })).toEqual([]);
    }
    // The membership subquery is tied to the row's tenant: delete this tenant's memberships
    // and its users no longer have groups, though the other tenant's copies still do. (As
    // the owner, whom row-level security does not filter, so both tenants' rows are there.)
    const undo = new Error('roll back');
    const inTransaction = db.owner.transaction(async (trx) => {
      await trx('directory_memberships').where({ tenant_id: tenantId }).delete();
      const { sql, bindings } = filterToSql('groups pr', 'User', 'r');
      const mine = await trx.raw(
        `SELECT count(*)::int AS n FROM directory_users r WHERE r.tenant_id = ? AND ${sql}`,
        [tenantId, ...bindings] as Knex.RawBinding[],
      );
      const theirs = await trx.raw(
        `SELECT count(*)::int AS n FROM directory_users r WHERE r.tenant_id = ? AND ${sql}`,
        [otherTenantId, ...bindings] as Knex.RawBinding[],
      );
      expect([mine.rows[0].n, theirs.rows[0].n]).toEqual([0, 3]);
      throw undo;
    });
    await expect(inTransaction).rejects.toBe(undo);
    expect(await select('User', 'groups pr')).toEqual(['Alice', 'Dave\\Back', 'bob']);
  });
});

describe('indexes', () => {
  async function plan(sql: string, bindings: unknown[]): Promise<string> {
    // As the service plans it: its role, scoped to the tenant (the policy's condition too).
    return withTenant(db.knex, tenantId, async (trx) => {
      await trx.raw('SET LOCAL enable_seqscan = off');
      const res = await trx.raw(`EXPLAIN ${sql}`, bindings as Knex.RawBinding[]);
      return (res.rows as Record<string, string>[]).map((r) => Object.values(r)[0]).join('\n');
    });
  }

  test('userName eq uses the unique index on lower(user_name)', async () => {
    const f = filterToSql('userName eq "ALICE"', 'User', 'r');
    const text = await plan(`SELECT * FROM directory_users r WHERE r.tenant_id = ? AND ${f.sql}`, [
      tenantId,
      ...f.bindings,
    ]);
    expect(text).toContain('directory_users_user_name_key');
  });

  test('id eq uses the primary key', async () => {
    const f = filterToSql(`id eq "${ids.alice}"`, 'User', 'r');
    const text = await plan(`SELECT * FROM directory_users r WHERE r.tenant_id = ? AND ${f.sql}`, [
      tenantId,
      ...f.bindings,
    ]);
    expect(text).toContain('directory_users_pkey');
  });
});
