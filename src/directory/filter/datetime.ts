// xsd:dateTime (RFC 7643 §2.3.5) for filter values and the evaluator.
//
// Times are compared as whole microseconds since the epoch, PostgreSQL's timestamptz
// precision. The SQL gets the canonical UTC text of the parsed value, never the client's
// text, so the database and the reference evaluator compare the very same instant
// (digits after the sixth are dropped; a value without offset is taken as UTC rather
// than the session's TimeZone).
const XSD_DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$/;

export interface Instant {
  /** Microseconds since 1970-01-01T00:00:00Z (bigint: year 9999 needs more than 2^53). */
  micros: bigint;
  /** Canonical text: YYYY-MM-DDTHH:MM:SS.ffffff+00:00. */
  text: string;
}

const MIN_MS = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/** Parse xsd:dateTime; undefined when it isn't one (years 0001–9999, hours 00–23). */
export function parseDateTime(value: string): Instant | undefined {
  const m = XSD_DATETIME.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month))
    return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 14 || om > 59 || (oh === 14 && om > 0)) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // setUTCFullYear, because Date.UTC maps years 0–99 to 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute - offsetMinutes, second, 0);
  const ms = date.getTime();
  if (ms < MIN_MS || ms > MAX_MS) return undefined; // an offset moved it out of 0001–9999
  const fraction = (m[7] ?? '').slice(0, 6).padEnd(6, '0');
  const micros = BigInt(ms) * 1000n + BigInt(Number(fraction));
  return { micros, text: `${new Date(ms).toISOString().slice(0, 19)}.${fraction}+00:00` };
}
