// The admin API's list shape: {items, total, nextCursor}, keyset-paged on the id.
import type { Knex } from 'knex';
import { z } from 'zod';
import { invalidInput } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

export interface PageRequest {
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  total: number;
  nextCursor: string | null;
}

/** The schema of a page of `item`s (for the OpenAPI document), the same shape as Page<T>. */
export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    total: z.number().int().min(0).describe('Items in the whole list, not just this page'),
    nextCursor: z
      .string()
      .nullable()
      .describe('Pass as ?cursor= for the next page; null on the last'),
  });

export function parsePageRequest(query: Record<string, unknown>): PageRequest {
  const raw = query.limit;
  const limit = raw === undefined ? DEFAULT_LIMIT : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw invalidInput(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  const cursor =
    query.cursor === undefined || query.cursor === '' ? undefined : String(query.cursor);
  return { limit, cursor };
}

/** A cursor names the last id of the page before (base64url, opaque to clients). */
export const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');
export const decodeCursor = (cursor: string) => {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id)) throw invalidInput('cursor is not valid');
  return id;
};

export async function page<T>(
  q: Knex.QueryBuilder,
  idColumn: string,
  req: PageRequest,
  map: (row: Record<string, unknown>) => T,
): Promise<Page<T>> {
  const limit = req.limit ?? DEFAULT_LIMIT;
  const [{ n }] = (await q.clone().clearSelect().count({ n: '*' })) as [{ n: number }];
  const rows = q
    .clone()
    .orderBy(idColumn)
    .limit(limit + 1);
  // A query with no columns chosen yet lists whole rows.
  if (
    !(q as unknown as { _statements: Array<{ grouping: string }> })._statements.some(
      (s) => s.grouping === 'columns',
    )
  )
    rows.select('*');
  if (req.cursor) rows.where(idColumn, '>', decodeCursor(req.cursor));
  const result = (await rows) as Record<string, unknown>[];
  const more = result.length > limit;
  const items = (more ? result.slice(0, limit) : result).map(map);
  const key = idColumn.split('.').pop()!;
  const last = more ? String(result[limit - 1]![key]) : null;
  return {
    items,
    total: Number(n),
    nextCursor: last ? encodeCursor(last) : null,
  };
}
