// `seatkeeper jobs run <name> [--tenant <id>] [--json]` (issue 14): the jobs the schedule
// runs, now, for one tenant or every tenant, through the real CLI process.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openTestDb, type TestDb } from '../support/db.js';
import { cli } from '../support/processes.js';

let db: TestDb;
let dir: string;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  db = await openTestDb();
  dir = await mkdtemp(path.join(os.tmpdir(), 'sk-jobs-cli-'));
  // Its own database: a fresh data directory, or this file's schema on PostgreSQL.
  env = {
    DATA_DIR: path.join(dir, 'data'),
    ...(process.env.DATABASE_URL
      ? {
          DATABASE_URL: `${process.env.DATABASE_URL}${process.env.DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${db.schema}`)}`,
        }
      : { DATABASE_URL: undefined }),
  };
  if (!process.env.DATABASE_URL) expect((await cli(['migrate', 'up'], env)).code).toBe(0);
});
afterAll(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

test('runs a new job for one tenant or for every tenant, as JSON', async () => {
  const created = await cli(['tenant', 'create', 'Jobs CLI', '--json'], env);
  const tenant = JSON.parse(created.stdout) as { id: string };
  const one = await cli(['jobs', 'run', 'audit-retention', '--tenant', tenant.id, '--json'], env);
  expect(one.stderr).toBe('');
  expect(one.code).toBe(0);
  expect(JSON.parse(one.stdout)).toEqual({
    runs: [
      {
        tenantId: tenant.id,
        name: 'audit-retention',
        startedAt: expect.any(String),
        finishedAt: expect.any(String),
        result: { retentionDays: null, erased: 0, more: false },
      },
    ],
  });
  const all = JSON.parse((await cli(['jobs', 'run', 'compliance-scan', '--json'], env)).stdout) as {
    runs: Array<{ tenantId: string; result: Record<string, unknown> }>;
  };
  expect(all.runs.map((r) => r.tenantId)).toContain(tenant.id);
  expect(all.runs.find((r) => r.tenantId === tenant.id)!.result).toEqual({
    licenses: 0,
    nonCompliant: 0,
    crossings: 0,
  });
});

test('an unknown job is an error naming the jobs, with a non-zero exit', async () => {
  const ran = await cli(['jobs', 'run', 'no-such-job', '--json'], env);
  expect(ran.code).not.toBe(0);
  expect(ran.stderr).toMatch(/no job named no-such-job .*subscription-renewal/);
});
