// timestamptz values read as Dates, fast. A page of 100 users carries 200 timestamps, and
// the driver's parser (postgres-date: three regular expressions and local-time
// arithmetic each) was a tenth of the page's JavaScript. PostgreSQL writes them, in the
// ISO DateStyle with the session in UTC, as "2026-12-06 16:28:25.712345+00": that shape
// is read here by position; anything else (another zone, BC, infinity, a year outside
// 100–9999) goes to the driver's own parser, as before.
import pg from 'pg';

const driverParser = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (
  s: string,
) => Date | number | null;

// "YYYY-MM-DD HH:MM:SS+00" is 22 characters; with ".ffffff", 29.
const SHORTEST = 22;
const LONGEST = 29;
const num = (s: string, from: number, to: number) => Number(s.slice(from, to));

export function parseTimestamptz(s: string): Date | number | null {
  const n = s.length;
  if (
    n >= SHORTEST &&
    n <= LONGEST &&
    s.endsWith('+00') &&
    s[4] === '-' &&
    s[10] === ' ' &&
    (n === SHORTEST || s[19] === '.')
  ) {
    const year = num(s, 0, 4);
    // Milliseconds: the first three digits of the fraction, as the driver truncates them.
    const ms = n === SHORTEST ? 0 : Number(s.slice(20, Math.min(23, n - 3)).padEnd(3, '0'));
    const t = Date.UTC(
      year,
      num(s, 5, 7) - 1,
      num(s, 8, 10),
      num(s, 11, 13),
      num(s, 14, 16),
      num(s, 17, 19),
      ms,
    );
    // Date.UTC reads years 0–99 as 1900–1999: leave those to the driver.
    if (year >= 100 && !Number.isNaN(t)) return new Date(t);
  }
  return driverParser(s);
}
