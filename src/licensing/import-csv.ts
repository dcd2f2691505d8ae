// Reading an import's CSV as it arrives. The parser takes the text a chunk at a time and
// the event loop turns between chunks, so a large file never holds the process (issue
// 12: a 10 MiB body parsed in one synchronous call stalled every request for 1.8 s).
// The source is the request body (already bounded by the HTTP layer) or a file (CLI).
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { AppError } from '../shared/errors.js';

/** The most rows one import takes (a million-seat estate is imported in parts). */
export const MAX_IMPORT_ROWS = 200_000;

export interface CsvRecord {
  record: Record<string, string>;
  info: { lines: number };
}

export type CsvSource = string | AsyncIterable<Buffer | string>;

/** Every record of the file with its line; a syntax error or too many rows is thrown. */
export async function readCsvRecords(source: CsvSource): Promise<CsvRecord[]> {
  const parser = parse({
    columns: (header: string[]) => header.map((h) => h.trim()),
    skip_empty_lines: true,
    trim: true,
    info: true,
    bom: true,
  });
  const input = typeof source === 'string' ? Readable.from([source]) : Readable.from(source);
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  const records: CsvRecord[] = [];
  try {
    for await (const r of parser as AsyncIterable<CsvRecord>) {
      records.push(r);
      if (records.length > MAX_IMPORT_ROWS) {
        input.destroy();
        throw new AppError('invalid_csv', `at most ${MAX_IMPORT_ROWS} rows per import`, {
          status: 413,
        });
      }
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    const e = err as { lines?: number; message: string; code?: string };
    // csv-parse's own errors carry a CSV_ code; anything else (the body's 413) passes.
    if (!e.code?.startsWith('CSV_')) throw err;
    throw new AppError('invalid_csv', `line ${e.lines ?? '?'}: ${e.message}`, {
      status: 400,
      detail: { errors: [{ line: e.lines ?? 0, message: e.message }] },
    });
  }
  return records;
}
