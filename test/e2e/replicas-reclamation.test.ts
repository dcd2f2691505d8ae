// Issue 14, "Idempotent and safe with two replicas on one PostgreSQL": two service
// processes on one database run the inactivity scan at the same time and neither
// reclaims nor notifies twice (each email worker claims messages before sending); and a
// process killed with SIGKILL in the middle of a scan (held there by a lock the test
// takes) loses nothing: the scan is one transaction per tenant, which never commits
// half-way, and the next run does all of it. Real processes (npm start's entry point), a real SMTP peer, the real PostgreSQL.
import { randomBytes, randomUUID } from 'node:crypto';
import knexFactory from 'knex';
import { onRealPostgres } from '../support/db.js';
import {
  startServiceProcess,
  tokensFromBanner,
  type ServiceProcess,
} from '../support/processes.js';
import { startSmtpSink } from '../support/smtp-sink.js';

const schema = `replicas_${randomBytes(5).toString('hex')}`;
const baseUrl = process.env.DATABASE_URL ?? '';
const url = `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
const onPostgres = onRealPostgres() ? describe : describe.skip;

const USERS = 60;

onPostgres('two replicas on one PostgreSQL (issue 14)', () => {
  // The superuser: it seeds and inspects below row-level security, as the tests' owner does.
  const admin = knexFactory({
    client: 'pg',
    connection: { connectionString: baseUrl, options: `-c search_path=${schema}` },
    pool: { min: 0, max: 2 },
  });
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let api: string;
  let tenantId: string;
  const env = () => ({
    DATABASE_URL: url,
    DATA_DIR: '/nonexistent/never-used',
    SMTP_URL: sink.url,
    MAIL_FROM: 'Seatkeeper <seatkeeper@example.com>',
    EMAIL_DELIVERY_INTERVAL_MS: '100',
    JOBS_ENABLED: 'false',
    SHUTDOWN_TIMEOUT_MS: '3000',
  });
  const call = (base: string, method: string, path: string, body?: unknown, token = api) =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });

  beforeAll(async () => {
    await admin.raw(`CREATE SCHEMA ${schema}`);
    sink = await startSmtpSink();
    a = await startServiceProcess(env());
    b = await startServiceProcess(env());
    api = tokensFromBanner(a.stdout())!.api;
    tenantId = (await (await call(a.url, 'GET', '/api/v1/tenant')).json()).id;
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.stop('SIGTERM'), b?.stop('SIGTERM')]);
    await sink?.close();
    await admin.raw(`DROP SCHEMA ${schema} CASCADE`);
    await admin.destroy();
  });

  /** A licence whose seats idle after a day, `USERS` holders seated ten days ago. */
  async function idleSeats(name: string): Promise<string> {
    const product = await (await call(a.url, 'POST', '/api/v1/products', { name })).json();
    const created = await call(a.url, 'POST', '/api/v1/licenses', {
      productId: product.id,
      name,
      type: 'subscription',
      quantity: USERS,
      inactivityDays: 1,
      reclaimGraceDays: 3,
    });
    const licence = (await created.json()).item.id as string;
    // The directory and the seats, written below the service as a load would be; the
    // seats were granted ten days ago and nobody has used them since.
    await admin.raw(
      `WITH u AS (
         INSERT INTO directory_users (tenant_id, user_id, user_name, active, data, version, created_at, last_modified)
         SELECT ?, gen_random_uuid(), ? || i || '@example.com', true,
                jsonb_build_object('userName', ? || i || '@example.com',
                  'emails', jsonb_build_array(jsonb_build_object('value', ? || i || '@example.com', 'primary', true))),
                1, now(), now()
           FROM generate_series(1, ?) AS i
         RETURNING user_id)
       INSERT INTO seats (tenant_id, seat_id, license_id, user_id, state, source, assigned_by,
                          eligible_since, granted_at, created_at, updated_at)
       SELECT ?, gen_random_uuid(), ?, user_id, 'active', 'manual', 'test',
              now() - interval '10 days', now() - interval '10 days', now(), now()
         FROM u`,
      [tenantId, name, name, name, USERS, tenantId, licence],
    );
    return licence;
  }

  const pendingOf = async (licence: string) =>
    Number(
      (
        await admin('seats')
          .where({ license_id: licence, state: 'pending_reclaim', reclaim_reason: 'inactive' })
          .count({ n: '*' })
      )[0]!.n,
    );
  const scheduledEvents = async (licence: string) =>
    (await admin.raw(
      `SELECT target_id, count(*)::int AS n FROM audit_events
        WHERE tenant_id = ? AND action = 'seat.reclaim_scheduled'
          AND target_id IN (SELECT seat_id::text FROM seats WHERE license_id = ?)
        GROUP BY target_id`,
      [tenantId, licence],
    )) as { rows: Array<{ target_id: string; n: number }> };
  const mailsTo = (name: string) => sink.received.filter((m) => m.to[0]!.startsWith(name));
  const until = async (check: () => boolean | Promise<boolean>, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  test('scans run on both replicas at once reclaim each seat once and mail each holder once', async () => {
    const licence = await idleSeats('twice');
    const runs = await Promise.all(
      [a, b, a, b].map((s) => call(s.url, 'POST', '/api/v1/jobs/inactivity-scan/run')),
    );
    expect(runs.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(await pendingOf(licence)).toBe(USERS);
    // Settled by the replicas' own settlers (audit events are queued, then chained).
    await until(async () => (await scheduledEvents(licence)).rows.length === USERS);
    expect((await scheduledEvents(licence)).rows.every((r) => r.n === 1)).toBe(true);
    // Both replicas deliver mail; every holder gets one message.
    await until(() => mailsTo('twice').length >= USERS);
    await new Promise((r) => setTimeout(r, 500));
    const to = mailsTo('twice').map((m) => m.to[0]);
    expect(to).toHaveLength(USERS);
    expect(new Set(to).size).toBe(USERS);
  }, 60_000);

  test('a replica killed with SIGKILL in the middle of a scan loses nothing; the other finishes it', async () => {
    const licence = await idleSeats('killed');
    // Hold the scan half-way: an uncommitted outbox row with the dedupe key the scan's
    // mail to one holder will have makes its insert wait, after it has changed the seats.
    const seat = (await admin('seats').where({ license_id: licence }).first('seat_id')).seat_id;
    const on = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const blocker = await admin.transaction();
    await blocker('outbox').insert({
      tenant_id: tenantId,
      message_id: randomUUID(),
      channel: 'email',
      type: 'seat.reclaim_scheduled',
      dedupe_key: `reclaim:${seat}:${on}`,
      payload: '{}',
      created_at: new Date(),
      next_attempt_at: new Date(Date.now() + 86_400_000),
    });
    const scan = call(a.url, 'POST', '/api/v1/jobs/inactivity-scan/run').catch(() => null);
    const waiting = async () =>
      (
        await admin.raw(
          `SELECT pid FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO outbox%'`,
        )
      ).rows as Array<{ pid: number }>;
    await until(async () => (await waiting()).length === 1);
    const { pid } = (await waiting())[0]!;
    await a.stop('SIGKILL');
    expect(await scan).toBeNull(); // no answer: it died before the scan finished
    await blocker.rollback();
    // The killed replica's transaction ends without a COMMIT: none of the scan remains.
    await until(
      async () =>
        (await admin.raw('SELECT 1 FROM pg_stat_activity WHERE pid = ?', [pid])).rows.length === 0,
    );
    expect(await pendingOf(licence)).toBe(0);
    expect(
      Number(
        (
          await admin('outbox')
            .where({ type: 'seat.reclaim_scheduled' })
            .whereRaw('dedupe_key LIKE ?', [`reclaim:${seat}:%`])
            .count({ n: '*' })
        )[0]!.n,
      ),
    ).toBe(0);

    const rerun = await call(b.url, 'POST', '/api/v1/jobs/inactivity-scan/run');
    expect(rerun.status).toBe(200);
    expect(await pendingOf(licence)).toBe(USERS);
    await until(() => mailsTo('killed').length >= USERS);
    await new Promise((r) => setTimeout(r, 500));
    expect(new Set(mailsTo('killed').map((m) => m.to[0])).size).toBe(USERS);
    expect(mailsTo('killed')).toHaveLength(USERS);
    // Restarted, it serves again over the same database.
    a = await startServiceProcess(env());
    expect((await call(a.url, 'GET', '/api/v1/jobs')).status).toBe(200);
  }, 90_000);
});
