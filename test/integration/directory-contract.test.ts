// The directory's data-access contract (issue 13, STYLE.md convention 7): every read of
// src/directory's public module, asked for another tenant's ids, finds nothing, and every
// write asked to change them changes nothing. The victim's directory is a user in a
// group nested in another group, made through SCIM as an IdP would.
import type { Knex } from 'knex';
import {
  activeStates,
  deleteGroup,
  deleteUser,
  findGroup,
  findUser,
  groupExists,
  groupListing,
  groupNames,
  groupsOfUser,
  groupsOfUsers,
  memberIdsOf,
  membersOfGroups,
  removeMembers,
  resolveMembers,
  updateUser,
  userExists,
  userIdsByUserName,
  userListing,
  usersUnderGroups,
} from '../../src/directory/index.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { GROUP, scimClient, userBody } from '../support/scim.js';

let db: TestDb;
let victim: CreatedTenant;
let other: CreatedTenant; // the tenant every call below is made as
let userId: string;
let innerId: string;
let outerId: string;

beforeAll(async () => {
  db = await openTestDb();
  victim = await newTenant(db.knex, 'Victim');
  other = await newTenant(db.knex, 'Other');
  const scim = scimClient(testApp(db.knex), victim.scimToken);
  userId = (await scim.post('/Users', userBody('alice@victim.example')).expect(201)).body.id;
  innerId = (
    await scim
      .post('/Groups', { schemas: [GROUP], displayName: 'Inner', members: [{ value: userId }] })
      .expect(201)
  ).body.id;
  outerId = (
    await scim
      .post('/Groups', { schemas: [GROUP], displayName: 'Outer', members: [{ value: innerId }] })
      .expect(201)
  ).body.id;
});
afterAll(() => db.close());

/** The victim's directory as stored: what no call made as another tenant may change. */
async function victimState(knex: Knex) {
  const rows = (table: string) =>
    knex(table).where({ tenant_id: victim.id }).orderByRaw('1').select('*');
  return {
    users: await rows('directory_users'),
    groups: await rows('directory_groups'),
    memberships: await rows('directory_memberships'),
  };
}

describe("another tenant sees nothing of the directory's data (issue 13)", () => {
  const t = () => other.id;

  test('single lookups', async () => {
    await withTenant(db.knex, t(), async (k) => {
      expect(await findUser(k, t(), userId)).toBeUndefined();
      expect(await findGroup(k, t(), innerId)).toBeUndefined();
      expect(await userExists(k, t(), userId)).toBe(false);
      expect(await groupExists(k, t(), innerId)).toBe(false);
    });
  });

  test('lookups of many', async () => {
    await withTenant(db.knex, t(), async (k) => {
      expect([...(await activeStates(k, t(), [userId]))]).toEqual([]);
      expect([...(await userIdsByUserName(k, t(), ['alice@victim.example']))]).toEqual([]);
      expect([...(await groupNames(k, t(), [innerId, outerId]))]).toEqual([]);
      expect(await memberIdsOf(k, t(), innerId)).toEqual([]);
      expect(await resolveMembers(k, t(), [userId, innerId])).toEqual({
        found: [],
        missing: [userId, innerId],
      });
    });
  });

  test('memberships, direct and nested', async () => {
    await withTenant(db.knex, t(), async (k) => {
      expect(await usersUnderGroups(k, t(), [outerId, innerId])).toEqual([]);
      expect([...(await groupsOfUser(k, t(), userId))]).toEqual([]);
      expect((await groupsOfUsers(k, t(), [userId])).get(userId) ?? []).toEqual([]);
      expect((await membersOfGroups(k, t(), [innerId])).get(innerId)).toEqual([]);
    });
  });

  test('listings', async () => {
    await withTenant(db.knex, t(), async (k) => {
      expect(await userListing(k, t()).query).toEqual([]);
      expect(await groupListing(k, t()).query).toEqual([]);
    });
  });

  test('and the same calls made as the victim do find it (the fixture is real)', async () => {
    await withTenant(db.knex, victim.id, async (k) => {
      expect(await userExists(k, victim.id, userId)).toBe(true);
      expect(await usersUnderGroups(k, victim.id, [outerId])).toEqual([userId]);
      expect([...(await groupsOfUser(k, victim.id, userId)).keys()].sort()).toEqual(
        [innerId, outerId].sort(),
      );
    });
  });
});

describe("another tenant changes nothing of the directory's data (issue 13)", () => {
  test('updates, deletions and membership removals aimed at its ids', async () => {
    const before = await victimState(db.owner);
    await withTenant(db.knex, other.id, async (trx) => {
      expect(
        await updateUser(trx, other.id, userId, { userName: 'mallory@x' }, new Date()),
      ).toBeUndefined();
      expect(await deleteUser(trx, other.id, userId)).toEqual([]);
      expect(await deleteGroup(trx, other.id, innerId)).toEqual({ added: [], removed: [] });
      expect(await removeMembers(trx, other.id, outerId, 'all')).toEqual([]);
    });
    expect(await victimState(db.owner)).toEqual(before);
  });
});

// The same calls naming the victim's tenant in a transaction scoped to another: the query's
// own tenant condition is right for the victim, and row-level security still hides every
// row, so a query built with the wrong tenant id cannot read or change another's data.
describe('row-level security hides what a mis-scoped query names (issue 13)', () => {
  const v = () => victim.id;

  test('reads find nothing', async () => {
    await withTenant(db.knex, other.id, async (k) => {
      expect(await findUser(k, v(), userId)).toBeUndefined();
      expect(await userExists(k, v(), userId)).toBe(false);
      expect(await usersUnderGroups(k, v(), [outerId, innerId])).toEqual([]);
      expect((await groupsOfUsers(k, v(), [userId])).get(userId) ?? []).toEqual([]);
      expect(await userListing(k, v()).query).toEqual([]);
      expect(await groupListing(k, v()).query).toEqual([]);
    });
  });

  test('writes change nothing', async () => {
    const before = await victimState(db.owner);
    await withTenant(db.knex, other.id, async (trx) => {
      expect(
        await updateUser(trx, v(), userId, { userName: 'mallory@x' }, new Date()),
      ).toBeUndefined();
      expect(await deleteUser(trx, v(), userId)).toEqual([]);
      expect(await removeMembers(trx, v(), outerId, 'all')).toEqual([]);
    });
    expect(await victimState(db.owner)).toEqual(before);
  });
});
