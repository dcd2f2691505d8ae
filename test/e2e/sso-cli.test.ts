// `seatkeeper sso add|list|remove` (issue 15): the operator's way to the same
// connections as /api/v1/sso/connections, with the secret read from a file, never an
// argument, and never printed back.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openTestDb, type TestDb } from '../support/db.js';
import { cli } from '../support/processes.js';

let db: TestDb;
let dir: string;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  db = await openTestDb();
  dir = await mkdtemp(path.join(os.tmpdir(), 'sk-sso-cli-'));
  // Its own database: a fresh data directory, or this file's schema on PostgreSQL.
  env = {
    PUBLIC_URL: 'https://sk.example.com',
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

test('add from a JSON file, list, remove; the secret is never printed', async () => {
  const tenant = JSON.parse((await cli(['tenant', 'create', 'SSO CLI', '--json'], env)).stdout) as {
    id: string;
  };
  const file = path.join(dir, 'oidc.json');
  await writeFile(
    file,
    JSON.stringify({
      type: 'oidc',
      issuer: 'https://idp.example.org',
      clientId: 'seatkeeper',
      clientSecret: 'cli-secret-value',
      linkBy: 'email',
      domains: ['example.com'],
    }),
  );
  const added = await cli(['sso', 'add', '--tenant', tenant.id, file, '--json'], env);
  expect(added.stderr).toBe('');
  expect(added.code).toBe(0);
  const connection = JSON.parse(added.stdout) as { id: string; redirectUri: string };
  expect(connection.redirectUri).toBe(`https://sk.example.com/sso/oidc/${connection.id}/callback`);
  expect(added.stdout).not.toContain('cli-secret-value');

  const listed = await cli(['sso', 'list', '--tenant', tenant.id], env);
  expect(listed.stdout).toContain(`${connection.id}  oidc  https://idp.example.org  example.com`);
  expect(listed.stdout).not.toContain('cli-secret-value');

  const removed = await cli(['sso', 'remove', '--tenant', tenant.id, connection.id], env);
  expect(removed.code).toBe(0);
  expect((await cli(['sso', 'list', '--tenant', tenant.id], env)).stdout).toContain(
    'no connections',
  );
});

test('bad input is an error on stderr with a non-zero exit', async () => {
  const file = path.join(dir, 'bad.json');
  await writeFile(file, '{"type": "oidc"');
  const unknownTenant = await cli(
    ['sso', 'add', '--tenant', '0190a0a0-0000-7000-8000-000000000000', file],
    env,
  );
  expect(unknownTenant.code).toBe(1);
  expect(unknownTenant.stderr).toMatch(/tenant not found/);
});
