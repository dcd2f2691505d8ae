// The one reader of licence dates, for the API and the CSV import alike: an ISO 8601
// calendar date (`2026-03-01`, read as midnight UTC) or a date-time with an offset
// (`2026-03-01T09:00:00+01:00`, `...Z`). The day must exist (no 2026-02-30), and the
// instant, in UTC, must fall in the years 0001 to 9999: PostgreSQL has no year 0, and a
// later year has no plain ISO form (issue 12: `0000-01-01` and
// `9999-12-31T23:59:59-23:59` reached the database and answered 500).
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2})))?$/;

const FIRST = Date.parse('0001-01-01T00:00:00Z'); // Date.UTC would read year 1 as 1901
const LAST = Date.parse('9999-12-31T23:59:59.999Z');

export const DATE_FORMAT_HINT =
  'an ISO 8601 date (2026-03-01) or date-time with an offset (2026-03-01T09:00:00Z), in the years 0001 to 9999';

/** The instant a licence date names, or null when it is not one (see above). */
export function parseLicenceDate(value: string): Date | null {
  const m = ISO.exec(value);
  if (!m) return null;
  const [, y, mo, d, hh = '0', mi = '0', ss = '0', zone, oh = '0', om = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const calendar = new Date(0);
  calendar.setUTCFullYear(year, month - 1, day);
  if (
    calendar.getUTCFullYear() !== year ||
    calendar.getUTCMonth() !== month - 1 ||
    calendar.getUTCDate() !== day
  )
    return null;
  if (Number(hh) > 23 || Number(mi) > 59 || Number(ss) > 59) return null;
  if (zone && zone !== 'Z' && (Number(oh) > 23 || Number(om) > 59)) return null;
  const ms = zone ? Date.parse(value) : calendar.getTime();
  if (!Number.isFinite(ms) || ms < FIRST || ms > LAST) return null;
  return new Date(ms);
}
