// The fast timestamptz parser (src/db/timestamps.ts) reads exactly what the driver's
// parser reads, for PostgreSQL's UTC output and for everything it hands back to it.
import fc from 'fast-check';
import pg from 'pg';
import { parseTimestamptz } from '../../src/db/timestamps.js';

const driver = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (s: string) => unknown;
const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** PostgreSQL's ISO output in UTC: trailing zeros of the fraction dropped, none if whole. */
const pgUtcText = fc
  .record({
    year: fc.integer({ min: 100, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    micros: fc.integer({ min: 0, max: 999_999 }),
  })
  .map((t) => {
    const frac = t.micros === 0 ? '' : `.${pad(t.micros, 6).replace(/0+$/, '')}`;
    return (
      `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)} ` +
      `${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}${frac}+00`
    );
  });

test('UTC output parses to the same instant as the driver parses it', () => {
  fc.assert(
    fc.property(pgUtcText, (s) => {
      const ours = parseTimestamptz(s) as Date;
      expect(ours).toBeInstanceOf(Date);
      expect(ours.getTime()).toBe((driver(s) as Date).getTime());
    }),
    { numRuns: 5000 },
  );
});

test.each([
  ['2026-12-06 16:28:25.712345+00', '2026-12-06T16:28:25.712Z'],
  ['2026-12-06 16:28:25.7+00', '2026-12-06T16:28:25.700Z'],
  ['2026-12-06 16:28:25+00', '2026-12-06T16:28:25.000Z'],
  ['2026-02-28 23:59:59.999999+00', '2026-02-28T23:59:59.999Z'],
])('%s is %s (milliseconds truncated, as the driver does)', (text, iso) => {
  expect((parseTimestamptz(text) as Date).toISOString()).toBe(iso);
});

test.each([
  '2026-12-06 17:28:25.712+01',
  '2026-12-06 10:58:25.712-05:30',
  '0050-01-01 00:00:00+00',
  '0044-03-15 12:00:00+00 BC',
  '12026-01-01 00:00:00+00',
  'infinity',
  '-infinity',
])('%s, another shape, is left to the driver with the same result', (text) => {
  expect(parseTimestamptz(text)).toEqual(driver(text));
});
