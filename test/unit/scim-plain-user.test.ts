// plainUser (src/scim/plain-user.ts) validates common User bodies without scimmy's
// coercion. It may only ever answer what scimmy's path answers: for every body it accepts,
// scimmy must accept it too and coerce it to the same thing. Random bodies, valid and not, from
// the attribute names, casings, types and canonical values that matter, check that.
import fc from 'fast-check';
import SCIMMY from 'scimmy';
import { canonicalJson } from '../../src/audit/chain.js';
import { ENTERPRISE_USER } from '../../src/directory/index.js';
import { plainUser } from '../../src/scim/plain-user.js';
import { ENTRA_CREATE_USER, OKTA_CREATE_USER } from '../support/idp-bodies.js';
import {
  coerceBooleanStrings,
  CORE_USER,
  userThroughScimmy,
  validateUser,
} from '../../src/scim/schemas.js';

const casing = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((up) => [...name].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));
// Mostly the schema's own spelling, sometimes another case (names are case-insensitive).
const nameOf = (name: string) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(name) }, casing(name));

// Values that are wrong for most attributes, mixed in now and then.
const wrong = fc.oneof(
  fc.integer(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.constantFrom('True', 'false', ''),
  fc.boolean(),
  fc.string({ maxLength: 4 }),
);

interface Described {
  name: string;
  type: string;
  multiValued: boolean;
  canonicalValues?: string[];
  subAttributes?: Described[];
}
// The schema as a client reads it (/Schemas): plain descriptions, canonical values included.
const described = JSON.parse(
  JSON.stringify(SCIMMY.Schemas.User.definition.describe().attributes),
) as Described[];

// A value for one attribute or sub-attribute: mostly of its type (from its canonical
// values where it has them, or just outside them), sometimes wrong.
function valueFor(attr: Described, single = false): fc.Arbitrary<unknown> {
  if (attr.multiValued && !single)
    return fc.oneof(
      { weight: 8, arbitrary: fc.array(valueFor(attr, true), { maxLength: 3 }) },
      { weight: 1, arbitrary: valueFor(attr, true) },
      { weight: 1, arbitrary: wrong },
    );
  let right: fc.Arbitrary<unknown>;
  if (attr.subAttributes) {
    const subs = attr.subAttributes;
    right = fc
      .array(
        fc.oneof(
          {
            weight: 9,
            arbitrary: fc
              .constantFrom(...subs)
              .chain((sub) => fc.tuple(nameOf(sub.name), valueFor(sub))),
          },
          { weight: 1, arbitrary: fc.tuple(fc.constantFrom('nope', 'Value', 'TYPE'), wrong) },
        ),
        { maxLength: 4 },
      )
      .map((entries) => Object.fromEntries(entries));
  } else if (attr.canonicalValues?.length) {
    const canon = attr.canonicalValues;
    right = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...canon) },
      { weight: 2, arbitrary: fc.constantFrom('Work', 'x', canon[0]!.toUpperCase()) },
    );
  } else if (attr.type === 'boolean') {
    right = fc.boolean();
  } else {
    right = fc.string({ maxLength: 8 });
  }
  return fc.oneof({ weight: 8, arbitrary: right }, { weight: 1, arbitrary: wrong });
}

const attribute = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.constantFrom(...described).chain((a) => fc.tuple(nameOf(a.name), valueFor(a))),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom('meta', 'Meta'),
      fc.constantFrom(
        { resourceType: 'User' },
        { resourcetype: 'User' },
        { resourcetype: 5 },
        { RESOURCETYPE: null },
        { created: 'yesterday', location: 7 },
        'a string',
        null,
      ),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom('id', 'unknownThing', ENTERPRISE_USER, `${ENTERPRISE_USER}:department`),
      fc.oneof(fc.string({ maxLength: 4 }), fc.constant({ department: 'x' }), wrong),
    ),
  },
);

const body = fc
  .record({
    userName: fc.oneof(
      { weight: 8, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: wrong },
    ),
    rest: fc.array(attribute, { maxLength: 6 }),
    schemas: fc.constantFrom(undefined, [CORE_USER], [CORE_USER, ENTERPRISE_USER], ['x']),
  })
  .map(({ userName, rest, schemas }) => ({
    ...(schemas ? { schemas } : {}),
    ...(userName === undefined ? {} : { userName }),
    ...Object.fromEntries(rest),
  }));

// What plainUser answers for: scimmy's coercion, less the schemas and meta scimmy writes in.
function throughScimmy(input: Record<string, unknown>) {
  try {
    const { schemas: _schemas, meta: _meta, ...rest } = userThroughScimmy(input);
    return { ok: rest };
  } catch (error) {
    return { error };
  }
}

describe('plainUser agrees with scimmy', () => {
  it('answers as the scimmy coercion does for every body it takes, and takes no body scimmy refuses', () => {
    let taken = 0;
    let runs = 0;
    fc.assert(
      fc.property(body, (raw) => {
        runs += 1;
        const input = coerceBooleanStrings('User', raw) as Record<string, unknown>;
        const fast = plainUser(input);
        if (fast === null) return;
        taken += 1;
        const reference = throughScimmy(input);
        expect(reference.error).toBeUndefined();
        expect(canonicalJson(fast)).toBe(canonicalJson(reference.ok));
      }),
      { numRuns: 5000 },
    );
    // The property means something only if plain bodies come up often.
    expect(taken / runs).toBeGreaterThan(0.2);
  });

  it('takes the create bodies Okta and Entra ID document, with the same result', () => {
    // Entra also sends booleans as strings.
    const entra = { ...ENTRA_CREATE_USER, active: 'True' };
    for (const raw of [OKTA_CREATE_USER, entra]) {
      const input = coerceBooleanStrings('User', raw) as Record<string, unknown>;
      const fast = plainUser(input);
      expect(fast).not.toBeNull();
      expect(canonicalJson(fast)).toBe(canonicalJson(throughScimmy(input).ok));
      const stored = validateUser(raw);
      expect(stored).not.toHaveProperty('password');
      expect(stored).not.toHaveProperty('groups');
      expect(stored).toMatchObject({ userName: raw.userName, active: true });
    }
  });

  it('leaves to scimmy what it must decide: wrong types, nulls, non-canonical values, extensions', () => {
    const base = { userName: 'a' };
    for (const extra of [
      { active: 'yes' },
      { displayName: null },
      { emails: { value: 'not-a-list' } },
      { emails: [{ value: 'x', type: 'Work' }] },
      { name: [{ givenName: 'x' }] },
      { [`${ENTERPRISE_USER}:department`]: 'R&D' },
      { [ENTERPRISE_USER]: { department: 'R&D' } },
      { profileUrl: 'https://example.com' },
      { meta: { resourcetype: 5 } },
      { username: 'b' },
    ]) {
      expect(plainUser({ ...base, ...extra })).toBeNull();
    }
    expect(plainUser({ displayName: 'no userName' })).toBeNull();
    expect(() => validateUser({ userName: 'a', active: 'yes' })).toThrow(/boolean/);
  });
});
