// A PostgreSQL wire-protocol server for PGlite on a unix socket, replacing
// @electric-sql/pglite-socket's PGLiteSocketServer.
//
// PGlite is ONE PostgreSQL session; every connection shares it. pglite-socket queues
// each wire message on its own and only keeps a connection's messages together while
// PGlite says a transaction is open. The extended query protocol (the `pg` driver's
// Parse/Bind/Describe/Execute/Sync for every parameterized query) keeps state between
// messages outside any transaction - the unnamed statement and portal - so whenever a
// connection's messages arrived in more than one socket read (a parameter larger than
// the socket buffer, a client in another process), another connection's could run in
// between: A's Parse, B's Parse, A's Bind silently ran B's statement with A's values.
//
// Here each connection's messages are grouped into batches that end where the client
// waits for an answer (Sync, simple Query, Flush), and batches run one at a time, whole.
// After a batch the session belongs to its connection until PGlite's last
// ReadyForQuery says idle ('I'): while the connection is inside a transaction ('T',
// 'E'), or mid extended-query sequence (a Flush answered, no Sync yet, so no
// ReadyForQuery at all), other connections' batches wait, in arrival order.
//
// Named prepared statements and portals live in the session too, so two connections
// preparing "s1" would collide (42P05), and one could execute the other's. Each
// connection's names are given a prefix of its own on the way in (Parse, Bind, Describe,
// Close, Execute), and its statements are closed when it goes, as a backend's would be.
//
// Roles: PGlite's one session has one current role, and every connection shares it. A
// connection may ask for a role in its startup packet, as libpq lets any client do
// (`options=-c role=seatkeeper_app`; the service's pool does, src/db/database.ts). The
// server switches the session to that role (SET ROLE, or RESET ROLE for a connection
// that asked for none) before it runs a batch of a connection whose role differs from the
// session's, which is only ever between transactions. A role that cannot be set closes
// the connection: it never runs as anyone else. A client's own SET ROLE is not undone
// (like any SET, it leaks to the other connections until the next switch).
//
// COPY … FROM STDIN is a conversation (the statement, CopyInResponse, the client's
// CopyData messages, CopyDone) that PGlite can only hold within one call. So the server
// answers the CopyInResponse itself, gathers the data up to CopyDone or CopyFail, and
// runs the whole COPY as one batch, dropping PGlite's own CopyInResponse from the answer.
// An error in the COPY statement itself (a missing table) therefore comes after the data.
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import {
  copyFromStdin,
  copyInResponse,
  cstr,
  errorMessage,
  fatal,
  ReadyWatcher,
  tooManyConnections,
  typed,
  withoutCopyInResponse,
} from './pg-wire.js';

export interface PgliteServerOptions {
  db: PGlite;
  /** Unix socket path; the caller removes a stale file before start and the file after stop. */
  path: string;
  /** Connections beyond this get FATAL 53300 "too many connections". */
  maxConnections: number;
}

// Untyped messages a client may send before its startup packet (protocol codes).
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const TERMINATE = 0x58; // 'X'
// A client waits for a reply after these, so a batch ends there.
const QUERY = 0x51; // 'Q'
const BATCH_ENDS = new Set([0x53 /* Sync */, QUERY, 0x48 /* Flush */]);
const COPY_DONE = 0x63; // 'c'
const COPY_FAIL = 0x66; // 'f'
const IDLE = 0x49; // 'I'

interface Connection {
  socket: Socket;
  /** Received bytes not yet split into messages, and how many are needed before trying again. */
  chunks: Buffer[];
  size: number;
  need: number;
  started: boolean;
  rejected: boolean;
  /** Terminate received or socket closed: the end marker is queued, ignore further input. */
  ended: boolean;
  /** Messages of the batch being received (no Sync/Query/Flush yet). */
  pending: Buffer[];
  /** Prefix of this connection's statement and portal names in the shared session. */
  prefix: string;
  /** Its named statements (prefixed), closed when it ends. */
  statements: Set<string>;
  /** Inside a COPY … FROM STDIN: its data is gathered until CopyDone or CopyFail. */
  copying: boolean;
  /** The role asked for in the startup packet (`-c role=…` in options), or null. */
  role: string | null;
}

