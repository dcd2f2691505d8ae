// List and search parameters (RFC 7644 §3.4.2): filter, sortBy/sortOrder, startIndex/
// count (index pagination), cursor/count (RFC 9865 cursor pagination), attributes and
// excludedAttributes. The same parser serves GET query strings and POST /.search bodies.
import { scimError } from './errors.js';
import { parseAttributeList } from './projection.js';
import { isUuid } from '../shared/ids.js';

/** Page size when the client gives no count, and the most we return in one page. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export interface ListQuery {
  filter?: string | undefined;
  sortBy?: string | undefined;
  sortOrder: 'ascending' | 'descending';
  startIndex: number;
  count: number;
  /** Present (possibly "") when the client asked for cursor pagination. */
  cursor?: string | undefined;
  attributes?: string[] | undefined;
  excludedAttributes?: string[] | undefined;
}

function integer(raw: unknown, name: string): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
  if (!Number.isInteger(n)) throw scimError(400, 'invalidValue', `${name} must be an integer`);
  return n;
}

const key = (params: Record<string, unknown>, name: string) =>
  Object.keys(params).find((k) => k.toLowerCase() === name.toLowerCase());

export function parseListQuery(params: Record<string, unknown>): ListQuery {
  const get = (name: string) => {
    const k = key(params, name);
    const v = k === undefined ? undefined : params[k];
    return Array.isArray(v) ? v[v.length - 1] : v;
  };
  const filter = get('filter');
  if (filter !== undefined && typeof filter !== 'string')
    throw scimError(400, 'invalidFilter', 'filter must be a string');
  const sortBy = get('sortBy');
  const sortOrderRaw = get('sortOrder');
  const sortOrder =
    sortOrderRaw === undefined || sortOrderRaw === ''
      ? 'ascending'
      : String(sortOrderRaw).toLowerCase();
  if (sortOrder !== 'ascending' && sortOrder !== 'descending') {
    throw scimError(400, 'invalidValue', 'sortOrder must be "ascending" or "descending"');
  }
  // §3.4.2.4: startIndex below 1 is read as 1, a negative count as 0. One past any
  // possible result stays exact in a double and in PostgreSQL's bigint OFFSET (issue 12:
  // startIndex=1e20 overflowed it, a 500).
  const startIndex = Math.min(
    Number.MAX_SAFE_INTEGER,
    Math.max(1, integer(get('startIndex'), 'startIndex') ?? 1),
  );
  const count = Math.min(
    MAX_PAGE_SIZE,
    Math.max(0, integer(get('count'), 'count') ?? DEFAULT_PAGE_SIZE),
  );
  const cursorKey = key(params, 'cursor');
  const cursor = cursorKey === undefined ? undefined : String(get('cursor') ?? '');
  if (cursor !== undefined && key(params, 'startIndex') !== undefined) {
    throw scimError(400, 'invalidValue', 'use either cursor or startIndex, not both (RFC 9865)');
  }
  return {
    filter: filter === undefined || filter.trim() === '' ? undefined : filter,
    sortBy: sortBy === undefined || sortBy === '' ? undefined : String(sortBy),
    sortOrder,
    startIndex,
    count,
    cursor,
    attributes: parseAttributeList(get('attributes')),
    excludedAttributes: parseAttributeList(get('excludedAttributes')),
  };
}

/** Cursors are opaque to clients: the keyset position (default order) or an offset (sorted lists). */
export interface CursorState {
  after?: string;
  offset?: number;
}

export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

export function decodeCursor(raw: string): CursorState {
  if (raw === '') return {};
  try {
    const state = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as CursorState;
    const okAfter = state.after === undefined || isUuid(state.after);
    const okOffset =
      state.offset === undefined || (Number.isSafeInteger(state.offset) && state.offset >= 0);
    if (typeof state === 'object' && state && okAfter && okOffset) return state;
  } catch {
    // fall through
  }
  // RFC 9865 §4: an unusable cursor is 400 with scimType invalidCursor.
  throw scimError(400, 'invalidCursor', 'the cursor is not valid');
}
