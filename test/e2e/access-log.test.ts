// Access logs (issue 16): one line at `info` per request when it ends, naming the route
// pattern (never the raw path with its ids or its query string), the status, the
// duration, the tenant once authenticated and the request id; never a token or cookie.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import request from 'supertest';
import winston from 'winston';
import { createLogger } from '../../src/log/logger.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';

let db: TestDb;
let tenant: CreatedTenant;
let lines: string[];
let app: ReturnType<typeof testApp>;

/** The production logger (JSON lines at info), its output captured instead of printed. */
function capturingLogger(level: string) {
  const logger = createLogger({ level, format: 'json' });
  logger.clear();
  logger.add(
    new winston.transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString('utf8').trim());
          done();
        },
      }),
    }),
  );
  return logger;
}

const accessLines = () =>
  lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === 'request');

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Logged');
  app = testApp(db.knex, undefined, { logger: capturingLogger('info') });
});
beforeEach(() => {
  lines = [];
});
afterAll(() => db.close());

test('an authenticated request logs its route pattern, status, duration, tenant and request id, and no token', async () => {
  const id = randomUUID();
  await request(app)
    .get(`/api/v1/licenses/${id}?subject=alice@example.com`)
    .set('Authorization', `Bearer ${tenant.apiToken}`)
    .set('Cookie', 'sk_session=cookie-secret')
    .set('X-Request-Id', 'req-42')
    .expect(404);
  // 'close' fires after the response is read; give the event loop a turn.
  await new Promise((r) => setImmediate(r));
  expect(accessLines()).toEqual([
    {
      level: 'info',
      message: 'request',
      requestId: 'req-42',
      method: 'GET',
      route: '/api/v1/licenses/:id',
      status: 404,
      ms: expect.any(Number),
      tenantId: tenant.id,
      timestamp: expect.any(String),
    },
  ]);
  const all = lines.join('\n');
  for (const secret of [tenant.apiToken, 'cookie-secret', 'alice@example.com', id])
    expect(all).not.toContain(secret);
});

test('a request refused by authentication logs its door and no tenant; an unknown path logs no path', async () => {
  await request(app).get('/api/v1/tenant').set('Authorization', 'Bearer sk_api_nope').expect(401);
  await request(app).get(`/no/such/${randomUUID()}`).expect(404);
  await new Promise((r) => setImmediate(r));
  const [refused, unknown] = accessLines();
  expect(refused).toMatchObject({ method: 'GET', route: '/api/v1/*', status: 401 });
  expect(refused).not.toHaveProperty('tenantId');
  expect(unknown).toMatchObject({ route: 'unmatched', status: 404 });
  expect(lines.join('\n')).not.toContain('sk_api_nope');
});

test('at warn, requests are not logged', async () => {
  const quiet = testApp(db.knex, undefined, { logger: capturingLogger('warn') });
  await request(quiet).get('/healthz').expect(200);
  await new Promise((r) => setImmediate(r));
  expect(accessLines()).toEqual([]);
});