/** `data: null` marks the end of a connection, queued behind its last batch. */
interface Batch {
  conn: Connection;
  data: Buffer | null;
  /** A whole COPY … FROM STDIN: the client has had its CopyInResponse already. */
  copy?: boolean;
}

export class PgliteServer {
  private readonly db: PGlite;
  private readonly path: string;
  private readonly maxConnections: number;
  private server: Server | undefined;
  private readonly connections = new Set<Connection>();
  private readonly queue: Batch[] = [];
  /** The connection the session belongs to (open transaction or unfinished sequence). */
  private owner: Connection | null = null;
  private pumping: Promise<void> | undefined;
  private pumpRunning = false;
  private stopped = false;
  private nextId = 0;
  /** The role this server last set on the session (null: the session user's own). */
  private sessionRole: string | null = null;

  constructor(opts: PgliteServerOptions) {
    this.db = opts.db;
    this.path = opts.path;
    this.maxConnections = opts.maxConnections;
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('PgliteServer already started');
    await this.db.waitReady;
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Close every client and the server; waits for a running batch so PGlite can be closed next. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    for (const conn of this.connections) conn.socket.destroy();
    this.connections.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.pumping;
  }

  private accept(socket: Socket): void {
    const conn: Connection = {
      socket,
      chunks: [],
      size: 0,
      need: 8,
      started: false,
      // Refused only once its startup packet arrives: answering before the client has
      // written it would make the client see EPIPE instead of our error.
      rejected: this.stopped || this.accepted() >= this.maxConnections,
      ended: false,
      pending: [],
      prefix: `c${++this.nextId}_`,
      statements: new Set(),
      copying: false,
      role: null,
    };
    this.connections.add(conn);
    socket.on('data', (data) => this.receive(conn, data));
    socket.on('error', () => undefined); // 'close' follows; the client sees its own error
    socket.on('close', () => {
      this.connections.delete(conn);
      this.end(conn);
    });
  }

  private accepted(): number {
    let n = 0;
    for (const conn of this.connections) if (!conn.rejected) n++;
    return n;
  }

  private receive(conn: Connection, data: Buffer): void {
    if (conn.ended) return;
    conn.chunks.push(data);
    conn.size += data.length;
    if (conn.size < conn.need) return; // concatenate only once a whole message may be here
    const buf = conn.chunks.length === 1 ? data : Buffer.concat(conn.chunks);
    let off = 0;
    while (!conn.ended) {
      // Before startup: int32 length, int32 code. After: type byte, int32 length.
      const head = conn.started ? 5 : 8;
      if (buf.length - off < head) {
        conn.need = head;
        break;
      }
      const len = conn.started ? 1 + buf.readInt32BE(off + 1) : buf.readInt32BE(off);
      if (len < head || len > 1 << 30) {
        conn.socket.destroy(); // not the PostgreSQL protocol
        return;
      }
      if (buf.length - off < len) {
        conn.need = len;
        break;
      }
      const msg = buf.subarray(off, off + len);
      off += len;
      if (conn.started) this.message(conn, msg);
      else this.untyped(conn, msg);
    }
    const rest = buf.subarray(off);
    conn.chunks = rest.length ? [rest] : [];
    conn.size = rest.length;
  }

