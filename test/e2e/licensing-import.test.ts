// CSV import of existing licence records and seat assignments: every bad row reported
// with its line, all or nothing, dry-run, through the API and the CLI.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';
import { scimClient, USER } from '../support/scim.js';

let db: TestDb;
let tenant: CreatedTenant;
let api: ApiClient;
let dir: string;

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Import');
  const app = testApp(db.knex);
  api = apiClient(app, tenant.apiToken);
  const scim = scimClient(app, tenant.scimToken);
  for (const u of ['ann@example.com', 'ben@example.com', 'cat@example.com'])
    await scim.post('/Users', { schemas: [USER], userName: u }).expect(201);
  dir = await mkdtemp(path.join(os.tmpdir(), 'sk-import-'));
});
afterAll(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const post = (csv: string, dryRun = false) =>
  api.post(`/imports/licenses${dryRun ? '?dryRun=true' : ''}`, csv).set('Content-Type', 'text/csv');
const counts = async () => ({
  licenses: Number(
    (await db.owner('licenses').where({ tenant_id: tenant.id }).count({ n: '*' }))[0]!.n,
  ),
  seats: Number((await db.owner('seats').where({ tenant_id: tenant.id }).count({ n: '*' }))[0]!.n),
});

const GOOD = `product,vendor,license,type,quantity,startsAt,endsAt,category,unitCost,currency,assignee
Figma,Figma,Figma Pro 2026,subscription,10,2026-01-01,2026-12-31,volume,15,usd,ann@example.com
Figma,Figma,Figma Pro 2026,,,,,,,,BEN@example.com
Photoshop,Adobe,CC Teams,subscription,unlimited,,,,,,
`;

describe('licence import', () => {
  test('a dry run checks everything and writes nothing', async () => {
    const res = await post(GOOD, true);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ dryRun: true, rows: 3, products: 2, licenses: 2, seats: 2 });
    expect(await counts()).toEqual({ licenses: 0, seats: 0 });
  });

  test('every bad row is reported with its line number and nothing is written', async () => {
    const bad = `product,vendor,license,type,quantity,startsAt,endsAt,category,unitCost,currency,assignee
Figma,Figma,Pro,subscription,two,,,,,,
,Adobe,CC,perpetual,1,,,,,,
Slack,Slack,Plus,forever,5,2026-13-45,,,,,
Zoom,Zoom,Pro,subscription,1,,,,,,ann@example.com
Zoom,Zoom,Pro,subscription,1,,,,,,ben@example.com
Miro,Miro,Team,subscription,5,,,,,,nobody@example.com
`;
    const res = await post(bad);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('invalid_import');
    const lines = res.body.errors.map((e: { line: number }) => e.line);
    expect(lines).toEqual(expect.arrayContaining([2, 3, 4, 5]));
    expect(res.body.errors.find((e: { line: number }) => e.line === 2).message).toMatch(/quantity/);
    expect(res.body.errors.find((e: { line: number }) => e.line === 5).message).toMatch(
      /2 assignees but a quantity of 1/,
    );
    expect(await counts()).toEqual({ licenses: 0, seats: 0 });
  });

  test('an unknown assignee is reported by line and nothing is written', async () => {
    const res = await post(
      `product,license,type,quantity,assignee\nMiro,Team,subscription,5,ann@example.com\nMiro,Team,,,nobody@example.com\n`,
    );
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      { line: 3, message: 'assignee nobody@example.com is not a user in the directory' },
    ]);
    expect(await counts()).toEqual({ licenses: 0, seats: 0 });
  });

  test('a good file imports licences, products and manual seats in one go', async () => {
    const res = await post(GOOD);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ licenses: 2, seats: 2, products: 2 });
    const list = (await api.get('/licenses')).body.items;
    const figma = list.find((l: { name: string }) => l.name === 'Figma Pro 2026');
    expect(figma).toMatchObject({
      quantity: 10,
      category: 'volume',
      cost: { unitCost: 15, currency: 'USD' },
    });
    expect((await api.get(`/licenses/${figma.id}/seats?state=active`)).body.items).toHaveLength(2);
    // Importing the same licences again is refused: they exist.
    expect((await post(GOOD)).status).toBe(422);
  });

  test('assignees of a licence that has already expired wait in line instead of holding seats', async () => {
    const csv = `product,vendor,license,type,quantity,startsAt,endsAt,category,unitCost,currency,assignee
Sketch,Sketch,Sketch 2020,subscription,5,2020-01-01,2020-12-31,,,,cat@example.com
`;
    const res = await post(csv);
    expect(res.status).toBe(201);
    const seats = await db
      .owner('seats as s')
      .join('licenses as l', function () {
        this.on('l.tenant_id', 's.tenant_id').andOn('l.license_id', 's.license_id');
      })
      .where({ 's.tenant_id': tenant.id, 'l.name': 'Sketch 2020' })
      .pluck('s.state');
    expect(seats).toEqual(['waitlisted']);
  });

  test('the CLI imports a file with --dry-run, and reports bad rows as file:line', async () => {
    const { cli } = await import('../support/processes.js');
    // Its own database: a fresh data directory, or this file's schema on PostgreSQL.
    const env = process.env.DATABASE_URL
      ? {
          DATABASE_URL: `${process.env.DATABASE_URL}${process.env.DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${db.schema}`)}`,
        }
      : { DATABASE_URL: undefined, DATA_DIR: path.join(dir, 'data') };
    if (!process.env.DATABASE_URL) expect((await cli(['migrate', 'up'], env)).code).toBe(0);
    const created = JSON.parse(
      (await cli(['tenant', 'create', 'CLI import', '--json'], env)).stdout,
    ) as { id: string };
    const file = path.join(dir, 'licences.csv');
    await writeFile(file, 'product,license,type,quantity\nJira,Cloud,subscription,x\n');
    const bad = await cli(['import', 'licences', file, '--tenant', created.id], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${file}:2: quantity must be a whole number`);
    await writeFile(file, 'product,license,type,quantity\nJira,Cloud,subscription,3\n');
    const dry = await cli(
      ['import', 'licences', file, '--tenant', created.id, '--dry-run', '--json'],
      env,
    );
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, licenses: 1 });
    const real = await cli(['import', 'licences', file, '--tenant', created.id], env);
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/imported 1 licences/);
    const reconciled = await cli(['reconcile', '--tenant', created.id, '--json'], env);
    expect(JSON.parse(reconciled.stdout)).toEqual({
      tenants: [{ tenantId: created.id, changes: 0 }],
    });
  });
});
