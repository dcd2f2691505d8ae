// Attack (issue 12, critical): a token of one tenant opens another. The token cache was
// keyed by the token id alone while the request's tenant was read from the presented
// string, so B's token with A's tenant id spliced into its id segment was accepted as
// A right after one genuine request with B's token. Every forgery below is tried cold
// (nothing cached) and warm (the genuine token was just used), on every route family,
// and a property test mutates one field of a valid token at a time: none is accepted.
import fc from 'fast-check';
import request from 'supertest';
import type { Express } from 'express';
import { authenticate, type CreatedTenant } from '../../src/tenancy/service.js';
import { TokenCache } from '../../src/tenancy/token-cache.js';
import { parseToken } from '../../src/tenancy/tokens.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { PATCH, SCIM, userBody } from '../support/scim.js';

let db: TestDb;
let victim: CreatedTenant; // A
let attacker: CreatedTenant; // B
let victimLicenceId: string;
let victimUserId: string;

const uuidBytes = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');

/** A token string with its fields replaced: the attacker's raw material. */
function forge(
  token: string,
  change: { scope?: string; tenantId?: string; tokenId?: string; secret?: string },
): string {
  const m = /^sk_(scim|api)_([A-Za-z0-9_-]{43})_([A-Za-z0-9_-]{43})$/.exec(token)!;
  const parsed = parseToken(token)!;
  const ids = Buffer.concat([
    uuidBytes(change.tenantId ?? parsed.tenantId),
    uuidBytes(change.tokenId ?? parsed.tokenId),
  ]).toString('base64url');
  return `sk_${change.scope ?? m[1]}_${ids}_${change.secret ?? m[3]}`;
}

beforeAll(async () => {
  db = await openTestDb();
  victim = await newTenant(db.knex, 'Victim');
  attacker = await newTenant(db.knex, 'Attacker');
  const app = testApp(db.knex);
  const api = (path: string, body: unknown) =>
    request(app)
      .post(`/api/v1${path}`)
      .set('Authorization', `Bearer ${victim.apiToken}`)
      .send(body as object);
  const product = (await api('/products', { name: 'Figma', vendor: 'Figma' }).expect(201)).body;
  const licence = await api('/licenses', {
    productId: product.id,
    name: 'Figma pool',
    type: 'subscription',
    quantity: 5,
  }).expect(201);
  victimLicenceId = licence.body.item.id;
  const user = await request(app)
    .post('/scim/v2/Users')
    .set('Authorization', `Bearer ${victim.scimToken}`)
    .set('Content-Type', SCIM)
    .send(JSON.stringify(userBody('victim-user@example.com')))
    .expect(201);
  victimUserId = user.body.id;
});
afterAll(() => db.close());

// Each route family, as the attacker would use it against the victim: reads and writes.
const apiRoutes = (app: Express, token: string) => [
  request(app).get('/api/v1/tenant').set('Authorization', `Bearer ${token}`),
  request(app)
    .post('/api/v1/products')
    .set('Authorization', `Bearer ${token}`)
    .send({ name: `Forged ${Math.random()}`, vendor: 'x' }),
  request(app)
    .patch(`/api/v1/licenses/${victimLicenceId}`)
    .set('Authorization', `Bearer ${token}`)
    .send({ quantity: 1 }),
];
const scimRoutes = (app: Express, token: string) => [
  request(app).get('/scim/v2/Users').set('Authorization', `Bearer ${token}`),
  request(app)
    .post('/scim/v2/Users')
    .set('Authorization', `Bearer ${token}`)
    .set('Content-Type', SCIM)
    .send(JSON.stringify(userBody())),
  request(app)
    .patch(`/scim/v2/Users/${victimUserId}`)
    .set('Authorization', `Bearer ${token}`)
    .set('Content-Type', SCIM)
    .send(
      JSON.stringify({
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'active', value: false }],
      }),
    ),
];

async function victimUnchanged() {
  const products = await db.owner('products').where({ tenant_id: victim.id }).count({ n: '*' });
  expect(Number(products[0]!.n)).toBe(1);
  const users = await db.owner('directory_users').where({ tenant_id: victim.id });
  expect(users).toHaveLength(1);
  expect(users[0].active).not.toBe(false);
  const licence = await db
    .owner('licenses')
    .where({ tenant_id: victim.id, license_id: victimLicenceId })
    .first();
  expect(licence.quantity).toBe(5);
}

