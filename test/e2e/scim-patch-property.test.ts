// Property: any sequence of PATCH requests, valid or not, leaves a user that still
// satisfies the schema; a rejected request changes nothing (one transaction per request);
// an accepted one bumps the version only when something changed.
import fc from 'fast-check';
import { validateUser } from '../../src/scim/schemas.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { ENTERPRISE, scimClient, userBody, type ScimClient } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let scim: ScimClient;
beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'SCIM patch property');
  scim = scimClient(testApp(db.knex), tenant.scimToken);
});
afterAll(() => db.close());

const word = fc.constantFrom('a', 'B', 'Design', 'x y', '', 'ünï', 'True', 'false');
const emailType = fc.constantFrom('work', 'home', 'other');
const operation = fc.oneof(
  fc.record({
    op: fc.constantFrom('replace', 'Replace', 'add', 'Add'),
    path: fc.constantFrom(
      'title',
      'displayName',
      'name.givenName',
      'nickName',
      `${ENTERPRISE}:department`,
    ),
    value: word,
  }),
  fc.record({
    op: fc.constantFrom('replace', 'Replace'),
    path: fc.constant('active'),
    value: fc.constantFrom(true, false, 'True', 'False', 'maybe', 3),
  }),
  fc.record({
    op: fc.constantFrom('remove', 'Remove'),
    path: fc.constantFrom(
      'title',
      'displayName',
      'name.givenName',
      'emails[type eq "home"]',
      'nickName',
      'nosuch',
    ),
  }),
  fc.record({
    op: fc.constant('add'),
    path: fc.constant('emails'),
    value: fc.array(
      fc.record({ value: fc.emailAddress(), type: emailType, primary: fc.boolean() }),
      { minLength: 1, maxLength: 2 },
    ),
  }),
  fc.record({
    op: fc.constant('replace'),
    path: fc.constantFrom('emails[type eq "work"].value', 'emails[type eq "home"].value'),
    value: fc.emailAddress(),
  }),
  fc.record({
    op: fc.constant('replace'),
    value: fc.record(
      { title: word, active: fc.constantFrom(true, false, 'False') },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    op: fc.constantFrom('replace', 'merge'),
    path: fc.constant('userName'),
    value: fc.constantFrom('', 5, 'renamed@example.com'),
  }),
);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function withoutLocation(r: any): any {
  const { location: _l, ...meta } = r.meta ?? {};
  return { ...r, meta };
}

test('random PATCH sequences never corrupt a user or leave a partial write', async () => {
  const created = await scim.post('/Users', userBody('prop@example.com')).expect(201);
  const path = `/Users/${created.body.id}`;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(operation, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
      async (requests) => {
        // supertest serves each request on a fresh port, so meta.location's host differs.
        const read = async () => withoutLocation((await scim.get(path)).body);
        for (const ops of requests) {
          const before = await read();
          const res = await scim.patchOps(path, ops);
          const after = await read();
          expect([200, 400]).toContain(res.status);
          if (res.status === 400) {
            expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
            expect(after).toEqual(before);
          } else {
            expect(withoutLocation(res.body)).toEqual(after);
          }
          // Still a valid User, with at most one primary email and a boolean active.
          expect(() => validateUser(after)).not.toThrow();
          expect(typeof after.active).toBe('boolean');
          expect(
            (after.emails ?? []).filter((e: { primary?: boolean }) => e.primary === true).length,
          ).toBeLessThanOrEqual(1);
          expect(after.id).toBe(created.body.id);
        }
      },
    ),
    { numRuns: 25, seed: 20261201 },
  );
});
