// The same service on a real PostgreSQL (DATABASE_URL), in a schema of its own. Runs in
// the PostgreSQL pass of the suite; the embedded pass has no server to point at.
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { onRealPostgres } from '../support/db.js';
import { cli, startServiceProcess, tokensFromBanner } from '../support/processes.js';

const schema = `e2e_${randomBytes(5).toString('hex')}`;
const baseUrl = process.env.DATABASE_URL ?? '';
// libpq's `options` parameter puts this service's tables in its own schema.
const url = `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
const env = { DATABASE_URL: url, DATA_DIR: '/nonexistent/never-used' };

const onPostgres = onRealPostgres() ? describe : describe.skip;

onPostgres('the service on a real PostgreSQL', () => {
  const admin = knexFactory({ client: 'pg', connection: baseUrl, pool: { min: 0, max: 1 } });
  beforeAll(() => admin.raw(`CREATE SCHEMA ${schema}`));
  afterAll(async () => {
    await admin.raw(`DROP SCHEMA ${schema} CASCADE`);
    await admin.destroy();
  });

  test('migrates, creates the first tenant once, serves, works with the CLI and stops on SIGTERM', async () => {
    const first = await startServiceProcess(env);
    const tokens = tokensFromBanner(first.stdout());
    expect(tokens).not.toBeNull();
    const me = await fetch(`${first.url}/api/v1/tenant`, {
      headers: { Authorization: `Bearer ${tokens!.api}` },
    });
    expect(me.status).toBe(200);

    const created = await cli(['tenant', 'create', 'Pg Beside', '--json'], env);
    expect(created.code).toBe(0);
    const verify = await cli(['audit', 'verify', '--json'], env);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    expect((await first.stop('SIGTERM'))[0]).toBe(0);

    const again = await startServiceProcess(env);
    expect(tokensFromBanner(again.stdout())).toBeNull();
    expect((await again.stop('SIGTERM'))[0]).toBe(0);
    const list = await cli(['tenant', 'list', '--json'], env);
    expect((JSON.parse(list.stdout) as Array<{ name: string }>).map((t) => t.name)).toEqual([
      'Default',
      'Pg Beside',
    ]);
  });
});
