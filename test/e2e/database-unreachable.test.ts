// issue 12, item 6: an unreachable database at boot printed knex's raw stack and exited
// at once. The service now retries with backoff for DATABASE_CONNECT_TIMEOUT_MS,
// logging each retry, then exits non-zero with one line naming the host (never the
// password).
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitForDatabase } from '../../src/db/connect.js';
import { quietLogger } from '../support/app.js';
import { openTestDb } from '../support/db.js';
import { ROOT, run } from '../support/processes.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sk-dbdown-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('issue 12: boot with an unreachable database', () => {
  test('retries with backoff, then exits non-zero with one line naming the host', async () => {
    const port = await closedPort();
    const started = Date.now();
    const r = await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts')], {
      DATABASE_URL: `postgres://seatkeeper:hunter2-secret@127.0.0.1:${port}/seats`,
      DATABASE_CONNECT_TIMEOUT_MS: '1500',
      DATA_DIR: path.join(dir, 'data'),
      PORT: '0',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
    });
    const took = Date.now() - started;
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(took).toBeGreaterThanOrEqual(1500);
    expect(took).toBeLessThan(20_000);
    const lines = r.stderr.trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const retries = records.filter((l) => l.message === 'database unreachable; retrying');
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries[0]).toMatchObject({ level: 'warn', database: `127.0.0.1:${port}/seats` });
    const last = records.at(-1)!;
    expect(last.level).toBe('error');
    expect(String(last.error)).toContain('cannot connect to the database at');
    expect(String(last.error)).toContain(`127.0.0.1:${port}`);
    expect(r.stderr + r.stdout).not.toContain('hunter2-secret');
    expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('waitForDatabase returns at once when the database answers', async () => {
    const db = await openTestDb({ migrate: false });
    try {
      const started = Date.now();
      await waitForDatabase(db.connection, { timeoutMs: 5000, logger: quietLogger });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await db.close();
    }
  });
});
