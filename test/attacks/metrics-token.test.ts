// issue 12, item 3: /metrics was open to anyone who could reach the port. With
// METRICS_TOKEN set it wants `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise);
// unset, it stays open as before.
import request from 'supertest';
import { DirectoryHooks } from '../../src/directory/changes.js';
import { createApp } from '../../src/app.js';
import { quietLogger } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
});
afterAll(() => db.close());

const TOKEN = 'metrics-operator-secret-0123456789';
const appWith = (metricsToken?: string) =>
  createApp({
    knex: db.knex,
    logger: quietLogger,
    bodyLimit: 1 << 20,
    state: { shuttingDown: false },
    hooks: new DirectoryHooks(),
    metricsToken,
  });

describe('issue 12: /metrics with METRICS_TOKEN set', () => {
  let app: ReturnType<typeof appWith>;
  beforeAll(() => {
    app = appWith(TOKEN);
  });

  test.each([
    ['no Authorization', undefined],
    ['a wrong token', `Bearer ${TOKEN}x`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
    ['the token under another scheme', `Basic ${TOKEN}`],
    ['an empty bearer', 'Bearer '],
  ])('%s is 401 with a Bearer challenge and no metrics', async (_name, auth) => {
    const r = request(app).get('/metrics');
    const res = await (auth === undefined ? r : r.set('Authorization', auth));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(res.text).not.toContain('seatkeeper_');
  });

  test('the operator token gets the metrics', async () => {
    const res = await request(app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('seatkeeper_http_request_duration_seconds');
  });

  test('/healthz and /readyz stay open for probes', async () => {
    await request(app).get('/healthz').expect(200);
    await request(app).get('/readyz').expect(200);
  });
});

test('without METRICS_TOKEN, /metrics is open as before', async () => {
  const res = await request(appWith(undefined)).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.text).toContain('seatkeeper_');
});
