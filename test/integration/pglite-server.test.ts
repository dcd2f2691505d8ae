// The embedded database's socket server (src/db/pglite-server.ts). It is what is under
// test, so this file always runs against an in-memory PGlite of its own, also when
// DATABASE_URL points the rest of the suite at a real PostgreSQL.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { migrations } from '../../migrations/index.js';
import { migrateUp } from '../../src/db/migrate.js';
import { PgliteServer } from '../../src/db/embedded/pglite-server.js';
import { from as copyFrom } from 'pg-copy-streams';

interface Served {
  db: PGlite;
  dir: string;
  socket: string;
  client(): Promise<pg.Client>;
  close(): Promise<void>;
}

async function serve(maxConnections = 64): Promise<Served> {
  const db = await PGlite.create();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sk-pgls-'));
  const socket = path.join(dir, '.s.PGSQL.5432');
  const server = new PgliteServer({ db, path: socket, maxConnections });
  await server.start();
  const clients: pg.Client[] = [];
  return {
    db,
    dir,
    socket,
    async client() {
      const c = new pg.Client({ host: dir, port: 5432, user: 'postgres', database: 'postgres' });
      c.on('error', () => undefined); // tests that kill a connection look at results instead
      await c.connect();
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await server.stop();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Drop a pg.Client's socket without a Terminate message, as a crashed process would. */
const kill = (c: pg.Client) => c.connection.stream.destroy();

let s: Served;
beforeAll(async () => {
  s = await serve();
});
afterAll(() => s.close());

describe('PgliteServer', () => {
  test('parameterized queries from many connections each get their own answer', async () => {
    // Every query is Parse/Bind/Describe/Execute/Sync on the unnamed statement, each with
    // its own text. Every other one carries a 256 KB parameter: larger than a unix
    // socket's buffer, so its messages reach the server in pieces over several event
    // loop turns - the window in which PGLiteSocketServer ran other connections'
    // messages in between (A's Bind binding B's Parse) and answered wrongly.
    const CLIENTS = 8;
    const QUERIES = 40;
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => s.client()));
    const results = await Promise.all(
      clients.map(async (c, ci) => {
        const answers: Array<{ got: unknown; want: number }> = [];
        for (let j = 0; j < QUERIES; j++) {
          const k = ci * 1000 + j;
          const text = 'x'.repeat(j % 2 === 0 ? 256 * 1024 + j : j);
          const r = await c.query(`SELECT length($1::text) + ${k} AS v`, [text]);
          answers.push({ got: r.rows[0]?.v, want: text.length + k });
        }
        return answers;
      }),
    );
    const all = results.flat();
    expect(all).toHaveLength(CLIENTS * QUERIES);
    expect(all.filter((a) => a.got !== a.want)).toEqual([]);
  });

  test('named prepared statements are per connection: the same name, different SQL, each runs its own', async () => {
    const clients = await Promise.all(Array.from({ length: 6 }, () => s.client()));
    const results = await Promise.all(
      clients.map(async (c, ci) => {
        const wrong: string[] = [];
        for (let j = 0; j < 30; j++) {
          // Same name everywhere; each connection's text differs. Re-executions Bind the
          // statement prepared the first time, so a collision would run another's SQL.
          const r = await c.query({
            name: 'shared',
            text: `SELECT $1::int + ${ci * 1000} AS v`,
            values: [j],
          });
          if (r.rows[0]?.v !== j + ci * 1000) wrong.push(`${ci}/${j}: ${String(r.rows[0]?.v)}`);
        }
        return wrong;
      }),
    );
    expect(results.flat()).toEqual([]);
  });

  test("a connection's prepared statements go when it does", async () => {
    const a = await s.client();
    const observer = await s.client();
    await a.query({ name: 'mine', text: 'SELECT 1 AS one', values: [] });
    const names = async () =>
      (await observer.query('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map(
        (r: { name: string }) => r.name,
      );
    const before = await names();
    expect(before.filter((n) => n.endsWith('_mine'))).toHaveLength(1);
    await a.end();
    // The end marker runs after its last batch; poll briefly for it.
    for (let i = 0; i < 50 && (await names()).some((n) => n.endsWith('_mine')); i++)
      await sleep(20);
    expect((await names()).filter((n) => n.endsWith('_mine'))).toEqual([]);
  });

  test('small parameterized queries from many connections, interleaved with errors', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => s.client()));
    const wrong: string[] = [];
    await Promise.all(
      clients.map(async (c, ci) => {
        for (let j = 0; j < 60; j++) {
          const k = ci * 1000 + j;
          if (j % 10 === 3) {
            // A failing extended query leaves the session ignoring messages until Sync;
            // nobody else may be caught in that.
            await expect(c.query(`SELECT $1::int / 0 + ${k}`, [j])).rejects.toThrow(
              'division by zero',
            );
            continue;
          }
          const r = await c.query(`SELECT $1::int + ${k} AS v`, [j]);
          if (r.rows[0]?.v !== j + k) wrong.push(`${ci}/${j}: ${String(r.rows[0]?.v)}`);
        }
      }),
    );
    expect(wrong).toEqual([]);
  });

  test('concurrent read-modify-write transactions end with the exact count', async () => {
    const admin = await s.client();
    await admin.query('CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)');
    await admin.query('INSERT INTO counter VALUES (1, 0)');
    const WORKERS = 6;
    const ROUNDS = 15;
    const clients = await Promise.all(Array.from({ length: WORKERS }, () => s.client()));
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < ROUNDS; i++) {
          await c.query('BEGIN');
          const { rows } = await c.query<{ n: number }>('SELECT n FROM counter WHERE id = $1', [1]);
          await sleep(1); // give the other connections every chance to get in between
          await c.query('UPDATE counter SET n = $1 WHERE id = $2', [rows[0]!.n + 1, 1]);
          await c.query('COMMIT');
        }
      }),
    );
    const { rows } = await admin.query<{ n: number }>('SELECT n FROM counter WHERE id = 1');
    expect(rows[0]!.n).toBe(WORKERS * ROUNDS);
  });

  test("a transaction holds the session: another connection's query waits for COMMIT", async () => {
    const a = await s.client();
    const b = await s.client();
    await a.query('CREATE TABLE seen (v text)');
    const events: string[] = [];
    await a.query('BEGIN');
    await a.query('INSERT INTO seen VALUES ($1)', ['from a']);
    events.push('a inserted');
    const bDone = b.query('SELECT count(*)::int AS n FROM seen').then((r) => {
      events.push(`b read ${r.rows[0].n}`);
    });
    await sleep(150);
    // Still inside a's transaction: b has not run, and a keeps working undisturbed.
    const mine = await a.query('SELECT count(*)::int AS n FROM seen');
    expect(mine.rows[0].n).toBe(1);
    events.push('a committing');
    await a.query('COMMIT');
    await bDone;
    expect(events).toEqual(['a inserted', 'a committing', 'b read 1']);
  });

  test.each([
    ['drops its socket', kill],
    ['sends Terminate', (c: pg.Client) => void c.end()],
  ])('a client that %s inside a transaction leaves no transaction behind', async (_how, leave) => {
    const admin = await s.client();
    await admin.query('CREATE TABLE IF NOT EXISTS left_behind (v text)');
    await admin.query('DELETE FROM left_behind');
    const doomed = await s.client();
    await doomed.query('BEGIN');
    await doomed.query('INSERT INTO left_behind VALUES ($1)', ['uncommitted']);
    const waiting = admin.query('SELECT count(*)::int AS n FROM left_behind');
    leave(doomed);
    // The waiting query runs once the session is rolled back; it must not see the row.
    expect((await waiting).rows[0].n).toBe(0);
    expect(s.db.isInTransaction()).toBe(false);
    await admin.query('INSERT INTO left_behind VALUES ($1)', ['committed']);
    const { rows } = await admin.query('SELECT v FROM left_behind');
    expect(rows).toEqual([{ v: 'committed' }]);
  });

  test('a client that drops its socket in the middle of an extended query (Flush, no Sync) releases the session', async () => {
    const admin = await s.client();
    const doomed = await s.client();
    // With `rows`, pg sends Execute + Flush and waits for the first page: the sequence
    // (and its implicit transaction) stays open until a Sync that now never comes.
    // (`rows`, pg's paging option, is missing from @types/pg.)
    const paging = { text: 'SELECT generate_series(1, 100) AS n', rows: 10 } as pg.QueryConfig;
    const paged = new pg.Query(paging);
    const firstRow = new Promise<void>((resolve) => paged.on('row', () => resolve()));
    paged.on('error', () => undefined); // "Connection terminated": expected
    void doomed.query(paged);
    await firstRow;
    kill(doomed);
    const { rows } = await admin.query('SELECT $1::int + 1 AS v', [41]);
    expect(rows).toEqual([{ v: 42 }]);
  });

  test('answers SSLRequest with N, takes the startup packet, closes on Terminate', async () => {
    const sock = connect(s.socket);
    const received: Buffer[] = [];
    sock.on('data', (d) => received.push(d));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const ssl = Buffer.alloc(8);
    ssl.writeInt32BE(8, 0);
    ssl.writeInt32BE(80877103, 4);
    sock.write(ssl);
    await sleep(50);
    expect(Buffer.concat(received).toString()).toBe('N');
    const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8 + params.length, 0);
    startup.writeInt32BE(196608, 4);
    sock.write(Buffer.concat([startup, params]));
    await sleep(100);
    const out = Buffer.concat(received);
    expect(out[1]).toBe('R'.charCodeAt(0)); // AuthenticationOk after the 'N'
    expect(out.subarray(-6)).toEqual(Buffer.from([0x5a, 0, 0, 0, 5, 0x49])); // ReadyForQuery 'I'
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.write(Buffer.from([0x58, 0, 0, 0, 4])); // Terminate
    await closed;
  });

  test('refuses connections beyond maxConnections with 53300 too many connections', async () => {
    const small = await serve(2);
    try {
      const first = await small.client();
      await small.client();
      const err = await small.client().then(
        () => null,
        (e: unknown) => e as { code?: string; message: string },
      );
      expect(err?.code).toBe('53300');
      expect(err?.message).toMatch(/too many connections/);
      // A freed slot can be used again.
      await first.end();
      await sleep(50);
      const again = await small.client();
      expect((await again.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await small.close();
    }
  });

  // COPY … FROM STDIN: PGlite takes the statement, its data and its end only in one call.
  const copyIn = (c: pg.Client, sql: string, lines: string[]) =>
    new Promise<void>((resolve, reject) => {
      const stream = c.query(copyFrom(sql));
      stream.on('error', reject);
      stream.on('finish', resolve);
      for (const line of lines) stream.write(line);
      stream.end();
    });

  test('COPY FROM STDIN takes rows in many writes, while another connection keeps working', async () => {
    const a = await s.client();
    const b = await s.client();
    await a.query('CREATE TABLE copied (n int PRIMARY KEY, label text, raw bytea)');
    const lines = Array.from({ length: 20_000 }, (_, n) => `${n}\trow\\t${n}\t\\\\x0a0b\n`);
    const [, during] = await Promise.all([
      copyIn(a, 'COPY copied (n, label, raw) FROM STDIN', lines),
      b.query('SELECT 41 + 1 AS v'),
    ]);
    expect(during.rows).toEqual([{ v: 42 }]);
    const r = await a.query('SELECT count(*)::int AS c, max(n) AS m FROM copied');
    expect(r.rows).toEqual([{ c: 20_000, m: 19_999 }]);
    const one = await b.query('SELECT label, raw FROM copied WHERE n = 7');
    expect(one.rows).toEqual([{ label: 'row\t7', raw: Buffer.from([0x0a, 0x0b]) }]);
  });

  test('a COPY that fails (a bad row, a missing table, a CopyFail) answers an error and the connection goes on', async () => {
    const c = await s.client();
    await c.query('CREATE TABLE copy_strict (n int PRIMARY KEY)');
    await expect(
      copyIn(c, 'COPY copy_strict (n) FROM STDIN', ['1\n', 'x\n']),
    ).rejects.toMatchObject({
      code: '22P02',
    });
    await expect(copyIn(c, 'COPY no_such_table FROM STDIN', ['1\n'])).rejects.toMatchObject({
      code: '42P01',
    });
    await expect(
      new Promise((resolve, reject) => {
        const stream = c.query(copyFrom('COPY copy_strict (n) FROM STDIN'));
        stream.on('error', reject);
        stream.on('close', resolve);
        stream.write('5\n');
        stream.destroy(new Error('the client gave up'));
      }),
    ).rejects.toThrow();
    expect((await c.query('SELECT count(*)::int AS c FROM copy_strict')).rows).toEqual([{ c: 0 }]);
    // Inside a transaction too: the failed COPY aborts it, ROLLBACK ends it.
    await c.query('BEGIN');
    await expect(
      copyIn(c, 'COPY copy_strict (n) FROM STDIN', ['1\n', '1\n']),
    ).rejects.toMatchObject({
      code: '23505',
    });
    await c.query('ROLLBACK');
    await copyIn(c, 'COPY copy_strict (n) FROM STDIN', ['1\n', '2\n']);
    expect((await c.query('SELECT count(*)::int AS c FROM copy_strict')).rows).toEqual([{ c: 2 }]);
  });

  test('knex migrates a fresh database and runs queries with bindings through it', async () => {
    const fresh = await serve(10);
    const knex = knexFactory({
      client: 'pg',
      connection: { host: fresh.dir, port: 5432, user: 'postgres', database: 'postgres' },
      pool: { min: 0, max: 4 },
    });
    try {
      expect(await migrateUp(knex)).toEqual(migrations.map((m) => m.name));
      const sums = await Promise.all(
        Array.from({ length: 50 }, (_, i) => knex.raw('SELECT ?::int + ?::int AS s', [i, 1000])),
      );
      expect(sums.map((r) => r.rows[0].s)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1000));
      const applied = await knex('knex_migrations').whereIn(
        'name',
        migrations.map((m) => m.name),
      );
      expect(applied).toHaveLength(migrations.length);
      await knex.transaction(async (trx) => {
        await trx.raw('CREATE TABLE knexed (v int)');
        await trx('knexed').insert([{ v: 1 }, { v: 2 }]);
      });
      expect((await knex.raw('SELECT sum(v)::int AS s FROM knexed')).rows).toEqual([{ s: 3 }]);
    } finally {
      await knex.destroy();
      await fresh.close();
    }
  });
});
