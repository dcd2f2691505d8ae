// The audit read API (issue 16): pages of the chain with filters, verification, and
// streamed exports byte for byte what `audit export` writes; each tenant sees only its own.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import winston from 'winston';
import request from 'supertest';
import { appendAuditEvents, queuedEventInsert } from '../../src/audit/append.js';
import { exportAudit, type ExportFormat } from '../../src/audit/export/index.js';
import type { AuditEventInput } from '../../src/audit/types.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { createLogger } from '../../src/log/logger.js';
import { fixedClock } from '../../src/shared/clock.js';
import type { CreatedTenant } from '../../src/tenancy/service.js';
import { apiClient, type ApiClient } from '../support/api.js';
import { testApp } from '../support/app.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { newTenant } from '../support/fixtures.js';

let db: TestDb;
let a: CreatedTenant;
let b: CreatedTenant;
let apiA: ApiClient;
let apiB: ApiClient;
let app: ReturnType<typeof testApp>;

const seatEvent = (i: number, user: string): AuditEventInput => ({
  action: i % 2 ? 'seat.granted' : 'seat.released',
  actor: { type: 'system' },
  target: { type: 'seat', id: `seat-${i}` },
  subject: user,
  payload: { n: i },
});

/** Events on given days of January 2026, so windows have something to cut. */
async function appendOn(t: string, day: number, events: AuditEventInput[]) {
  const clock = fixedClock(`2026-01-${String(day).padStart(2, '0')}T12:00:00.000Z`);
  await withTenant(db.knex, t, (trx) => appendAuditEvents(trx, t, events, clock));
}

async function cliExport(t: string, format: ExportFormat, window?: { from?: Date; to?: Date }) {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await exportAudit(db.knex, { format, tenantId: t, out, ...(window ? { window } : {}) });
  return Buffer.concat(chunks).toString('utf8');
}

async function allPages(api: ApiClient, query: string, limit: number) {
  const seqs: number[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: { body: { items: Array<{ seq: number }>; nextCursor: string | null } } = await api
      .get(`/audit/events?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`)
      .expect(200);
    seqs.push(...res.body.items.map((e) => e.seq));
    cursor = res.body.nextCursor;
    pages += 1;
  } while (cursor);
  return { seqs, pages };
}

beforeAll(async () => {
  db = await openTestDb();
  a = await newTenant(db.knex, 'Audit A');
  b = await newTenant(db.knex, 'Audit B');
  app = testApp(db.knex);
  apiA = apiClient(app, a.apiToken);
  apiB = apiClient(app, b.apiToken);
  await appendOn(
    a.id,
    3,
    [0, 1, 2, 3].map((i) => seatEvent(i, 'alice')),
  );
  await appendOn(
    a.id,
    5,
    [4, 5, 6].map((i) => seatEvent(i, 'bob')),
  );
  await appendOn(
    a.id,
    7,
    [7, 8, 9, 10].map((i) => seatEvent(i, 'alice')),
  );
  await appendOn(
    b.id,
    5,
    [0, 1].map((i) => seatEvent(i, 'bob')),
  );
});
afterAll(() => db.close());

test('paging with the cursor visits every chained event once, in chain order', async () => {
  const { body } = await apiA.get('/audit/events?limit=500').expect(200);
  const { seqs, pages } = await allPages(apiA, '', 4);
  expect(pages).toBeGreaterThan(2);
  expect(seqs).toEqual(Array.from({ length: body.total }, (_, i) => i + 1));
  expect(body.items.map((e: { seq: number }) => e.seq)).toEqual(seqs);
  const first = body.items.find((e: { targetId: string }) => e.targetId === 'seat-1');
  expect(first).toMatchObject({
    tenantId: a.id,
    action: 'seat.granted',
    actorType: 'system',
    targetType: 'seat',
    payload: { n: 1 },
    occurredAt: '2026-01-03T12:00:00.000Z',
  });
  expect(first.prevHash).toBe(body.items[first.seq - 2].hash);
  expect(first).not.toHaveProperty('salt');
  expect(first).not.toHaveProperty('mac');
});

