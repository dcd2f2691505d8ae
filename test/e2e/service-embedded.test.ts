// The newcomer's path on the embedded database, with real processes: first start on an
// empty directory, the CLI beside the running service, SIGTERM, and a second start.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  cli,
  startServiceProcess,
  tokensFromBanner,
  type ServiceProcess,
} from '../support/processes.js';

let dataDir: string;
let env: Record<string, string | undefined>;
let first: ServiceProcess | undefined;

beforeAll(async () => {
  dataDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'sk-e2e-')), 'data');
  // Always the embedded database here, even when the suite runs against PostgreSQL.
  env = { DATA_DIR: dataDir, DATABASE_URL: undefined, DATA_DIR_LOCK_WAIT_MS: '500' };
});
afterAll(async () => {
  if (first && first.child.exitCode === null) await first.stop('SIGKILL');
  await rm(path.dirname(dataDir), { recursive: true, force: true });
});

const api = (url: string, token: string, route = '/api/v1/tenant') =>
  fetch(`${url}${route}`, { headers: { Authorization: `Bearer ${token}` } });

describe('the service on the embedded database', () => {
  let tokens: { scim: string; api: string };

  test('boots on an empty data directory, answers /healthz and prints the first tenant tokens once', async () => {
    first = await startServiceProcess(env, 60_000);
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    tokens = tokensFromBanner(first.stdout())!;
    expect(tokens).not.toBeNull();
    const res = await api(first.url, tokens.api);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'Default' });
    // Tokens go to stdout for the person, never into the log.
    expect(first.stderr()).not.toContain(tokens.api);
    expect(first.stderr()).not.toContain(tokens.scim);
  });

  test('keeps the data directory private (0700) with the lock and the socket inside', async () => {
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect(existsSync(path.join(dataDir, 'service.lock'))).toBe(true);
    expect(existsSync(path.join(dataDir, '.s.PGSQL.5432'))).toBe(true);
  });

  test('the CLI works beside the running service, through its socket', async () => {
    const created = await cli(['tenant', 'create', 'Beside', '--json'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const tenant = JSON.parse(created.stdout) as {
      id: string;
      name: string;
      scimToken: string;
      apiToken: string;
    };
    expect(Object.keys(tenant).sort()).toEqual(['apiToken', 'id', 'name', 'scimToken']);
    // The running service sees the tenant the CLI created: one database, not two.
    expect(await (await api(first!.url, tenant.apiToken)).json()).toMatchObject({
      id: tenant.id,
      name: 'Beside',
    });

    const list = await cli(['tenant', 'list', '--json'], env);
    expect((JSON.parse(list.stdout) as Array<{ name: string }>).map((t) => t.name)).toEqual([
      'Default',
      'Beside',
    ]);

    const token = await cli(
      ['token', 'create', '--tenant', tenant.id, '--scope', 'api', '--name', 'ops', '--json'],
      env,
    );
    const { id: tokenId, token: raw } = JSON.parse(token.stdout) as { id: string; token: string };
    expect((await api(first!.url, raw)).status).toBe(200);
    const revoked = await cli(['token', 'revoke', '--tenant', tenant.id, tokenId], env);
    expect(revoked.code).toBe(0);
    expect((await api(first!.url, raw)).status).toBe(401);

    const verify = await cli(['audit', 'verify', '--json'], env);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });

    const cef = await cli(['audit', 'export', '--format', 'cef', '--tenant', tenant.id], env);
    expect(cef.stdout.trim().split('\n')).toHaveLength(5); // tenant + 2 tokens, token create, revoke
    expect(cef.stdout).toMatch(/^CEF:0\|Seatkeeper\|Seatkeeper\|/);

    // A scheduled job run by hand for one tenant, beside the running service (issue 14).
    const job = await cli(['jobs', 'run', 'seat-reconcile', '--tenant', tenant.id, '--json'], env);
    expect(job.code).toBe(0);
    expect(JSON.parse(job.stdout).runs).toEqual([
      expect.objectContaining({
        tenantId: tenant.id,
        name: 'seat-reconcile',
        result: { changes: 0 },
      }),
    ]);
  });

  test('a second service on the same directory refuses to start while the first runs', async () => {
    await expect(startServiceProcess(env)).rejects.toThrow(/in use by another Seatkeeper process/);
  });

  test('SIGTERM shuts down cleanly within seconds and releases the directory', async () => {
    const [code, ms] = await first!.stop('SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
    expect(first!.stderr()).toContain('seatkeeper stopped');
    expect(existsSync(path.join(dataDir, 'service.lock'))).toBe(false);
    expect(existsSync(path.join(dataDir, '.s.PGSQL.5432'))).toBe(false);
  });

  test('the CLI opens the directory itself when no service runs', async () => {
    const list = await cli(['tenant', 'list', '--json'], env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toHaveLength(2);
    const status = await cli(['migrate', 'status', '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ pending: [] });
  });

  test('starts again on the existing directory with the data kept and no new tokens printed', async () => {
    const again = await startServiceProcess(env);
    try {
      expect(tokensFromBanner(again.stdout())).toBeNull();
      expect(again.stdout()).not.toContain('sk_');
      expect((await api(again.url, tokens.api)).status).toBe(200);
    } finally {
      expect((await again.stop('SIGTERM'))[0]).toBe(0);
    }
  });
});
