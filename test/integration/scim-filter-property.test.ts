// Property: for random directories and random filters, the SQL translation selects exactly
// the resources the reference evaluator says match. Users have random subsets of
// attributes (absent, empty, of the wrong JSON type), emails arrays, enterprise
// attributes, dates a microsecond apart and group memberships; filters use every
// operator, and/or/not/parentheses, valuePaths, URN prefixes and odd letter case.
// Seeded, so a failure is reproducible; set FC_SEED to explore other seeds. On failure
// fast-check prints the shrunk filter, with the SQL and the rows on which they disagree.
import fc from 'fast-check';
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

const SEED = Number(process.env.FC_SEED ?? 20261201);
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

// Letters where case folding or code point order is easy to get wrong, and LIKE's
// metacharacters.
const CHARS = [
  'a',
  'A',
  'b',
  'é',
  'É',
  'Σ',
  'σ',
  'ς',
  'İ',
  'i',
  '%',
  '_',
  '\\',
  ' ',
  '@',
  '😀',
  '\uFFFD',
];
const text = (max = 3) => fc.string({ unit: fc.constantFrom(...CHARS), maxLength: max });
const INSTANTS = [
  '2026-01-01T00:00:00.000Z',
  '2026-01-01T00:00:00.000001Z',
  '2026-01-01T00:00:00.001Z',
  '2026-06-15T12:30:00.000Z',
  '2027-01-01T00:00:00.000Z',
];
/** The same instants written differently, and some in between. */
const INSTANT_VALUES = [
  ...INSTANTS,
  '2026-01-01T01:00:00+01:00',
  '2025-12-31T19:00:00.000001-05:00',
  '2026-01-01T00:00:00.0000005Z',
  '2026-03-01T00:00:00Z',
];

interface User {
  id: string;
  userName: string;
  externalId: string | null;
  active: boolean;
  created: string;
  lastModified: string;
  data: Record<string, unknown>;
  groups: number[];
}

