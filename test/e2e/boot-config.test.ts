import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cli, ROOT, run } from '../support/processes.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sk-cfg-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('boot with a bad configuration', () => {
  test('a bad value stops the service before it touches anything, naming the key', async () => {
    const r = await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts')], {
      PORT: 'http',
      LOG_LEVEL: 'chatty',
      DATA_DIR: path.join(dir, 'data'),
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('Invalid configuration');
    expect(r.stderr).toMatch(/PORT: must be a number \(got "http"\)/);
    expect(r.stderr).toMatch(/LOG_LEVEL: must be one of/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('the CLI reports a bad value the same way', async () => {
    const r = await cli(['tenant', 'list'], {
      DB_POOL_MAX: 'lots',
      DATA_DIR: path.join(dir, 'data'),
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/DB_POOL_MAX: must be a number/);
  });
});

describe('the CLI', () => {
  test('--help lists the operator commands', async () => {
    const r = await cli(['--help'], {});
    expect(r.code).toBe(0);
    for (const c of ['migrate', 'tenant', 'token', 'audit']) expect(r.stdout).toContain(c);
  });

  test('an unknown command fails with a non-zero exit and says why', async () => {
    const r = await cli(['frobnicate'], {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  test('a missing required option fails clearly', async () => {
    const r = await cli(['token', 'create', '--scope', 'api'], {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/required option '--tenant <id>' not specified/);
  });
});
