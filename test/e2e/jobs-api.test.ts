// The jobs' admin API and metrics (issue 14): POST /api/v1/jobs/{name}/run runs a job for
// the token's tenant only, GET /api/v1/jobs shows each tenant its own runs, and /metrics
// counts runs, failures and duration by job. Time is a clock the test moves.
import request from 'supertest';
import { Registry } from 'prom-client';
import { createJobMetrics, jobRunner } from '../../src/jobs/index.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/index.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';

let db: TestDb;
let tenant: CreatedTenant;
const clock = fixedClock('2029-01-01T00:00:00.000Z');
const at = (iso: string) => clock.set(iso);

beforeAll(async () => {
  db = await openTestDb();
  tenant = await newTenant(db.knex, 'Jobs API');
});
afterAll(() => db.close());

let n = 0;
async function licence(body: Record<string, unknown>, client: ApiClient): Promise<string> {
  const product = (await client.post('/products', { name: `Tool ${++n}` }).expect(201)).body.id;
  return (
    await client
      .post('/licenses', { productId: product, name: `Licence ${n}`, quantity: 10, ...body })
      .expect(201)
  ).body.item.id as string;
}
const run = async (name: string, client: ApiClient) =>
  (await client.post(`/jobs/${name}/run`, {}).expect(200)).body as Record<string, unknown>;
/** Webhook events published for a licence. */
const events = (licenseId: string, type: string, t: CreatedTenant) =>
  db
    .owner('outbox')
    .where({ tenant_id: t.id, channel: 'webhook', type })
    .whereRaw("payload->'data'->>'licenseId' = ?", [licenseId]);

describe('POST /api/v1/jobs/{name}/run and GET /api/v1/jobs', () => {
  test("run for the token's tenant only, and each tenant's list shows its own last run", async () => {
    at('2029-01-01T00:00:00.000Z');
    // Two tenants of their own, each with a renewal due.
    const app = testApp(db.knex, undefined, { clock });
    const [a, b] = [await newTenant(db.knex, 'Run A'), await newTenant(db.knex, 'Run B')];
    const [aApi, bApi] = [apiClient(app, a.apiToken), apiClient(app, b.apiToken)];
    const due = {
      type: 'subscription',
      startsAt: '2027-09-01',
      endsAt: '2028-09-01',
      autoRenew: true,
    };
    const mine = await licence(due, aApi);
    const theirs = await licence(due, bApi);
    const ran = await run('subscription-renewal', aApi);
    expect(ran).toEqual({
      name: 'subscription-renewal',
      startedAt: '2029-01-01T00:00:00.000Z',
      finishedAt: '2029-01-01T00:00:00.000Z',
      result: { renewed: 1 },
    });
    expect(await events(mine, 'license.renewed', a)).toHaveLength(1);
    expect(await events(theirs, 'license.renewed', b)).toEqual([]);
    type Status = { name: string; lastRun: unknown; runs: number };
    const status = (list: Status[]) => list.find((j) => j.name === 'subscription-renewal')!;
    const jobs = (await aApi.get('/jobs').expect(200)).body.items;
    expect(jobs.map((j: { name: string }) => j.name)).toEqual(
      expect.arrayContaining([
        'license-expiry-alerts',
        'trial-expiry',
        'compliance-scan',
        'audit-retention',
      ]),
    );
    expect(status(jobs).lastRun).toMatchObject({ result: { renewed: 1 } });
    // B never ran it: its list shows no run, and its licence is not renewed.
    const theirJobs = (await bApi.get('/jobs').expect(200)).body.items;
    expect(status(theirJobs)).toMatchObject({ runs: 0, lastRun: null });
    expect(await db.owner('license_terms').where({ tenant_id: b.id })).toEqual([]);
    await aApi.post('/jobs/not-a-job/run', {}).expect(404);
  });
});

describe('metrics', () => {
  test('GET /metrics counts runs, failures and duration by job, and the last success time', async () => {
    at('2030-01-01T00:00:00.000Z');
    const app = testApp(db.knex, undefined, { clock });
    const client = apiClient(app, tenant.apiToken);
    await client.post('/jobs/compliance-scan/run', {}).expect(200);
    await client.post('/jobs/compliance-scan/run', {}).expect(200);
    await client.post('/jobs/trial-expiry/run', {}).expect(200);
    const text = (await request(app).get('/metrics').expect(200)).text;
    expect(text).toMatch(/^seatkeeper_job_runs_total\{job="compliance-scan"\} 2$/m);
    expect(text).toMatch(/^seatkeeper_job_runs_total\{job="trial-expiry"\} 1$/m);
    expect(text).toMatch(/^seatkeeper_job_duration_seconds_count\{job="compliance-scan"\} 2$/m);
    expect(text).toMatch(
      new RegExp(
        `^seatkeeper_job_last_success_timestamp_seconds\\{job="compliance-scan"\\} ${Date.parse('2030-01-01') / 1000}$`,
        'm',
      ),
    );
    expect(text).not.toMatch(/seatkeeper_job_failures_total\{job="compliance-scan"\} [1-9]/);
  });

  test('a failed run counts as a failure, not a success', async () => {
    const metrics = createJobMetrics();
    const registry = new Registry();
    for (const m of metrics.all) registry.registerMetric(m);
    const runner = jobRunner({ knex: db.knex, clock, metrics });
    // A tenant that does not exist: the run fails, and is counted as such.
    await expect(
      runner.run('audit-retention', '00000000-0000-4000-8000-000000000000'),
    ).rejects.toThrow();
    const text = await registry.metrics();
    expect(text).toMatch(/^seatkeeper_job_failures_total\{job="audit-retention"\} 1$/m);
    expect(text).toMatch(/^seatkeeper_job_runs_total\{job="audit-retention"\} 1$/m);
    expect(text).not.toMatch(
      /seatkeeper_job_last_success_timestamp_seconds\{job="audit-retention"\}/,
    );
  });
});
