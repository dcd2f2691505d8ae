// issue 12, item 2: failed authentication was not limited at all: one address could try
// tokens as fast as the service answered, and many addresses could guess one token's
// secret. Failures are now counted per client address and per presented token id in
// the database (shared by replicas): over AUTH_FAILURE_LIMIT_PER_MINUTE, 429 with
// Retry-After. Only failures count and only failures write; each is logged at warn
// with its reason and the address, never the secret.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import request from 'supertest';
import winston from 'winston';
import { DirectoryHooks } from '../../src/directory/changes.js';
import { createApp } from '../../src/app.js';
import { createToken, revokeToken, type CreatedTenant } from '../../src/tenancy/service.js';
import { mintToken, parseToken } from '../../src/tenancy/tokens.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant, testActor } from '../support/fixtures.js';
import { ERROR } from '../support/scim.js';

const LIMIT = 5;
let db: TestDb;
let tenant: CreatedTenant;
let t = Date.parse('2026-12-07T10:00:00Z');
const logs: Array<Record<string, unknown>> = [];
const logger = winston.createLogger({
  level: 'debug',
  format: winston.format.json(),
  transports: [
    new winston.transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _enc, done) {
          logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    }),
  ],
});

const replica = () =>
  createApp({
    knex: db.knex,
    logger,
    bodyLimit: 1 << 20,
    state: { shuttingDown: false },
    hooks: new DirectoryHooks(),
    trustProxy: 'loopback', // supertest comes from loopback: X-Forwarded-For names the client
    authFailureLimit: LIMIT,
    authFailureNow: () => t,
  });
let app: ReturnType<typeof replica>;

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Flood');
  app = replica();
});
afterAll(() => db.close());

const stranger = () => mintToken(randomUUID(), randomUUID(), 'api').token;
const get = (a: typeof app, from: string, token: string | undefined, path = '/api/v1/tenant') => {
  const r = request(a).get(path).set('X-Forwarded-For', from);
  return token === undefined ? r : r.set('Authorization', `Bearer ${token}`);
};
const rows = async () => Number((await db.owner('auth_failures').count({ n: '*' }))[0]!.n);

describe('issue 12: failed authentication is rate limited per client address', () => {
  const from = '203.0.113.1';

  test(`after ${LIMIT} failures a minute, the next failure is 429 with Retry-After`, async () => {
    for (let i = 0; i < LIMIT; i++) await get(app, from, stranger()).expect(401);
    const res = await get(app, from, stranger());
    expect(res.status).toBe(429);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 429, code: 'too_many_auth_failures' });
    const retry = Number(res.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    // Every kind of failure counts: missing, malformed, and on the SCIM door too.
    await get(app, from, undefined).expect(429);
    await get(app, from, 'sk_api_garbage').expect(429);
    const scim = await get(app, from, stranger(), '/scim/v2/Users');
    expect(scim.status).toBe(429);
    expect(scim.body).toMatchObject({ schemas: [ERROR], status: '429' });
  });

  test('a genuine token from that address still works: successes are never limited', async () => {
    for (let i = 0; i < 3; i++) await get(app, from, tenant.apiToken).expect(200);
  });

  test('another address is not limited', async () => {
    await get(app, '203.0.113.2', stranger()).expect(401);
  });

  test('once the window passes, failures are 401 again', async () => {
    t += 61_000;
    await get(app, from, stranger()).expect(401);
  });

  test('over the limit, further failures do not write', async () => {
    const from2 = '203.0.113.3';
    for (let i = 0; i < LIMIT + 1; i++) await get(app, from2, 'sk_api_garbage');
    const before = await db
      .knex('auth_failures')
      .where({ key: `ip:${from2}` })
      .first();
    for (let i = 0; i < 10; i++) await get(app, from2, 'sk_api_garbage').expect(429);
    expect(
      await db
        .knex('auth_failures')
        .where({ key: `ip:${from2}` })
        .first(),
    ).toEqual(before);
  });

  test('concurrent failures are counted exactly: the limit lets exactly LIMIT through', async () => {
    const from4 = '203.0.113.5';
    const all = await Promise.all(
      Array.from({ length: LIMIT * 4 }, () => get(app, from4, stranger())),
    );
    const statuses = all.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(LIMIT * 3);
    // express-rate-limit found nothing to complain about (its validations log here).
    expect(logs.filter((l) => l.message === 'rate limiter')).toEqual([]);
  });

  test('replicas share the count through the database', async () => {
    const other = replica();
    const from3 = '203.0.113.4';
    for (let i = 0; i < LIMIT; i++) await get(i % 2 ? app : other, from3, stranger()).expect(401);
    await get(other, from3, stranger()).expect(429);
    await get(app, from3, stranger()).expect(429);
  });
});

describe('issue 12: guessing one token secret from many addresses is limited per token id', () => {
  test('wrong secrets for one token id get 429 past the limit; its genuine holder is never locked out', async () => {
    t += 61_000;
    const { tenantId, tokenId } = parseToken(tenant.apiToken)!;
    const guess = () => mintToken(tenantId, tokenId, 'api').token; // right id, wrong secret
    for (let i = 0; i < LIMIT; i++) await get(app, `198.51.100.${i + 1}`, guess()).expect(401);
    const res = await get(app, '198.51.100.99', guess());
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // A token id is no secret (it is inside the token and in the audit trail): locking
    // it would let anyone who saw it shut its IdP out. The genuine secret still passes,
    // while guesses stay refused until the window passes.
    await get(app, '198.51.100.100', tenant.apiToken).expect(200);
    await get(app, '198.51.100.101', guess()).expect(429);
    t += 61_000;
    await get(app, '198.51.100.101', guess()).expect(401);
  });
});

describe('issue 12: genuine requests never write to the failure table', () => {
  test('a hundred good requests leave auth_failures as it was', async () => {
    const before = await rows();
    for (let i = 0; i < 100; i++)
      await get(app, `192.0.2.${(i % 50) + 1}`, tenant.apiToken).expect(200);
    expect(await rows()).toBe(before);
  });
});

describe('issue 12: failures are logged at warn with reason and address, never the secret', () => {
  test.each([
    ['missing', undefined, 401],
    ['malformed', 'sk_api_not-a-token', 401],
    ['unknown', 'stranger', 401],
    ['revoked', 'revoked', 401],
    ['insufficient_scope', 'scim', 403],
  ] as const)('%s', async (reason, kind, status) => {
    t += 61_000;
    let token: string | undefined = kind;
    if (kind === 'stranger') token = stranger();
    if (kind === 'scim') token = tenant.scimToken;
    if (kind === 'revoked') {
      const created = await createToken(db.knex, tenant.id, { scope: 'api' }, { actor: testActor });
      await revokeToken(db.knex, tenant.id, created.id, { actor: testActor });
      token = created.token;
    }
    logs.length = 0;
    const from = `2001:db8::${reason.length}`;
    await get(app, from, token).expect(status);
    const entry = logs.find((l) => l.message === 'authentication failed');
    expect(entry).toMatchObject({ level: 'warn', reason, address: from });
    if (token) {
      const secret = token.split('_').at(-1)!;
      expect(JSON.stringify(logs)).not.toContain(token);
      if (secret.length > 10) expect(JSON.stringify(logs)).not.toContain(secret);
    }
  });
});
