// SCIM filter parsing, validation and translation, without a database: the grammar and
// its precedence, the scimmy defects listed in shared/STACK.md, the workarounds for
// scim2-parse-filter's own defects, every way a filter is refused, and the shape of the
// SQL (bound values, LIKE escaping, indexes-friendly comparisons).
import fc from 'fast-check';
import { AppError } from '../../src/shared/errors.js';
import {
  filterToSql,
  matches,
  matchesElement,
  MAX_FILTER_DEPTH,
  MAX_FILTER_LENGTH,
  parseFilter,
  parsePatchPath,
  sortExpression,
  type FilterNode,
} from '../../src/directory/filter/index.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

const eq = (attrPath: string, compValue: string | number | boolean | null): FilterNode => ({
  op: 'eq',
  attrPath,
  compValue,
});
const pr = (attrPath: string): FilterNode => ({ op: 'pr', attrPath });

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

const rejects = (filter: string, message?: RegExp) => {
  const err = errorOf(() => filterToSql(filter, 'User', 'r'));
  expect(err.code).toBe('invalid_filter');
  expect(err.status).toBe(400);
  if (message) expect(err.message).toMatch(message);
};

describe('grammar and precedence', () => {
  test('and binds tighter than or', () => {
    expect(parseFilter('userName eq "a" or title eq "b" and active eq true')).toEqual({
      op: 'or',
      filters: [
        eq('userName', 'a'),
        { op: 'and', filters: [eq('title', 'b'), eq('active', true)] },
      ],
    });
    expect(parseFilter('userName eq "a" and title eq "b" or active eq true')).toEqual({
      op: 'or',
      filters: [
        { op: 'and', filters: [eq('userName', 'a'), eq('title', 'b')] },
        eq('active', true),
      ],
    });
  });

  test('parentheses override precedence', () => {
    expect(parseFilter('userName eq "a" and (title eq "b" or active eq true)')).toEqual({
      op: 'and',
      filters: [eq('userName', 'a'), { op: 'or', filters: [eq('title', 'b'), eq('active', true)] }],
    });
  });

  test('not binds to its parenthesized group only', () => {
    expect(parseFilter('not (title pr) and userName eq "a"')).toEqual({
      op: 'and',
      filters: [{ op: 'not', filter: pr('title') }, eq('userName', 'a')],
    });
  });

  test('operators and logical words are case-insensitive', () => {
    expect(parseFilter('userName EQ "a" AND title Pr')).toEqual({
      op: 'and',
      filters: [eq('userName', 'a'), pr('title')],
    });
    expect(parseFilter('NOT (title pr)')).toEqual({ op: 'not', filter: pr('title') });
  });

  test('values: strings, numbers, booleans and null', () => {
    expect(parseFilter('x eq 12')).toEqual(eq('x', 12));
    expect(parseFilter('x eq -1.5e3')).toEqual(eq('x', -1500));
    expect(parseFilter('x eq false')).toEqual(eq('x', false));
    expect(parseFilter('x eq null')).toEqual(eq('x', null));
  });

  test('a printed random filter parses back to the same tree', () => {
    fc.assert(
      fc.property(filterTree(), fc.boolean(), (tree, extraParens) => {
        expect(flat(parseFilter(print(tree, extraParens)))).toEqual(flat(tree));
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe('scimmy defects (shared/STACK.md) do not happen here', () => {
  const alice = { userName: 'alice', title: 'boss', active: true };

  test('not (A or B) negates the whole group', () => {
    expect(parseFilter('not (userName eq "alice" or title eq "x")')).toEqual({
      op: 'not',
      filter: { op: 'or', filters: [eq('userName', 'alice'), eq('title', 'x')] },
    });
    // (not A) or (not B) would be true for alice (title is not "x").
    expect(matches(parseFilter('not (userName eq "alice" or title eq "x")'), alice, 'User')).toBe(
      false,
    );
    expect(filterToSql('not (userName eq "alice" or title eq "x")', 'User', 'r').sql).toMatch(
      /^\(NOT \(.* OR .*\)\)$/,
    );
  });

  test('not (A and B) is true when only one of them holds', () => {
    expect(parseFilter('not (userName eq "alice" and title eq "x")')).toEqual({
      op: 'not',
      filter: { op: 'and', filters: [eq('userName', 'alice'), eq('title', 'x')] },
    });
    expect(matches(parseFilter('not (userName eq "alice" and title eq "x")'), alice, 'User')).toBe(
      true,
    );
  });

  test('a comparison without a value is refused', () => {
    rejects('userName eq', /value is missing/);
    rejects('userName eq and title pr');
    rejects('(userName eq)');
  });

  test('emails[type eq "work" and value co "@x"] needs one element to satisfy both', () => {
    const f = 'emails[type eq "work" and value co "@x"]';
    expect(parseFilter(f)).toEqual({
      op: '[]',
      attrPath: 'emails',
      valFilter: {
        op: 'and',
        filters: [eq('type', 'work'), { op: 'co', attrPath: 'value', compValue: '@x' }],
      },
    });
    const split = {
      emails: [
        { type: 'work', value: 'a@y.example' },
        { type: 'home', value: 'a@x.example' },
      ],
    };
    const same = { emails: [{ type: 'work', value: 'a@x.example' }] };
    expect(matches(parseFilter(f), split, 'User')).toBe(false);
    expect(matches(parseFilter(f), same, 'User')).toBe(true);
    // Two independent conditions would match `split`.
    expect(
      matches(parseFilter('emails.type eq "work" and emails.value co "@x"'), split, 'User'),
    ).toBe(true);
    const { sql } = filterToSql(f, 'User', 'r');
    expect(sql.match(/jsonb_array_elements/g)).toHaveLength(1);
  });
});

describe("scim2-parse-filter's own defects are worked around", () => {
  test('JSON string escapes are decoded', () => {
    expect(parseFilter('userName eq "a\\\\b"')).toEqual(eq('userName', 'a\\b'));
    expect(parseFilter('userName eq "a\\\\"')).toEqual(eq('userName', 'a\\'));
    expect(parseFilter('userName eq "say \\"hi\\""')).toEqual(eq('userName', 'say "hi"'));
    expect(parseFilter('userName eq "\\u0041\\n\\t"')).toEqual(eq('userName', 'A\n\t'));
    expect(parseFilter('userName eq "a b" and title eq "(x) [y] not"')).toEqual({
      op: 'and',
      filters: [eq('userName', 'a b'), eq('title', '(x) [y] not')],
    });
  });

  test('a bad escape, a raw control character or an unterminated string is refused quickly', () => {
    rejects('userName eq "\\x41"', /invalid string/);
    rejects('userName eq "a\u0001"', /invalid string/);
    rejects('userName eq "abc', /unterminated/);
    const started = performance.now();
    rejects(`userName eq "${'\n'.repeat(60)}`, /unterminated/);
    expect(performance.now() - started).toBeLessThan(100);
  });

  test('A not (B) is refused, not turned into a malformed node', () => {
    rejects('userName eq "a" not (title pr)', /not/);
  });

  test('not needs parentheses', () => {
    rejects('not userName eq "a"', /"not" must be followed by/);
    rejects('not title pr');
  });

  test('a sub-attribute after [...] is a condition on the same element (Entra ID, issue 16)', () => {
    // Microsoft's SCIM provisioning documentation matches users with
    // `emails[type eq "work"].value eq "…"`; the library split it into two independent
    // conditions (any work email, any email with that value).
    expect(parseFilter('emails[type eq "work" or primary eq true].value eq "a@x"')).toEqual({
      op: '[]',
      attrPath: 'emails',
      valFilter: {
        op: 'and',
        filters: [
          {
            op: 'or',
            filters: [
              { op: 'eq', attrPath: 'type', compValue: 'work' },
              { op: 'eq', attrPath: 'primary', compValue: true },
            ],
          },
          { op: 'eq', attrPath: 'value', compValue: 'a@x' },
        ],
      },
    });
    expect(parseFilter('emails[type eq "work"].value pr and active eq true')).toMatchObject({
      op: 'and',
      filters: [
        { op: '[]', attrPath: 'emails' },
        { op: 'eq', attrPath: 'active' },
      ],
    });
    rejects('emails[type eq "work"].', /sub-attribute name/);
    rejects('emails[type eq "work"].value eq', /missing|end of filter/);
  });

  test('a bare comparison value is a string; JSON literals and numbers keep their meaning (Entra ID, issue 16)', () => {
    expect(parseFilter('externalId eq jyoung')).toEqual({
      op: 'eq',
      attrPath: 'externalId',
      compValue: 'jyoung',
    });
    expect(parseFilter('userName sw O and active eq true')).toEqual({
      op: 'and',
      filters: [
        { op: 'sw', attrPath: 'userName', compValue: 'O' },
        { op: 'eq', attrPath: 'active', compValue: true },
      ],
    });
    expect(parseFilter('meta.created gt 2015-10-10T14:38:21.8617979-07:00')).toEqual({
      op: 'gt',
      attrPath: 'meta.created',
      compValue: '2015-10-10T14:38:21.8617979-07:00',
    });
    expect(parseFilter('x eq null')).toEqual({ op: 'eq', attrPath: 'x', compValue: null });
    expect(parseFilter('x eq 05')).toEqual({ op: 'eq', attrPath: 'x', compValue: '05' });
    expect(parseFilter('(x eq a)')).toEqual({ op: 'eq', attrPath: 'x', compValue: 'a' });
  });

  test('[...] inside [...] is refused', () => {
    rejects('emails[type eq "work" and emails[primary eq true]]', /nested/);
  });

  test('negative numbers can be followed by more filter', () => {
    expect(parseFilter('(x gt -1) and y le -2.5E+1')).toEqual({
      op: 'and',
      filters: [
        { op: 'gt', attrPath: 'x', compValue: -1 },
        { op: 'le', attrPath: 'y', compValue: -25 },
      ],
    });
  });

  test('numbers out of range are refused', () => {
    expect(() => parseFilter('x eq 1e999')).toThrow(/out of range/);
  });

  test('$ref cannot be read by the tokenizer and is refused clearly', () => {
    rejects(
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.$ref eq "x"',
      /\$ref/,
    );
  });
});

test('a filter on the write-only password is refused as sensitive (RFC 7644 §3.12)', () => {
  expect(() => filterToSql('password eq "secret"', 'User', 'u')).toThrow(
    expect.objectContaining({ code: 'sensitive', status: 403 }),
  );
});

describe('errors', () => {
  test.each([
    ['unknown attribute', 'nickname2 eq "a"', /unknown attribute "nickname2"/],
    ['unknown sub-attribute', 'name.nickName eq "a"', /unknown attribute/],
    ['unknown sub-attribute in [...]', 'emails[kind eq "work"]', /unknown attribute "emails.kind"/],
    ['too deep a path', 'name.givenName.x eq "a"', /unknown attribute/],
    ['extension attribute without its URN', 'department eq "a"', /unknown attribute/],
    [
      'unknown schema URN',
      'urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "a"',
      /schema/,
    ],
    ['not stored', 'meta.location eq "x"', /cannot be used/],
    ['$ref of a membership', 'groups.$ref eq "x"', /cannot be used/],
    ['$ref in [...]', 'members[$ref eq "x"]', /cannot be used/],
    ['unknown operator', 'userName xx "a"', /invalid filter/],
    ['pr with a value', 'userName pr "a"', /invalid filter/],
    ['gt on boolean', 'active gt true', /"gt" cannot be used on boolean/],
    ['co on boolean', 'emails.primary co true', /"co" cannot be used on boolean/],
    ['ordering on binary', 'x509Certificates.value ge "AAAA"', /binary/],
    ['string for boolean', 'active eq "yes"', /expected true or false/],
    ['number for string', 'userName eq 5', /expected a string/],
    ['boolean for string', 'emails.value eq true', /expected a string/],
    ['not a dateTime', 'meta.created gt "yesterday"', /xsd:dateTime/],
    ['impossible date', 'meta.created gt "2026-02-30T00:00:00Z"', /xsd:dateTime/],
    ['co on dateTime', 'meta.created co "2026"', /"co" cannot be used on dateTime/],
    ['ordering with null', 'title gt null', /null/],
    ['complex attribute compared', 'name eq "x"', /complex/],
    ['[...] on a simple attribute', 'userName[value eq "x"]', /complex/],
    ['unbalanced parentheses', '(userName eq "a"', /invalid filter/],
    ['trailing parenthesis', 'userName eq "a")', /invalid filter/],
    ['dangling and', 'userName eq "a" and', /end of filter/],
    ['two values', 'userName eq "a" "b"', /invalid filter/],
    ['True is a string, not a boolean', 'active eq True', /active/],
    ['empty', '   ', /empty/],
    ['NUL in a value', 'userName eq "\\u0000"', /not valid text/],
    ['unpaired surrogate', 'userName eq "\\ud800"', /not valid text/],
  ])('%s: %s', (_name, filter, message) => rejects(filter, message));

  test('a filter longer than MAX_FILTER_LENGTH is refused before parsing', () => {
    const long = `userName eq "${'a'.repeat(MAX_FILTER_LENGTH)}"`;
    rejects(long, /longer than/);
    const justFits = `userName eq "${'a'.repeat(MAX_FILTER_LENGTH - 14)}"`;
    expect(justFits).toHaveLength(MAX_FILTER_LENGTH);
    expect(() => filterToSql(justFits, 'User', 'r')).not.toThrow();
  });

  test('nesting is limited to MAX_FILTER_DEPTH', () => {
    const nested = (n: number) => `${'('.repeat(n)}userName eq "a"${')'.repeat(n)}`;
    expect(() => filterToSql(nested(MAX_FILTER_DEPTH), 'User', 'r')).not.toThrow();
    rejects(nested(MAX_FILTER_DEPTH + 1), /nested deeper/);
    const nots = (n: number) => `${'not ('.repeat(n)}userName eq "a"${')'.repeat(n)}`;
    expect(() => filterToSql(nots(MAX_FILTER_DEPTH), 'User', 'r')).not.toThrow();
    rejects(nots(MAX_FILTER_DEPTH + 1), /nested deeper/);
  });

  test('1,000-deep nesting is refused fast, without a stack overflow', () => {
    for (const open of ['(', 'not (', 'emails[']) {
      const filter = `${open.repeat(1000)}userName eq "a"${(open === 'emails[' ? ']' : ')').repeat(1000)}`;
      const started = performance.now();
      rejects(filter, /nested deeper|longer than/);
      expect(performance.now() - started).toBeLessThan(100);
    }
    const started = performance.now();
    rejects(`${'('.repeat(2000)}userName eq "a"${')'.repeat(2000)}`.slice(0, MAX_FILTER_LENGTH));
    expect(performance.now() - started).toBeLessThan(100);
  });

  test('a long flat chain of and/or is fine', () => {
    const terms = Array.from({ length: 150 }, (_, i) => `title eq "t${i}"`);
    const filter =
      terms.map((t, i) => (i % 3 === 2 ? `${t} or` : `${t} and`)).join(' ') + ' active eq true';
    expect(filter.length).toBeLessThan(MAX_FILTER_LENGTH);
    const started = performance.now();
    const { bindings } = filterToSql(filter, 'User', 'r');
    expect(performance.now() - started).toBeLessThan(100);
    expect(bindings).toHaveLength(151);
  });
});

describe('attribute names', () => {
  const sqlOf = (f: string, kind: 'User' | 'Group' = 'User') => filterToSql(f, kind, 'r');

  test('are case-insensitive and may carry the core URN', () => {
    const plain = sqlOf('userName eq "a"');
    expect(sqlOf('USERNAME eq "a"')).toEqual(plain);
    expect(sqlOf(`${CORE}:userName eq "a"`)).toEqual(plain);
    expect(sqlOf(`${CORE.toUpperCase()}:username eq "a"`)).toEqual(plain);
    expect(sqlOf('NAME.GIVENNAME eq "a"')).toEqual(sqlOf('name.givenName eq "a"'));
    expect(sqlOf(`${CORE}:meta.lastModified gt "2026-01-01T00:00:00Z"`)).toEqual(
      sqlOf('meta.LASTMODIFIED gt "2026-01-01T00:00:00Z"'),
    );
  });

  test('extension attributes are found under their URN, also case-insensitively', () => {
    const { sql } = sqlOf(`${ENT}:department eq "R&D"`);
    expect(sql).toContain(`r.data->'${ENT}'->'department'`);
    expect(sqlOf(`${ENT.toLowerCase()}:DEPARTMENT eq "R&D"`)).toEqual(
      sqlOf(`${ENT}:department eq "R&D"`),
    );
    expect(sqlOf(`${ENT}:manager.value eq "x"`).sql).toContain(`->'${ENT}'->'manager'->'value'`);
    // A complex attribute compared directly compares its value sub-attribute.
    expect(sqlOf(`${ENT}:manager eq "x"`)).toEqual(sqlOf(`${ENT}:manager.value eq "x"`));
  });

  test('map to the columns and jsonb paths of the directory tables', () => {
    expect(sqlOf('userName eq "a"')).toEqual({
      sql: 'r.user_name_lower = lower(?::text)',
      bindings: ['a'],
    });
    expect(sqlOf('externalId eq "A"')).toEqual({
      sql: '(r.external_id IS NOT NULL AND r.external_id = ?::text)',
      bindings: ['A'],
    });
    expect(sqlOf('active eq false')).toEqual({ sql: 'r.active = ?::boolean', bindings: [false] });
    expect(sqlOf('meta.created ge "2026-01-31T12:00:00.5+01:00"')).toEqual({
      sql: 'r.created_at >= ?::timestamptz',
      bindings: ['2026-01-31T11:00:00.500000+00:00'],
    });
    expect(sqlOf('meta.resourceType eq "User"').sql).toBe("'User' = ?::text");
    expect(sqlOf('displayName eq "Admins"', 'Group').sql).toBe(
      'r.display_name_lower = lower(?::text)',
    );
    expect(sqlOf('title eq "x"').sql).toContain("r.data->'title'");
  });

  test('id eq uses the uuid column; a value that is no canonical uuid matches nothing', () => {
    const id = '0b8f1c9e-8a3b-4c1e-9d5e-1a2b3c4d5e6f';
    expect(sqlOf(`id eq "${id}"`)).toEqual({ sql: 'r.user_id = ?::uuid', bindings: [id] });
    expect(sqlOf(`id eq "${id}"`, 'Group').sql).toBe('r.group_id = ?::uuid');
    expect(sqlOf('id eq "not-a-uuid"')).toEqual({ sql: 'false', bindings: [] });
    expect(sqlOf(`id eq "${id.toUpperCase()}"`)).toEqual({ sql: 'false', bindings: [] }); // caseExact
    expect(sqlOf('id sw "0b8f"').sql).toBe('r.user_id::text LIKE ?::text');
  });

  test('membership subqueries are tied to the row and its tenant', () => {
    const groups = sqlOf('groups.display eq "Admins"').sql;
    expect(groups).toContain('r_m1.tenant_id = r.tenant_id AND r_m1.member_id = r.user_id');
    const members = sqlOf('members.value eq "0b8f1c9e-8a3b-4c1e-9d5e-1a2b3c4d5e6f"', 'Group').sql;
    expect(members).toContain('r_m1.tenant_id = r.tenant_id AND r_m1.group_id = r.group_id');
    expect(members).toContain('r_m1.member_id = ?::uuid');
    expect(() => sqlOf('groups pr', 'Group')).toThrow(/unknown attribute/);
    expect(() => sqlOf('members pr')).toThrow(/unknown attribute/);
  });
});

describe('values never reach the SQL text', () => {
  test('strings are bound, including quotes and SQL', () => {
    const evil = "x' OR 1=1 --";
    const { sql, bindings } = filterToSql(`userName eq ${JSON.stringify(evil)}`, 'User', 'r');
    expect(sql).not.toContain('OR 1=1');
    expect(bindings).toEqual([evil]);
  });

  test('co/sw/ew escape LIKE metacharacters', () => {
    expect(filterToSql('userName co "50%_a\\\\b"', 'User', 'r')).toEqual({
      sql: 'r.user_name_lower LIKE lower(?::text)',
      bindings: ['%50\\%\\_a\\\\b%'],
    });
    expect(filterToSql('externalId sw "a_"', 'User', 'r').bindings).toEqual(['a\\_%']);
    expect(filterToSql('externalId ew "%"', 'User', 'r').bindings).toEqual(['%\\%']);
  });

  test('caseExact decides whether lower() is applied', () => {
    expect(filterToSql('externalId gt "B"', 'User', 'r').sql).toBe(
      '(r.external_id IS NOT NULL AND r.external_id COLLATE "C" > ?::text)',
    );
    expect(filterToSql('userName lt "B"', 'User', 'r').sql).toBe(
      'r.user_name_lower COLLATE "C" < lower(?::text)',
    );
  });

  test('the alias must be an identifier', () => {
    expect(() => filterToSql('userName pr', 'User', 'r; DROP TABLE x')).toThrow(/alias/);
  });
});

describe('reference evaluator semantics', () => {
  const m = (f: string, resource: object) => matches(parseFilter(f), resource, 'User');

  test('ne matches an unassigned attribute; eq null is "not present"', () => {
    expect(m('title ne "x"', {})).toBe(true);
    expect(m('title ne "x"', { title: 'x' })).toBe(false);
    expect(m('title eq null', {})).toBe(true);
    expect(m('title eq null', { title: '' })).toBe(true);
    expect(m('title ne null', { title: 'y' })).toBe(true);
  });

  test('through a multi-valued attribute ne is per element', () => {
    const user = { emails: [{ type: 'work' }, { type: 'home' }] };
    expect(m('emails.type ne "work"', user)).toBe(true);
    expect(m('not (emails.type eq "work")', user)).toBe(false);
    expect(m('emails.type ne "work"', {})).toBe(false);
    expect(m('emails.type ne "work"', { emails: [{ value: 'a@x' }] })).toBe(true);
  });

  test('pr needs a non-empty value', () => {
    expect(m('title pr', { title: '' })).toBe(false);
    expect(m('title pr', { title: null })).toBe(false);
    expect(m('emails pr', { emails: [] })).toBe(false);
    expect(m('emails pr', { emails: [{}] })).toBe(false);
    expect(m('emails pr', { emails: [{ primary: false }] })).toBe(true);
    expect(m('name pr', { name: {} })).toBe(false);
    expect(m('name pr', { name: { givenName: 'A' } })).toBe(true);
  });

  test('a value of the wrong JSON type is unassigned', () => {
    expect(m('title pr', { title: 5 })).toBe(false);
    expect(m('title ne "5"', { title: 5 })).toBe(true);
    expect(m('emails.primary eq true', { emails: [{ primary: 'true' }] })).toBe(false);
    expect(m('emails pr', { emails: 'a@x' })).toBe(false);
  });

  test('case folding and ordering', () => {
    expect(m('userName eq "ALICE"', { userName: 'alice' })).toBe(true);
    expect(m('externalId eq "ABC"', { externalId: 'abc' })).toBe(false);
    expect(m('userName gt "B"', { userName: 'a' })).toBe(false); // a < b once folded
    expect(m('externalId gt "B"', { externalId: 'a' })).toBe(true); // 'a' > 'B' by code point
    // Code point order puts U+1F600 after U+FFFD (UTF-16 units would not).
    expect(m('userName gt "\uFFFD"', { userName: '\u{1F600}' })).toBe(true);
    // Per code point, like PostgreSQL's lower(): 'ΣΑΣ' folds to 'σασ' (toLowerCase: 'σας').
    expect(m('userName eq "σασ"', { userName: 'ΣΑΣ' })).toBe(true);
    expect(m('userName eq "i"', { userName: '\u0130' })).toBe(true);
  });

  test('dateTime compares instants, to the microsecond', () => {
    const u = { meta: { lastModified: '2026-03-01T10:00:00.000001Z' } };
    expect(m('meta.lastModified gt "2026-03-01T10:00:00Z"', u)).toBe(true);
    expect(m('meta.lastModified eq "2026-03-01T11:00:00.000001+01:00"', u)).toBe(true);
    expect(m('meta.lastModified lt "2026-03-01T10:00:00.0000019Z"', u)).toBe(false);
  });
});

describe('sortBy', () => {
  test('single-valued attributes give an ORDER BY expression', () => {
    expect(sortExpression('userName', 'User', 'r')).toBe('r.user_name_lower COLLATE "C"');
    expect(sortExpression('externalId', 'User', 'r')).toBe('r.external_id COLLATE "C"');
    expect(sortExpression('meta.lastModified', 'Group', 'g')).toBe('g.last_modified');
    expect(sortExpression(`${ENT}:manager`, 'User', 'r')).toContain("->'manager'->'value'");
    expect(sortExpression('name.familyName', 'User', 'r')).toMatch(
      /^lower\(.*'familyName'.*\) COLLATE "C"$/,
    );
  });

  test('multi-valued or unknown attributes are invalid_sort', () => {
    for (const path of ['emails', 'emails.value', 'nope', 'name', 'userName eq "a"', '']) {
      const err = errorOf(() => sortExpression(path, 'User', 'r'));
      expect([err.code, err.status]).toEqual(['invalid_sort', 400]);
    }
  });
});

describe('PATCH paths', () => {
  test('are split into attribute, filter and sub-attribute', () => {
    expect(parsePatchPath('title')).toEqual({ attrPath: 'title' });
    expect(parsePatchPath(`${ENT}:manager.value`)).toEqual({ attrPath: `${ENT}:manager.value` });
    expect(parsePatchPath('emails[type eq "wo]rk"].value')).toEqual({
      attrPath: 'emails',
      valFilter: eq('type', 'wo]rk'),
      subAttr: 'value',
    });
    expect(parsePatchPath('members[value eq "x"]')).toEqual({
      attrPath: 'members',
      valFilter: eq('value', 'x'),
    });
  });

  test('bad ones are refused', () => {
    for (const path of [
      '',
      'emails[type eq "work"',
      'emails[type eq "w"]x',
      'a b',
      'emails[x[y pr]]',
    ]) {
      expect(errorOf(() => parsePatchPath(path)).code).toBe('invalid_filter');
    }
  });

  test('matchesElement picks the elements a PATCH path addresses', () => {
    const { attrPath, valFilter } = parsePatchPath(
      'emails[type eq "work" and not (primary eq true)]',
    );
    const emails = [{ type: 'work', primary: true }, { type: 'Work' }, { type: 'home' }];
    expect(emails.map((e) => matchesElement(valFilter!, attrPath, e, 'User'))).toEqual([
      false,
      true,
      false,
    ]);
    expect(() => matchesElement(valFilter!, 'title', {}, 'User')).toThrow(/multi-valued/);
    expect(() => matchesElement(parseFilter('kind eq "x"'), 'emails', {}, 'User')).toThrow(
      /unknown attribute "emails.kind"/,
    );
  });
});

// ---- random trees for the print/parse round trip ----

const NAMES = ['userName', 'title', 'emails.value', `${ENT}:department`, 'meta.created'];
const VALUES = fc.oneof(
  fc.string({
    maxLength: 6,
    unit: fc.constantFrom('a', 'B', ' ', '"', '\\', '(', ']', 'é', '\n', '%'),
  }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.boolean(),
  fc.constant(null),
);
const OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'] as const;

function filterTree(): fc.Arbitrary<FilterNode> {
  const leaf: fc.Arbitrary<FilterNode> = fc.oneof(
    fc.record({
      op: fc.constantFrom(...OPS),
      attrPath: fc.constantFrom(...NAMES),
      compValue: VALUES,
    }),
    fc.record({ op: fc.constant('pr' as const), attrPath: fc.constantFrom(...NAMES) }),
  );
  const { tree } = fc.letrec<{ tree: FilterNode }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.record({
        op: fc.constantFrom('and' as const, 'or' as const),
        filters: fc.array(tie('tree'), { minLength: 2, maxLength: 3 }),
      }),
      fc.record({ op: fc.constant('not' as const), filter: tie('tree') }),
      fc.record({
        op: fc.constant('[]' as const),
        attrPath: fc.constant('emails'),
        valFilter: fc.oneof(
          leaf,
          fc.record({
            op: fc.constant('and' as const),
            filters: fc.array(leaf, { minLength: 2, maxLength: 2 }),
          }),
        ),
      }),
    ),
  }));
  return tree;
}

/** Print with parentheses only where precedence needs them (or everywhere, `extra`). */
function print(n: FilterNode, extra: boolean): string {
  switch (n.op) {
    case 'and':
    case 'or':
      return n.filters
        .map((c) => {
          const s = print(c, extra);
          // Only or-inside-and needs them; the parser flattens same-op nesting (see flat).
          const group = c.op === 'or' || c.op === 'and';
          return group && (extra || (n.op === 'and' && c.op === 'or')) ? `(${s})` : s;
        })
        .join(` ${n.op} `);
    case 'not':
      return `not (${print(n.filter, extra)})`;
    case 'pr':
      return `${n.attrPath} pr`;
    case '[]':
      return `${n.attrPath}[${print(n.valFilter, extra)}]`;
    default:
      return `${n.attrPath} ${n.op} ${JSON.stringify(n.compValue)}`;
  }
}

/** Nested and-in-and (or-in-or) is the same filter. */
function flat(n: FilterNode): FilterNode {
  switch (n.op) {
    case 'and':
    case 'or':
      return {
        op: n.op,
        filters: n.filters.flatMap((c) => {
          const f = flat(c);
          return f.op === n.op ? f.filters : [f];
        }),
      };
    case 'not':
      return { op: 'not', filter: flat(n.filter) };
    case '[]':
      return { ...n, valFilter: flat(n.valFilter) };
    default:
      return n;
  }
}
