import request from 'supertest';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb();
});
afterAll(() => db.close());

describe('health, readiness and metrics', () => {
  test('/healthz answers while the process lives', async () => {
    const res = await request(testApp(db.knex)).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  test('/readyz is ready when the database answers and its schema is current', async () => {
    const res = await request(testApp(db.knex)).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.checks).toEqual({ database: 'ok', migrations: 'ok' });
  });

  test('/readyz is not ready while shutting down', async () => {
    const res = await request(testApp(db.knex, { shuttingDown: true })).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.checks.service).toBe('shutting down');
  });

  test('/readyz is not ready when a migration is pending', async () => {
    const fresh = await openTestDb({ migrate: false });
    try {
      const res = await request(testApp(fresh.knex)).get('/readyz');
      expect(res.status).toBe(503);
      expect(res.body.checks.migrations).toMatch(/pending/);
    } finally {
      await fresh.close();
    }
  });

  test('/metrics exposes HTTP and database metrics in the Prometheus format', async () => {
    const app = testApp(db.knex);
    await request(app).get('/readyz');
    const res = await request(app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(
      /seatkeeper_http_request_duration_seconds_count\{method="GET",route="\/readyz",status="200"\} 1/,
    );
    expect(res.text).toMatch(
      /seatkeeper_db_query_duration_seconds_count\{kind="select",outcome="ok"\} \d+/,
    );
    expect(res.text).toMatch(/seatkeeper_db_pool_connections\{state="used"\}/);
    expect(res.text).toMatch(/seatkeeper_process_cpu_seconds_total/);
  });
});
