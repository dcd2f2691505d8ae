// KEY_ENCRYPTION_KEY at boot (issue 18): generated into the data directory (0600) on a
// fresh install; once signing keys are sealed under it, a wrong or missing key stops the
// service with exit 78 (EX_CONFIG) instead of serving keys it cannot open. Also the
// operator's rotation, `seatkeeper keys rotate --tenant <id>`. On the PostgreSQL pass the
// service runs in a schema of its own; the key file lives in a fresh data directory.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { onRealPostgres } from '../support/db.js';
import { cli, ROOT, run, startServiceProcess, tokensFromBanner } from '../support/processes.js';

const schema = `e2e_${randomBytes(5).toString('hex')}`;
const baseUrl = process.env.DATABASE_URL ?? '';
let dir: string;
let env: Record<string, string | undefined>;
const admin = onRealPostgres()
  ? knexFactory({ client: 'pg', connection: baseUrl, pool: { min: 0, max: 1 } })
  : null;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sk-kek-'));
  env = {
    DATA_DIR: path.join(dir, 'data'),
    KEY_ENCRYPTION_KEY: undefined,
    DATABASE_URL: admin
      ? `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`
      : undefined,
    JOBS_ENABLED: 'false',
  };
  await admin?.raw(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  await admin?.raw(`DROP SCHEMA ${schema} CASCADE`);
  await admin?.destroy();
  await rm(dir, { recursive: true, force: true });
});

const boot = (extra: Record<string, string | undefined>) =>
  run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts')], {
    ...env,
    PORT: '0',
    ...extra,
  });

test('a generated key seals the signing keys; a wrong or missing one stops the boot with 78; the right one boots', async () => {
  const keyFile = path.join(dir, 'data', 'keys', 'key-encryption.key');
  const first = await startServiceProcess(env);
  const token = tokensFromBanner(first.stdout())!.api;
  expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
  const call = (p: string, body?: unknown) =>
    fetch(`${first.url}/api/v1${p}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
  const tenantId = (await call('/tenant')).body.id as string;
  const product = (await call('/products', { name: 'P' })).body.id;
  const lic = (
    await call('/licenses', { productId: product, name: 'L', type: 'perpetual', quantity: 1 })
  ).body.item.id;
  const issued = await call(`/licenses/${lic}/keys`, {});
  expect(issued.status).toBe(201);
  expect((await first.stop())[0]).toBe(0);
  const kek = (await readFile(keyFile, 'utf8')).trim();

  const wrong = await boot({ KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
  expect(wrong.code).toBe(78);
  expect(wrong.stderr).toMatch(/KEY_ENCRYPTION_KEY: wrong key/);
  expect(wrong.stderr).not.toMatch(/\n\s+at /);

  const malformed = await boot({ KEY_ENCRYPTION_KEY: 'c2hvcnQ=' });
  expect(malformed.code).toBe(78);
  expect(malformed.stderr).toMatch(/KEY_ENCRYPTION_KEY: must be 32 bytes, base64/);

  await rm(keyFile);
  const missing = await boot({});
  expect(missing.code).toBe(78);
  expect(missing.stderr).toMatch(/KEY_ENCRYPTION_KEY: missing/);
  // A missing key is never replaced by a new one beside keys it cannot open.
  await expect(stat(keyFile)).rejects.toMatchObject({ code: 'ENOENT' });

  // The operator's rotation, with the right key from the environment.
  const rotated = await cli(['keys', 'rotate', '--tenant', tenantId, '--json'], {
    ...env,
    KEY_ENCRYPTION_KEY: kek,
  });
  expect(rotated.stderr).toBe('');
  expect(rotated.code).toBe(0);
  const { kid, retired } = JSON.parse(rotated.stdout) as { kid: string; retired: string };
  expect(retired).not.toBe(kid);
  expect((await cli(['keys', 'rotate', '--tenant', tenantId], env)).code).toBe(78);

  const again = await startServiceProcess({ ...env, KEY_ENCRYPTION_KEY: kek });
  const jwks = await fetch(`${again.url}/keys/${tenantId}/jwks.json`).then((r) => r.json());
  // The retired key signed a key without exp: it stays published beside the new one.
  expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([kid, retired]);
  expect((await again.stop())[0]).toBe(0);
}, 120_000);