  private untyped(conn: Connection, msg: Buffer): void {
    const code = msg.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      conn.socket.write('N'); // no encryption; the client goes on in plain text
    } else if (code === CANCEL_REQUEST) {
      conn.socket.end(); // PGlite cannot interrupt a running query; a cancel connection ends here
      conn.ended = true;
    } else if (conn.rejected) {
      conn.socket.end(tooManyConnections(this.maxConnections));
      conn.ended = true;
    } else {
      // PGlite answers the startup packet itself (AuthenticationOk, parameters, ReadyForQuery).
      conn.started = true;
      conn.role = startupRole(msg);
      this.enqueue({ conn, data: Buffer.from(msg) });
    }
  }

  private message(conn: Connection, msg: Buffer): void {
    if (msg[0] === TERMINATE) {
      this.end(conn);
      return;
    }
    if (conn.copying) {
      conn.pending.push(msg);
      if (msg[0] === COPY_DONE || msg[0] === COPY_FAIL) {
        conn.copying = false;
        this.enqueue({ conn, data: Buffer.concat(conn.pending), copy: true });
        conn.pending = [];
      }
      return;
    }
    conn.pending.push(namespaced(conn, msg));
    // PGlite cannot stop in the middle of a COPY to wait for its data: the statement,
    // the data and its end must reach it in one call. So the client is told to go ahead
    // here, the data is gathered, and the whole COPY runs as one batch.
    const copy = msg[0] === QUERY ? copyFromStdin(msg) : null;
    if (copy) {
      conn.copying = true;
      conn.socket.write(copyInResponse(copy.binary));
    } else if (BATCH_ENDS.has(msg[0]!)) {
      this.enqueue({ conn, data: Buffer.concat(conn.pending) });
      conn.pending = [];
    }
  }

  /**
   * Terminate or a closed socket. Batches already received still run (as a real backend
   * reads what is in its socket before it sees the end); a half-received batch is dropped
   * (without its Sync it would never commit). The end marker then releases the session.
   */
  private end(conn: Connection): void {
    if (conn.ended) return;
    conn.ended = true;
    conn.pending = [];
    if (conn.started) this.enqueue({ conn, data: null });
    else conn.socket.destroy();
  }

  private enqueue(batch: Batch): void {
    if (this.stopped) return;
    this.queue.push(batch);
    if (!this.pumpRunning) this.pumping = this.pump();
  }

  /** Runs queued batches one at a time: the session owner's first, else the oldest. */
  private async pump(): Promise<void> {
    // Set and cleared synchronously with the emptiness check, so enqueue() never sees a
    // pump that has already decided to stop.
    this.pumpRunning = true;
    try {
      while (!this.stopped) {
        const i = this.owner ? this.queue.findIndex((b) => b.conn === this.owner) : 0;
        if (i < 0 || this.queue.length === 0) return; // idle, or waiting for the owner
        const [batch] = this.queue.splice(i, 1);
        await this.run(batch!);
      }
    } finally {
      this.pumpRunning = false;
    }
  }

  private async run({ conn, data, copy }: Batch): Promise<void> {
    const { socket } = conn;
    try {
      if (data === null) {
        // The connection is gone. If it left a transaction open or a sequence
        // unfinished, bring the session back to idle before anyone else uses it.
        if (this.owner === conn) await this.exec(RESET, () => undefined);
        if (this.owner === conn) this.owner = null;
        if (conn.statements.size) await this.exec(closeAll(conn.statements), () => undefined);
        socket.end();
        return;
      }
      if (conn.role !== this.sessionRole && !(await this.switchRole(conn))) return;
      const ready = new ReadyWatcher();
      const send = (chunk: Buffer) => {
        ready.feed(chunk);
        if (socket.writable) socket.write(chunk);
      };
      if (copy) {
        // The client has had a CopyInResponse from us: PGlite's own is dropped. A COPY's
        // answer is a few short messages, so it is gathered whole before filtering.
        const out: Buffer[] = [];
        await this.exec(data, (chunk) => out.push(chunk));
        send(withoutCopyInResponse(Buffer.concat(out)));
      } else {
        await this.exec(data, send);
      }
      this.owner = ready.status === IDLE ? null : conn;
    } catch {
      // PGlite itself failed (closed, or a wasm error). After a batch: drop the client
      // but keep the session its own until its end marker has tried the reset. After
      // the reset: nothing more to try.
      if (data !== null) this.owner = conn;
      else if (this.owner === conn) this.owner = null;
      socket.destroy();
    }
  }

  /** Give the session `conn`'s role; false (and the connection closed) if it cannot be set. */
  private async switchRole(conn: Connection): Promise<boolean> {
    const sql = conn.role === null ? 'RESET ROLE' : `SET ROLE ${quoteIdent(conn.role)}`;
    const out: Buffer[] = [];
    await this.exec(typed('Q', cstr(sql)), (chunk) => out.push(chunk));
    const error = errorMessage(Buffer.concat(out));
    if (error === null) {
      this.sessionRole = conn.role;
      return true;
    }
    conn.socket.end(fatal('28000', `cannot serve as role ${conn.role ?? '(none)'}: ${error}`));
    conn.ended = true;
    return false;
  }

  /** One batch through PGlite, all of its messages in one call (PGlite loops over them). */
  private exec(data: Buffer, onData: (chunk: Buffer) => void): Promise<void> {
    return this.db.runExclusive(() =>
      this.db.execProtocolRawStream(data, {
        // PGlite hands out a view of wasm memory that the next write reuses: copy it.
        onRawData: (raw) => onData(Buffer.from(raw)),
      }),
    );
  }
}