const email = fc.record(
  {
    value: fc.oneof(text(), fc.constantFrom('a@x', 'b@y', 'A@X')),
    type: fc.constantFrom('work', 'home', 'Work', ''),
    primary: fc.oneof(fc.boolean(), fc.constant('true')),
    display: text(2),
  },
  { requiredKeys: [] },
);
const userData = fc.record(
  {
    displayName: text(),
    title: fc.oneof(text(), fc.constant(5), fc.constant(null)),
    name: fc.record({ givenName: text(), familyName: text() }, { requiredKeys: [] }),
    emails: fc.oneof(fc.array(email, { maxLength: 3 }), fc.constant('a@x')),
    [ENT]: fc.record(
      {
        department: text(),
        manager: fc.record({ value: text(), displayName: text() }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
const userArb = (i: number) =>
  fc.record({
    id: fc.uuid({ version: 4 }), // from the seed too, so that a failure replays exactly
    userName: text().map((s) => `${s}${i}`), // unique even once lower-cased
    externalId: fc.option(text(), { nil: null }),
    active: fc.boolean(),
    created: fc.constantFrom(...INSTANTS),
    lastModified: fc.constantFrom(...INSTANTS),
    data: userData,
    groups: fc.subarray([0, 1, 2, 3]),
  });
const directoryArb = fc.tuple(...Array.from({ length: 60 }, (_, i) => userArb(i)));
const GROUP_NAMES = ['Eng', 'eng ops', 'Σales', 'A%_'];

let db: TestDb;
let tenantId: string;
let users: User[];
const groupIds = GROUP_NAMES.map((_, g) => `00000000-0000-4000-8000-00000000000${g}`);

function displayOf(u: User): string {
  const d = u.data.displayName;
  return typeof d === 'string' && d !== '' ? d : u.userName;
}

function userJson(u: User): object {
  return {
    ...u.data,
    id: u.id,
    userName: u.userName,
    ...(u.externalId === null ? {} : { externalId: u.externalId }),
    active: u.active,
    meta: { resourceType: 'User', created: u.created, lastModified: u.lastModified },
    groups: u.groups.map((g) => ({ value: groupIds[g], display: GROUP_NAMES[g], type: 'direct' })),
  };
}

function groupJson(g: number): object {
  return {
    id: groupIds[g],
    displayName: GROUP_NAMES[g],
    meta: { resourceType: 'Group', created: INSTANTS[g], lastModified: INSTANTS[g] },
    members: users
      .filter((u) => u.groups.includes(g))
      .map((u) => ({ value: u.id, type: 'User', display: displayOf(u) })),
  };
}

beforeAll(async () => {
  db = await openTestDb();
  tenantId = (await createTenant(db.knex, 'x', { actor: { type: 'system' } })).id;
  const [sample] = fc.sample(directoryArb, { seed: SEED, numRuns: 1 });
  users = sample ?? [];
  await db.owner('directory_groups').insert(
    GROUP_NAMES.map((name, g) => ({
      tenant_id: tenantId,
      group_id: groupIds[g],
      display_name: name,
      data: JSON.stringify({ displayName: name }),
      created_at: INSTANTS[g],
      last_modified: INSTANTS[g],
    })),
  );
  await db.owner('directory_users').insert(
    users.map((u) => ({
      tenant_id: tenantId,
      user_id: u.id,
      user_name: u.userName,
      external_id: u.externalId,
      active: u.active,
      data: JSON.stringify(u.data),
      created_at: u.created,
      last_modified: u.lastModified,
    })),
  );
  const memberships = users.flatMap((u) =>
    u.groups.map((g) => ({
      tenant_id: tenantId,
      group_id: groupIds[g],
      member_id: u.id,
      member_type: 'User',
      added_at: INSTANTS[0],
    })),
  );
  if (memberships.length) await db.owner('directory_memberships').insert(memberships);
});
afterAll(() => db.close());

// ---- filters ----

type Kind = 'string' | 'boolean' | 'dateTime' | 'id' | 'complex';
const STRING_OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];
const OPS: Record<Kind, string[]> = {
  string: STRING_OPS,
  id: STRING_OPS,
  boolean: ['eq', 'ne'],
  dateTime: ['eq', 'ne', 'gt', 'ge', 'lt', 'le'],
  complex: [],
};

function valueFor(kind: Kind): fc.Arbitrary<unknown> {
  if (kind === 'boolean') return fc.boolean();
  if (kind === 'dateTime') return fc.constantFrom(...INSTANT_VALUES);
  if (kind === 'id') {
    return fc.oneof(
      fc.constantFrom(...users.slice(0, 5).map((u) => u.id), ...groupIds),
      fc.constantFrom(...users.slice(0, 2).map((u) => u.id.toUpperCase().slice(0, 8))),
      text(1),
    );
  }
  // U+FFFD sorts before U+1F600 by code point but after it by UTF-16 unit.
  return fc.oneof(
    text(2),
    fc.constantFrom('a@x', 'work', 'Eng', '0', '1', '4', '\uFFFD', '😀', 'É'),
  );
}

/** A comparison or pr on `path`; null for eq/ne now and then. */
function attrExp(path: fc.Arbitrary<string>, kind: Kind): fc.Arbitrary<string> {
  const pr = path.map((p) => `${p} pr`);
  if (kind === 'complex') return pr;
  const cmp = fc
    .tuple(path, fc.constantFrom(...OPS[kind]), valueFor(kind))
    .map(([p, op, v]) => `${p} ${op} ${JSON.stringify(v)}`);
  const nul = fc.tuple(path, fc.constantFrom('eq', 'ne')).map(([p, op]) => `${p} ${op} null`);
  return fc.oneof(
    { arbitrary: cmp, weight: 6 },
    { arbitrary: pr, weight: 1 },
    { arbitrary: nul, weight: 1 },
  );
}

/** Random letter case, and the schema URN when one may be written. */
function spelled(name: string, urn?: string): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom('as is', 'upper', 'lower'), fc.boolean()).map(([c, prefix]) => {
    const n = c === 'upper' ? name.toUpperCase() : c === 'lower' ? name.toLowerCase() : name;
    return urn && (prefix || urn === ENT) ? `${urn}:${n}` : n;
  });
}

const USER_ATTRS: [string, Kind, string?][] = [
  ['userName', 'string', CORE],
  ['externalId', 'string', CORE],
  ['title', 'string', CORE],
  ['displayName', 'string', CORE],
  ['name.givenName', 'string', CORE],
  ['name.familyName', 'string'],
  ['emails', 'string'],
  ['emails.value', 'string', CORE],
  ['emails.type', 'string'],
  ['emails.display', 'string'],
  ['emails.primary', 'boolean'],
  ['active', 'boolean', CORE],
  ['id', 'id'],
  ['meta.created', 'dateTime'],
  ['meta.lastModified', 'dateTime', CORE],
  ['department', 'string', ENT],
  ['manager.value', 'string', ENT],
  ['manager.displayName', 'string', ENT],
  ['manager', 'complex', ENT],
  ['name', 'complex'],
  ['groups', 'id'],
  ['groups.display', 'string'],
  ['groups.type', 'string'],
];
const EMAIL_SUBS: [string, Kind][] = [
  ['value', 'string'],
  ['type', 'string'],
  ['display', 'string'],
  ['primary', 'boolean'],
];

function leaves(attrs: [string, Kind, string?][]): fc.Arbitrary<string> {
  return fc.oneof(...attrs.map(([name, kind, urn]) => attrExp(spelled(name, urn), kind)));
}

/** `attr[...]`: and/or/not over sub-attribute comparisons of one element. */
function valuePath(attr: string, subs: [string, Kind][]): fc.Arbitrary<string> {
  const sub = leaves(subs);
  const inner = fc.oneof(
    sub,
    fc.tuple(sub, fc.constantFrom('and', 'or'), sub).map(([a, op, b]) => `${a} ${op} ${b}`),
    sub.map((s) => `not (${s})`),
  );
  return fc.tuple(spelled(attr), inner).map(([a, f]) => `${a}[${f}]`);
}

/** and/or/not trees over `leaf`, parenthesized where precedence needs it (or at random). */
function tree(leaf: fc.Arbitrary<string>): fc.Arbitrary<string> {
  type T = { s: string; or: boolean };
  const { node } = fc.letrec<{ node: T }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', maxDepth: 4 },
      leaf.map((s) => ({ s, or: false })),
      fc
        .tuple(tie('node'), tie('node'), fc.constantFrom('and', 'or'), fc.boolean())
        .map(([a, b, op, paren]) => {
          const side = (t: T) => ((op === 'and' && t.or) || paren ? `(${t.s})` : t.s);
          return { s: `${side(a)} ${op} ${side(b)}`, or: op === 'or' };
        }),
      tie('node').map((t) => ({ s: `not (${t.s})`, or: false })),
    ),
  }));
  return node.map((t) => t.s);
}

