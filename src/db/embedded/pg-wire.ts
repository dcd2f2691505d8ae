// The PostgreSQL frontend/backend protocol (PostgreSQL manual, "Frontend/Backend
// Protocol"), as much of it as the embedded server (src/db/embedded/pglite-server.ts) needs to
// frame, answer and filter messages without understanding them.

export const READY_FOR_QUERY = 0x5a; // 'Z'
const COPY_IN_RESPONSE = 0x47; // 'G'

export function typed(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

export const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');

/**
 * Whether a simple Query message is one COPY … FROM STDIN statement (and so followed by
 * the client's CopyData, then CopyDone or CopyFail). A COPY hidden behind a comment or
 * another statement is not recognised, and goes to PGlite as any other query.
 */
export function copyFromStdin(query: Buffer): { binary: boolean } | null {
  const sql = query.toString('utf8', 5, query.length - 1);
  const m = /^\s*COPY\s[^;]*?\sFROM\s+STDIN\b([^;]*);?\s*$/i.exec(sql);
  return m ? { binary: /\bBINARY\b/i.test(m[1]!) } : null;
}

/** CopyInResponse: the overall format, and no per-column formats (the client ignores them). */
export function copyInResponse(binary: boolean): Buffer {
  const body = Buffer.alloc(3);
  body.writeInt8(binary ? 1 : 0, 0);
  body.writeInt16BE(0, 1);
  return typed('G', body);
}

/** Backend messages in `buf` (whole messages) without its CopyInResponse messages. */
export function withoutCopyInResponse(buf: Buffer): Buffer {
  const kept: Buffer[] = [];
  let pos = 0;
  while (pos + 5 <= buf.length) {
    const end = pos + 1 + buf.readInt32BE(pos + 1);
    if (buf[pos] !== COPY_IN_RESPONSE) kept.push(buf.subarray(pos, end));
    pos = end;
  }
  return Buffer.concat(kept);
}

/**
 * Follows the backend messages of one batch as they stream out, remembering the status
 * byte of the last ReadyForQuery (undefined when there was none).
 */
export class ReadyWatcher {
  status: number | undefined;
  private head = Buffer.alloc(0);
  private rest = 0;
  private inReady = false;

  feed(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.rest > 0) {
        if (this.inReady) this.status = chunk[pos];
        this.inReady = false;
        const n = Math.min(this.rest, chunk.length - pos);
        pos += n;
        this.rest -= n;
        continue;
      }
      const n = Math.min(5 - this.head.length, chunk.length - pos);
      this.head = Buffer.concat([this.head, chunk.subarray(pos, pos + n)]);
      pos += n;
      if (this.head.length === 5) {
        this.inReady = this.head[0] === READY_FOR_QUERY;
        this.rest = this.head.readInt32BE(1) - 4;
        this.head = Buffer.alloc(0);
      }
    }
  }
}

export function fatal(sqlstate: string, message: string): Buffer {
  const field = (code: string, value: string) => Buffer.concat([Buffer.from(code), cstr(value)]);
  return typed(
    'E',
    Buffer.concat([
      field('S', 'FATAL'),
      field('V', 'FATAL'),
      field('C', sqlstate),
      field('M', message),
      Buffer.alloc(1),
    ]),
  );
}

export function tooManyConnections(max: number): Buffer {
  return fatal('53300', `too many connections (the embedded database accepts ${max})`);
}

/** The message of the first ErrorResponse among the backend messages in `buf`, or null. */
export function errorMessage(buf: Buffer): string | null {
  let pos = 0;
  while (pos + 5 <= buf.length) {
    const end = pos + 1 + buf.readInt32BE(pos + 1);
    if (buf[pos] === 0x45 /* 'E' */) {
      let at = pos + 5;
      while (at < end && buf[at] !== 0) {
        const stop = buf.indexOf(0, at + 1);
        if (buf[at] === 0x4d /* 'M' */) return buf.toString('utf8', at + 1, stop);
        at = stop + 1;
      }
      return 'error';
    }
    pos = end;
  }
  return null;
}
