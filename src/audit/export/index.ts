// Streamed exports of the trail: JSON lines, CSV, or CEF for a SIEM. Events are read a
// batch at a time and written with back-pressure, so the size of the trail never
// matters to memory.
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { Knex } from 'knex';
import { readAuditEvents } from '../read.js';
import type { AuditRecord } from '../types.js';
import { toCef } from './cef.js';

export const EXPORT_FORMATS = ['json', 'csv', 'cef'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const PRODUCT = { vendor: 'Seatkeeper', name: 'Seatkeeper', version: '0.1.0' };

const CSV_COLUMNS = [
  'tenantId',
  'seq',
  'eventId',
  'occurredAt',
  'actorType',
  'actorId',
  'action',
  'targetType',
  'targetId',
  'payload',
  'erasedAt',
  'payloadDigest',
  'prevHash',
  'hash',
] as const;

/** An event as exports and the API show it: without its salt and MAC. */
export function publicRecord(e: AuditRecord & { salt?: unknown; mac?: unknown }): AuditRecord {
  // The salt is the secret half of the payload commitment; it never leaves the database.
  // The MAC is for `audit verify`, which holds the key; it is not part of the record.
  const { salt: _salt, mac: _mac, ...rest } = e;
  return rest;
}

function formatter(format: ExportFormat): Transform {
  if (format === 'csv') {
    const csv = stringify({
      header: true,
      columns: [...CSV_COLUMNS],
      // A cell starting with = + - @ would run as a formula in a spreadsheet.
      escape_formulas: true,
      cast: { object: (v) => JSON.stringify(v) },
    });
    return csv;
  }
  return new Transform({
    writableObjectMode: true,
    transform(e: AuditRecord, _enc, done) {
      done(null, `${format === 'cef' ? toCef(e, PRODUCT) : JSON.stringify(e)}\n`);
    },
  });
}

export async function exportAudit(
  knex: Knex,
  opts: {
    format: ExportFormat;
    out: Writable;
    tenantId?: string | undefined;
    /** Only events that occurred in [from, to). */
    window?: { from?: Date | undefined; to?: Date | undefined };
    onEvent?: () => void;
  },
): Promise<number> {
  let n = 0;
  async function* events() {
    for await (const e of readAuditEvents(knex, {
      tenantId: opts.tenantId,
      ...(opts.window ? { window: opts.window } : {}),
    })) {
      n += 1;
      opts.onEvent?.();
      yield publicRecord(e);
    }
  }
  await pipeline(Readable.from(events()), formatter(opts.format), opts.out, { end: false });
  return n;
}