/** Returns how many resources matched. */
async function check(kind: ScimResourceKind, filter: string): Promise<number> {
  const { sql, bindings } = filterToSql(filter, kind, 'r');
  const [table, key] =
    kind === 'User' ? ['directory_users', 'user_id'] : ['directory_groups', 'group_id'];
  // As the service runs it: its role, in a transaction scoped to the tenant.
  const res = await withTenant(db.knex, tenantId, (trx) =>
    trx.raw(`SELECT r.${key} AS id FROM ${table} r WHERE r.tenant_id = ? AND (${sql})`, [
      tenantId,
      ...bindings,
    ] as Knex.RawBinding[]),
  );
  const fromSql = new Set((res.rows as { id: string }[]).map((r) => r.id));
  const node = parseFilter(filter);
  const resources =
    kind === 'User'
      ? users.map((u) => ({ id: u.id, json: userJson(u) }))
      : GROUP_NAMES.map((_, g) => ({ id: groupIds[g] as string, json: groupJson(g) }));
  const disagree = resources.filter((r) => fromSql.has(r.id) !== matches(node, r.json, kind));
  if (disagree.length > 0) {
    const lines = disagree
      .slice(0, 3)
      .map((r) => `  sql=${fromSql.has(r.id)} ${JSON.stringify(r.json)}`);
    throw new Error(
      `filter: ${filter}\nsql: ${sql}\nbindings: ${JSON.stringify(bindings)}\n${lines.join('\n')}`,
    );
  }
  return fromSql.size;
}

describe('SQL and the reference evaluator agree', () => {
  test('on random User filters', async () => {
    const leaf = fc.oneof(
      { arbitrary: leaves(USER_ATTRS), weight: 5 },
      { arbitrary: valuePath('emails', EMAIL_SUBS), weight: 2 },
      {
        arbitrary: valuePath('groups', [
          ['display', 'string'],
          ['value', 'id'],
          ['type', 'string'],
        ]),
        weight: 1,
      },
      {
        arbitrary: valuePath('name', [
          ['givenName', 'string'],
          ['familyName', 'string'],
        ]),
        weight: 1,
      },
    );
    // How many filters select some but not all users: the test means little otherwise.
    let selective = 0;
    await fc.assert(
      fc.asyncProperty(tree(leaf), async (filter) => {
        const n = await check('User', filter);
        if (n > 0 && n < users.length) selective += 1;
      }),
      { numRuns: 200, seed: SEED },
    );
    console.log(`${selective} of 200 random filters selected some but not all users`);
    expect(selective).toBeGreaterThan(60);
  });

  test('on random Group filters', async () => {
    const leaf = fc.oneof(
      leaves([
        ['displayName', 'string'],
        ['members', 'id'],
        ['members.display', 'string'],
        ['members.type', 'string'],
        ['meta.created', 'dateTime'],
      ]),
      valuePath('members', [
        ['display', 'string'],
        ['value', 'id'],
        ['type', 'string'],
      ]),
    );
    await fc.assert(
      fc.asyncProperty(tree(leaf), async (filter) => {
        await check('Group', filter);
      }),
      { numRuns: 100, seed: SEED },
    );
  });

  test('the random data is varied enough to mean something', () => {
    // A sanity check on the generator: absent, empty and wrong-typed values all occur.
    const titles = users.map((u) => u.data.title);
    expect(titles).toContain(undefined);
    expect(titles).toContain(5);
    expect(users.some((u) => Array.isArray(u.data.emails) && u.data.emails.length > 1)).toBe(true);
    expect(users.some((u) => u.data.emails === 'a@x')).toBe(true);
    expect(users.some((u) => u.groups.length > 0)).toBe(true);
  });
});