test('filters: actions repeated or comma-separated, a subject, and a window with an exclusive end', async () => {
  const actions = (r: { body: { items: Array<{ action: string }> } }) =>
    new Set(r.body.items.map((e) => e.action));
  const granted = await apiA.get('/audit/events?action=seat.granted').expect(200);
  expect(granted.body.total).toBe(5);
  expect(actions(granted)).toEqual(new Set(['seat.granted']));
  const both = await apiA.get('/audit/events?action=seat.granted,seat.released').expect(200);
  expect(both.body.total).toBe(11);
  const repeated = await apiA
    .get('/audit/events?action=seat.granted&action=seat.released')
    .expect(200);
  expect(repeated.body.total).toBe(11);

  const bob = await apiA.get('/audit/events?subject=bob').expect(200);
  expect(bob.body.items.map((e: { targetId: string }) => e.targetId)).toEqual([
    'seat-4',
    'seat-5',
    'seat-6',
  ]);
  const alicePaged = await allPages(apiA, '&subject=alice', 3);
  expect(alicePaged.seqs).toHaveLength(8);

  const window = await apiA
    .get('/audit/events?from=2026-01-05T12:00:00Z&to=2026-01-07T12:00:00Z')
    .expect(200);
  expect(window.body.total).toBe(3);
  const offset = await apiA
    .get(
      `/audit/events?from=${encodeURIComponent('2026-01-05T13:00:00+01:00')}&to=2026-01-05T12:00:00.001Z`,
    )
    .expect(200);
  expect(offset.body.total).toBe(3);
});

test("another tenant's events never appear, whatever it asks", async () => {
  const mine = await apiB.get('/audit/events?limit=500').expect(200);
  expect(new Set(mine.body.items.map((e: { tenantId: string }) => e.tenantId))).toEqual(
    new Set([b.id]),
  );
  expect((await apiB.get('/audit/events?subject=alice').expect(200)).body.total).toBe(0);
  const aPage = await apiA.get('/audit/events?limit=2').expect(200);
  // A's cursor names a seq, not a tenant: in B it pages B's own chain.
  const via = await apiB.get(`/audit/events?cursor=${aPage.body.nextCursor}`).expect(200);
  expect(via.body.items.every((e: { tenantId: string }) => e.tenantId === b.id)).toBe(true);
  const exported = (await apiB.get('/audit/export?format=json').expect(200)).text;
  expect(exported).not.toContain(a.id);
});

test('bad dates, limits, cursors, actions and formats answer 400 problems', async () => {
  for (const query of [
    'from=2026-01-05',
    'from=2026-02-30T00:00:00Z',
    'to=yesterday',
    'from=2026-01-07T00:00:00Z&to=2026-01-03T00:00:00Z',
    'from=2026-01-01T00:00:00Z&from=2026-01-02T00:00:00Z',
    'limit=0',
    'limit=501',
    'limit=ten',
    'cursor=not-a-cursor',
    `cursor=${Buffer.from('-1').toString('base64url')}`,
    'action=seat.stolen',
    'subject=',
  ]) {
    const res = await apiA.get(`/audit/events?${query}`);
    expect([query, res.status, res.type]).toEqual([query, 400, 'application/problem+json']);
  }
  const xml = await apiA.get('/audit/export?format=xml').expect(400);
  expect(xml.body.detail).toMatch(/format must be one of json, csv, cef/);
  await apiA.get('/audit/export?format=csv&from=tomorrow').expect(400);
});

test('queued events are not listed until chained; verify chains them first, as `audit verify` does', async () => {
  const tenant = await newTenant(db.knex, 'Queued tenant');
  const api = apiClient(testApp(db.knex), tenant.apiToken);
  const q = queuedEventInsert(tenant.id, seatEvent(99, 'carol'));
  await withTenant(db.knex, tenant.id, (trx) => trx.raw(q.sql, q.bindings));
  expect((await api.get('/audit/events?subject=carol').expect(200)).body.total).toBe(0);
  const report = await api.get('/audit/verify').expect(200);
  expect(report.body).toEqual({ ok: true, events: expect.any(Number), pending: 0 });
  expect((await api.get('/audit/events?subject=carol').expect(200)).body.total).toBe(1);
});