// Frontend messages that carry statement or portal names, and where.
const PARSE = 0x50; // 'P': statement name, query, parameter types
const BIND = 0x42; // 'B': portal name, statement name, the rest
const DESCRIBE = 0x44; // 'D': 'S' or 'P', then a name
const CLOSE = 0x43; // 'C': 'S' or 'P', then a name
const EXECUTE = 0x45; // 'E': portal name, row limit

/** The message with its non-empty statement and portal names prefixed for `conn`. */
function namespaced(conn: Connection, msg: Buffer): Buffer {
  const type = msg[0];
  // Where the NUL-terminated names start (after the type byte and the length).
  let starts: number[];
  if (type === PARSE || type === EXECUTE) starts = [5];
  else if (type === BIND) starts = [5, msg.indexOf(0, 5) + 1];
  else if (type === DESCRIBE || type === CLOSE) starts = [6];
  else return msg;
  const body: Buffer[] = [];
  let from = 5;
  let renamed = false;
  for (const at of starts) {
    const end = msg.indexOf(0, at);
    if (at === 0 || end < 0) return msg; // malformed: PGlite will say so
    if (end === at) continue; // unnamed: the session's one unnamed statement or portal
    const name = conn.prefix + msg.toString('utf8', at, end);
    body.push(msg.subarray(from, at), Buffer.from(name, 'utf8'));
    from = end;
    renamed = true;
    const statement = type === PARSE || ((type === DESCRIBE || type === CLOSE) && msg[5] === 0x53);
    if (type === PARSE) conn.statements.add(name);
    else if (type === CLOSE && statement) conn.statements.delete(name);
  }
  if (!renamed) return msg;
  body.push(msg.subarray(from));
  return typed(String.fromCharCode(type), Buffer.concat(body));
}

/** Close a connection's statements (an unknown name is no error), then Sync. */
function closeAll(statements: Set<string>): Buffer {
  return Buffer.concat([
    ...[...statements].map((name) => typed('C', Buffer.concat([Buffer.from('S'), cstr(name)]))),
    typed('S', Buffer.alloc(0)),
  ]);
}

// Leaves any COPY (CopyFail; ignored outside COPY), ends an extended sequence and its
// error state (Sync), and aborts a transaction (ROLLBACK; only a warning when none is open).
const RESET = Buffer.concat([
  typed('f', cstr('client disconnected')),
  typed('S', Buffer.alloc(0)),
  typed('Q', cstr('ROLLBACK')),
]);

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The role a startup packet asks for: `-c role=NAME` or `--role=NAME` in its options. */
export function startupRole(msg: Buffer): string | null {
  const parts = msg.toString('utf8', 8).split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (parts[i] !== 'options') continue;
    const m = /(?:^|\s)(?:-c\s*|--)role=(\S+)/.exec(parts[i + 1]!);
    return m ? m[1]! : null;
  }
  return null;
}
