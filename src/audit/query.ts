// Reading the trail a page at a time for the admin API (issue 16): filters on the action,
// the subject (the user id an event's personal data is about: the column erasure finds
// a subject's events by), and a time window; keyset paging in chain order (seq). Only
// chained events are listed: a queued one has no seq yet, and verify counts it as pending.
import type { Knex } from 'knex';
import { withTenant } from '../db/tenant-scope.js';
import { invalidInput } from '../shared/errors.js';
import { AUDIT_ACTIONS, type AuditAction } from './actions.js';
import { publicRecord } from './export/index.js';
import { toRecord, type Row } from './read.js';
import type { AuditRecord } from './types.js';

export interface AuditWindow {
  /** Events at or after this instant. */
  from?: Date | undefined;
  /** Events before this instant (exclusive). */
  to?: Date | undefined;
}

export interface AuditQuery extends AuditWindow {
  /** Any of these actions (exact). */
  actions?: AuditAction[] | undefined;
  /** Events about this user id. */
  subject?: string | undefined;
}

export interface AuditPage {
  items: AuditRecord[];
  total: number;
  nextCursor: string | null;
}

const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * An ISO 8601 instant: a date-time with `Z` or an offset. A bare date or a local time
 * names no instant (whose midnight?), and Date.parse would take 2026-02-30 for 2 March.
 */
export function parseInstant(name: string, value: string): Date {
  const m = INSTANT.exec(value);
  const ms = m ? Date.parse(value) : NaN;
  if (m && Number.isFinite(ms)) {
    const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    const real =
      day.getUTCMonth() === Number(m[2]) - 1 &&
      day.getUTCDate() === Number(m[3]) &&
      Number(m[4]) < 24 &&
      Number(m[5]) < 60 &&
      Number(m[6] ?? 0) < 60;
    if (real) return new Date(ms);
  }
  throw invalidInput(
    `${name} must be an ISO 8601 date-time with an offset, e.g. 2026-12-01T00:00:00Z`,
  );
}

/** The window a request names, checked: `from` before `to`. */
export function parseWindow(raw: { from?: unknown; to?: unknown }): AuditWindow {
  const one = (name: string, v: unknown) => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw invalidInput(`${name} may be given once`);
    return parseInstant(name, v);
  };
  const from = one('from', raw.from);
  const to = one('to', raw.to);
  if (from && to && from >= to) throw invalidInput('from must be before to');
  return { from, to };
}

/** `action` repeated or comma-separated; every one must be in the catalogue. */
export function parseActions(raw: unknown): AuditAction[] | undefined {
  if (raw === undefined) return undefined;
  const list = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(','));
  const known = new Set<string>(AUDIT_ACTIONS);
  for (const a of list)
    if (!known.has(a)) throw invalidInput(`action ${JSON.stringify(a)} is not an audit action`);
  return list as AuditAction[];
}

/** A cursor names the seq of the last event of the page before (opaque to clients). */
const encodeCursor = (seq: number) => Buffer.from(String(seq)).toString('base64url');
function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = /^[1-9]\d{0,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(seq)) throw invalidInput('cursor is not valid');
  return seq;
}

/** Narrow a query on audit_events (aliased `e`) to the window. */
function inWindow(q: Knex.QueryBuilder, w: AuditWindow): Knex.QueryBuilder {
  if (w.from) q.where('e.occurred_at', '>=', w.from);
  if (w.to) q.where('e.occurred_at', '<', w.to);
  return q;
}

export async function listAuditEvents(
  knex: Knex,
  tenantId: string,
  query: AuditQuery,
  page: { limit: number; cursor?: string | undefined },
): Promise<AuditPage> {
  const after = page.cursor ? decodeCursor(page.cursor) : 0;
  return withTenant(knex, tenantId, async (trx) => {
    const q = inWindow(trx('audit_events as e').where('e.tenant_id', tenantId), query);
    if (query.actions) q.whereIn('e.action', query.actions);
    if (query.subject !== undefined) q.where('e.subject_id', query.subject);
    const [{ n }] = (await q.clone().count({ n: '*' })) as [{ n: string | number }];
    const rows = (await q
      .clone()
      .select('e.*')
      .where('e.seq', '>', after)
      .orderBy('e.seq', 'asc')
      .limit(page.limit + 1)) as Row[];
    const more = rows.length > page.limit;
    const items = (more ? rows.slice(0, page.limit) : rows).map((r) => publicRecord(toRecord(r)));
    return {
      items,
      total: Number(n),
      nextCursor: more ? encodeCursor(items[items.length - 1]!.seq) : null,
    };
  });
}
