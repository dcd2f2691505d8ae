import { copyLines, copyValue } from '../../src/db/copy-text.js';

describe('COPY text format (PostgreSQL manual, COPY, "Text Format")', () => {
  it('writes NULL as \\N and the empty string as nothing, so the two stay apart', () => {
    expect(copyValue(null)).toBe('\\N');
    expect(copyValue(undefined)).toBe('\\N');
    expect(copyValue('')).toBe('');
  });

  it('escapes backslash, newline, carriage return and tab, and nothing else', () => {
    expect(copyValue('a\\b\nc\rd\te')).toBe('a\\\\b\\nc\\rd\\te');
    // A value that looks like NULL or the end-of-data marker is data once escaped.
    expect(copyValue('\\N')).toBe('\\\\N');
    expect(copyValue('\\.')).toBe('\\\\.');
    expect(copyValue('"quoted", ünï, {"json": 1}')).toBe('"quoted", ünï, {"json": 1}');
  });

  it('writes bytes as bytea hex, dates as ISO 8601, booleans and numbers as their input forms', () => {
    expect(copyValue(Buffer.from([0, 0x5c, 0xff]))).toBe('\\\\x005cff');
    expect(copyValue(new Date('2026-12-02T01:02:03.004Z'))).toBe('2026-12-02T01:02:03.004Z');
    expect(copyValue(true)).toBe('t');
    expect(copyValue(false)).toBe('f');
    expect(copyValue(-12.5)).toBe('-12.5');
    expect(copyValue(2n ** 63n - 1n)).toBe('9223372036854775807');
  });

  it('refuses what has no text form instead of writing something wrong', () => {
    expect(() => copyValue(Number.NaN)).toThrow(TypeError);
    expect(() => copyValue({ a: 1 })).toThrow(/JSON text for jsonb/);
  });

  it('writes one line per row, the named columns in order, tab-separated', () => {
    const rows = [
      { b: 'x\ty', a: 1, ignored: 'z' },
      { a: 2, b: null },
    ];
    expect(copyLines(rows, ['a', 'b'])).toBe('1\tx\\ty\n2\t\\N\n');
  });
});
