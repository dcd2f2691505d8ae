// The floor for bench/scim-http.ts: a bare express 5 + pg server doing the least a handler
// can do for each request the SCIM benchmark sends: one INSERT per POST, one indexed
// SELECT per GET, one INSERT … SELECT unnest(…) per membership batch. No auth, no audit,
// no validation, no transaction. It runs as its own process (like the service), on its
// own tables in the same database, so both are measured against the same PostgreSQL.
//
//   DATABASE_URL=postgres://…  PORT=…  node --import tsx bench/baseline-server.ts
//   PGHOST=<DATA_DIR> PORT=…   node --import tsx bench/baseline-server.ts   (embedded socket)
//
// It prints "baseline listening" on stdout once the tables exist and the port is open.
import express from 'express';
import pg from 'pg';

const pool = new pg.Pool(
  process.env.DATABASE_URL
    ? { connectionString: process.env.DATABASE_URL, max: 10 }
    : // The embedded database's unix socket: host=<DATA_DIR>, port 5432, any user.
      { host: process.env.PGHOST, port: 5432, user: 'postgres', database: 'postgres', max: 10 },
);

await pool.query(`
  CREATE TABLE IF NOT EXISTS baseline_users (
    id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_name text NOT NULL,
    data      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE UNIQUE INDEX IF NOT EXISTS baseline_users_user_name_key ON baseline_users (lower(user_name));
  CREATE TABLE IF NOT EXISTS baseline_groups (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    display_name text NOT NULL,
    data         jsonb NOT NULL
  );
  CREATE TABLE IF NOT EXISTS baseline_members (
    group_id  uuid NOT NULL REFERENCES baseline_groups (id),
    member_id uuid NOT NULL,
    PRIMARY KEY (group_id, member_id)
  );
`);

const app = express();
app.use(express.json({ limit: '5mb', type: ['application/json', 'application/scim+json'] }));

app.post('/users', async (req, res) => {
  const body = req.body as { userName: string };
  const { rows } = await pool.query(
    'INSERT INTO baseline_users (user_name, data) VALUES ($1, $2) RETURNING id',
    [body.userName, JSON.stringify(body)],
  );
  res.status(201).json({ id: rows[0].id });
});

// ?userName=… (indexed equality), ?offset=&limit= (index page), ?after=&limit= (keyset page).
app.get('/users', async (req, res) => {
  const q = req.query as Record<string, string | undefined>;
  const limit = Number(q.limit ?? 100);
  const { rows } =
    q.userName !== undefined
      ? await pool.query(
          'SELECT id, user_name, data FROM baseline_users WHERE lower(user_name) = lower($1)',
          [q.userName],
        )
      : q.after !== undefined
        ? await pool.query(
            'SELECT id, user_name, data FROM baseline_users WHERE id > $1 ORDER BY id LIMIT $2',
            [q.after, limit],
          )
        : await pool.query(
            'SELECT id, user_name, data FROM baseline_users ORDER BY id OFFSET $1 LIMIT $2',
            [Number(q.offset ?? 0), limit],
          );
  res.json(rows);
});

app.post('/groups', async (req, res) => {
  const body = req.body as { displayName: string };
  const { rows } = await pool.query(
    'INSERT INTO baseline_groups (display_name, data) VALUES ($1, $2) RETURNING id',
    [body.displayName, JSON.stringify(body)],
  );
  res.status(201).json({ id: rows[0].id });
});

app.post('/groups/:id/members', async (req, res) => {
  const body = req.body as { members: string[] };
  await pool.query(
    `INSERT INTO baseline_members (group_id, member_id)
     SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`,
    [req.params.id, body.members],
  );
  res.status(204).end();
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`baseline listening ${JSON.stringify(server.address())}`);
});

process.on('SIGTERM', () => {
  server.close();
  server.closeIdleConnections();
  void pool.end().then(() => process.exit(0));
});
