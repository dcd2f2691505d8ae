// Rows in the text format of COPY … FROM STDIN (PostgreSQL manual, COPY, "Text Format"):
// one line per row, columns separated by a tab, NULL written \N, and a backslash,
// newline, carriage return or tab inside a value written as \\, \n, \r, \t. Each value
// is then read by its column's own input function, exactly as a bound parameter's text
// would be. That is the whole format; no library writes it faster than this (csv-stringify
// took 12–20 µs a row and writes NULL and '' alike), and the server reads it at a third of
// the cost of the same rows as a JSON document (bench/RESULTS.md §9).

const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * One value as COPY text. Strings are taken as they are (JSON text for a jsonb column,
 * ISO 8601 for a timestamp); a Buffer becomes bytea's hex form; a Date its ISO string.
 */
export function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'string') return SPECIAL.test(v) ? v.replace(SPECIALS, (c) => ESCAPES[c]!) : v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`copyValue: ${v} is not a finite number`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'bigint') return v.toString();
  // bytea's hex input form, \x…, with its backslash escaped for COPY.
  if (Buffer.isBuffer(v)) return `\\\\x${v.toString('hex')}`;
  if (v instanceof Date) return v.toISOString();
  throw new TypeError(`copyValue: cannot write a ${typeof v} (pass JSON text for jsonb)`);
}

/** `rows` as COPY text lines, each with the values of `names` in that order. */
export function copyLines(rows: ReadonlyArray<Record<string, unknown>>, names: string[]): string {
  let out = '';
  for (const row of rows) {
    let line = '';
    for (let i = 0; i < names.length; i++) {
      if (i > 0) line += '\t';
      line += copyValue(row[names[i]!]);
    }
    out += `${line}\n`;
  }
  return out;
}