const forgeries = () => {
  const a = { api: parseToken(victim.apiToken)!, scim: parseToken(victim.scimToken)! };
  return {
    // B's token with A's tenant id in its id segment.
    'forged tenant part': {
      api: forge(attacker.apiToken, { tenantId: victim.id }),
      scim: forge(attacker.scimToken, { tenantId: victim.id }),
    },
    // B's secret under A's token id (and A's tenant id).
    'forged token id': {
      api: forge(attacker.apiToken, { tenantId: victim.id, tokenId: a.api.tokenId }),
      scim: forge(attacker.scimToken, { tenantId: victim.id, tokenId: a.scim.tokenId }),
    },
    // B's tokens with the scope label swapped, then with A's tenant too.
    'forged scope': {
      api: forge(attacker.scimToken, { scope: 'api', tenantId: victim.id }),
      scim: forge(attacker.apiToken, { scope: 'scim', tenantId: victim.id }),
    },
  };
};

describe.each(['cold', 'warm'] as const)(
  'a forged token is refused %s, on every route family (issue 12)',
  (temperature) => {
    test.each(['forged tenant part', 'forged token id', 'forged scope'] as const)(
      '%s',
      async (kind) => {
        const forged = forgeries()[kind];
        const app = testApp(db.knex, undefined, { tokens: new TokenCache(60_000) });
        if (temperature === 'warm') {
          // The attacker's genuine tokens were just used through this app.
          await request(app)
            .get('/api/v1/tenant')
            .set('Authorization', `Bearer ${attacker.apiToken}`)
            .expect(200);
          await request(app)
            .get('/scim/v2/Users')
            .set('Authorization', `Bearer ${attacker.scimToken}`)
            .expect(200);
        }
        for (const res of [...apiRoutes(app, forged.api), ...scimRoutes(app, forged.scim)]) {
          const r = await res;
          expect({ url: res.url, status: r.status }).toEqual({ url: res.url, status: 401 });
        }
        // The genuine tokens still open their own tenant, and only it.
        const own = await request(app)
          .get('/api/v1/tenant')
          .set('Authorization', `Bearer ${attacker.apiToken}`)
          .expect(200);
        expect(own.body.id).toBe(attacker.id);
        await victimUnchanged();
      },
    );
  },
);

// Random single-field mutations of valid tokens: whatever one field becomes, the token
// is refused, with the genuine tokens of both tenants warm in the cache.
describe('single-field mutations of a valid token are never accepted (issue 12)', () => {
  const cache = new TokenCache(60_000);
  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

  test('property: scope, tenant id, token id, id segment or secret changed', async () => {
    const tokens = [victim.apiToken, victim.scimToken, attacker.apiToken, attacker.scimToken];
    for (const t of tokens)
      await authenticate(db.knex, t, t.startsWith('sk_api_') ? 'api' : 'scim', cache);
    const knownIds = tokens.flatMap((t) => {
      const p = parseToken(t)!;
      return [p.tenantId, p.tokenId];
    });
    const anId = fc.oneof(fc.constantFrom(...knownIds), fc.uuid());
    const mutation = fc.oneof(
      fc.record({ field: fc.constant('scope' as const) }),
      fc.record({ field: fc.constant('tenantId' as const), value: anId }),
      fc.record({ field: fc.constant('tokenId' as const), value: anId }),
      fc.record({
        field: fc.constantFrom('ids' as const, 'secret' as const),
        at: fc.nat({ max: 42 }),
        char: fc.constantFrom(...B64URL),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...tokens), mutation, async (token, m) => {
        let mutated: string;
        if (m.field === 'scope') {
          mutated = token.startsWith('sk_api_')
            ? token.replace(/^sk_api_/, 'sk_scim_')
            : token.replace(/^sk_scim_/, 'sk_api_');
        } else if (m.field === 'tenantId' || m.field === 'tokenId') {
          mutated = forge(token, { [m.field]: m.value });
        } else {
          const [, scope, ids, secret] = /^sk_(\w+?)_(.{43})_(.{43})$/.exec(token)!;
          const edit = (s: string) => s.slice(0, m.at) + m.char + s.slice(m.at + 1);
          mutated = `sk_${scope}_${m.field === 'ids' ? edit(ids!) : ids}_${m.field === 'secret' ? edit(secret!) : secret}`;
        }
        fc.pre(mutated !== token);
        for (const scope of ['api', 'scim'] as const) {
          await expect(authenticate(db.knex, mutated, scope, cache)).rejects.toMatchObject({
            status: 401,
          });
        }
      }),
      { numRuns: 300 },
    );
  });
});