test('verify answers ok, then ok:false with brokenAt at the event its owner altered', async () => {
  const tenant = await newTenant(db.knex, 'Tampered');
  await appendOn(
    tenant.id,
    9,
    [1, 2, 3].map((i) => seatEvent(i, 'dave')),
  );
  const api = apiClient(testApp(db.knex), tenant.apiToken);
  const before = await api.get('/audit/verify').expect(200);
  expect(before.body).toEqual({ ok: true, events: before.body.events, pending: 0 });
  const { seq } = await db
    .owner('audit_events')
    .where({ tenant_id: tenant.id, target_id: 'seat-2' })
    .first('seq');
  await db.owner.transaction(async (trx) => {
    await trx.raw('SET LOCAL session_replication_role = replica');
    await trx('audit_events')
      .where({ tenant_id: tenant.id, seq })
      .update({ action: 'seat.granted' });
  });
  const after = await api.get('/audit/verify').expect(200);
  expect(after.body).toEqual({ ok: false, events: before.body.events, pending: 0, brokenAt: seq });
  // Another tenant's chain is untouched.
  expect((await apiB.get('/audit/verify').expect(200)).body.ok).toBe(true);
});

describe('exports stream what `audit export` writes, and are themselves audited', () => {
  const types = { json: 'application/x-ndjson', csv: 'text/csv', cef: 'text/plain' } as const;
  for (const format of ['json', 'csv', 'cef'] as const) {
    test(`${format}: the same bytes as the CLI's export of the same events, as an attachment`, async () => {
      const res = await apiA.get(`/audit/export?format=${format}`).expect(200);
      expect(res.type).toBe(types[format]);
      expect(res.headers['content-disposition']).toMatch(
        new RegExp(`^attachment; filename=seatkeeper-audit-${a.id}-\\d{4}-\\d{2}-\\d{2}\\.`),
      );
      expect(res.text).toBe(await cliExport(a.id, format));
      expect(res.text).toContain('audit.exported');
    });
  }

  test('a window exports the events the CLI exports for it, and the export event names it', async () => {
    const from = new Date('2026-01-05T00:00:00Z');
    const to = new Date('2026-01-07T00:00:00Z');
    const res = await apiA
      .get(`/audit/export?format=json&from=${from.toISOString()}&to=${to.toISOString()}`)
      .expect(200);
    expect(res.text).toBe(await cliExport(a.id, 'json', { from, to }));
    expect(res.text.trim().split('\n')).toHaveLength(3);
    const { body } = await apiA.get('/audit/events?action=audit.exported&limit=500').expect(200);
    expect(body.items.at(-1)).toMatchObject({
      actorType: 'token',
      payload: { format: 'json', from: from.toISOString(), to: to.toISOString() },
    });
  });

  test('reading a page, verifying or asking HEAD records nothing; an export records one event', async () => {
    const count = async () =>
      (await apiA.get('/audit/events?limit=1').expect(200)).body.total as number;
    const start = await count();
    await apiA.get('/audit/events').expect(200);
    await apiA.get('/audit/verify').expect(200);
    expect(await count()).toBe(start);
    const head = await request(app)
      .head('/api/v1/audit/export?format=csv')
      .set('Authorization', `Bearer ${a.apiToken}`)
      .expect(200);
    expect(head.type).toBe('text/csv');
    expect(await count()).toBe(start);
    await apiA.get('/audit/export?format=cef').expect(200);
    expect(await count()).toBe(start + 1);
  });

  test('a client that hangs up mid-export is logged as aborted, not as a failure', async () => {
    const tenant = await newTenant(db.knex, 'Big');
    // Three batches of the reader (1,000 events each): more than one socket write.
    await appendOn(
      tenant.id,
      11,
      Array.from({ length: 2500 }, (_, i) => seatEvent(i, 'erin')),
    );
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ level: 'info', format: 'json' });
    logger.clear();
    logger.add(
      new winston.transports.Stream({
        stream: new Writable({
          write(chunk: Buffer, _enc, done) {
            lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
            done();
          },
        }),
      }),
    );
    const server = http.createServer(testApp(db.knex, undefined, { logger })).listen(0);
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const req = http.get(`http://127.0.0.1:${port}/api/v1/audit/export?format=json`, {
        headers: { Authorization: `Bearer ${tenant.apiToken}` },
      });
      const [res] = (await once(req, 'response')) as [http.IncomingMessage];
      expect(res.statusCode).toBe(200);
      await once(res, 'data');
      req.destroy();
      for (let i = 0; i < 100 && !lines.some((l) => l.message === 'request'); i++) await sleep(20);
      expect(lines.find((l) => l.message === 'request')).toMatchObject({
        route: '/api/v1/audit/export',
        aborted: true,
      });
      // The export's rejection follows the socket's close within a tick or two; an error
      // line, were it logged, would be there well before this.
      await sleep(200);
      expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      server.close();
    }
  });
});
