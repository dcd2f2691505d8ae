// Bound filter → a PostgreSQL boolean expression with knex `?` placeholders.
//
// Invariants, so the fragment can be combined with anything:
//  - every predicate is true or false, never NULL (COALESCE around each comparison, EXISTS
//    for elements), so NOT and OR mean what they say;
//  - every value is a bound parameter; the SQL text holds only the caller's alias, names
//    from the schema tables (attributes.ts) and fixed text;
//  - a jsonb value of the wrong JSON type reads as NULL (CASE on jsonb_typeof before any
//    cast, so a stray string in a boolean attribute cannot make the query fail);
//  - subqueries are tied to `${alias}.tenant_id`.
// The SQL never contains a literal "?" (knex would take it for a placeholder), so the
// jsonb operators ?, ?| and ?& are not used.
import type { ScalarAttr } from './attribute-types.js';
import type { Bound, PrimitiveOp } from './bind.js';

import type { Knex } from 'knex';
export type { SqlFragment } from '../../db/sql-fragment.js';
import type { SqlFragment } from '../../db/sql-fragment.js';

type SqlType = 'text' | 'uuid' | 'boolean' | 'timestamptz' | 'numeric';
interface Value {
  sql: string;
  type: SqlType;
  /**
   * 'never': a NOT NULL column or a constant, compared bare so that indexes apply (an
   * index cannot serve `COALESCE(lower(user_name) = lower(?), false)`);
   * 'column': a nullable column, guarded with IS NOT NULL (still index-friendly);
   * 'maybe': an expression (jsonb, subquery), wrapped in COALESCE.
   */
  nulls: 'never' | 'column' | 'maybe';
  /** The stored lower case of the value, when there is one (ScalarSource `folded`). */
  folded?: string;
}

type Element = { from: 'json'; expr: string } | { from: 'membership'; alias: string };

interface Ctx {
  alias: string;
  bindings: Knex.RawBinding[];
  next: () => number;
  /** Set inside an `any`: the element sub-attributes are read from. */
  element?: Element;
}

const ALIAS = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SQL_OP: Record<PrimitiveOp, string> = {
  eq: '=',
  gt: '>',
  ge: '>=',
  lt: '<',
  le: '<=',
  co: 'LIKE',
  sw: 'LIKE',
  ew: 'LIKE',
};
const CONSTANTS = new Set(['User', 'Group', 'direct']);

export function checkAlias(alias: string): string {
  if (!ALIAS.test(alias)) throw new Error(`invalid SQL alias for a SCIM filter: ${alias}`);
  return alias;
}

const jsonPath = (root: string, keys: string[]) => root + keys.map((k) => `->'${k}'`).join('');

function jsonValue(expr: string, attr: ScalarAttr): Value {
  switch (attr.type) {
    case 'boolean':
      return {
        sql: `(CASE WHEN jsonb_typeof(${expr}) = 'boolean' THEN (${expr})::boolean END)`,
        type: 'boolean',
        nulls: 'maybe',
      };
    case 'integer':
    case 'decimal':
      return {
        sql: `(CASE WHEN jsonb_typeof(${expr}) = 'number' THEN (${expr})::numeric END)`,
        type: 'numeric',
        nulls: 'maybe',
      };
    default:
      return {
        sql: `(CASE WHEN jsonb_typeof(${expr}) = 'string' THEN ${expr} #>> '{}' END)`,
        type: 'text',
        nulls: 'maybe',
      };
  }
}

/** Display of a member: a user's non-empty displayName else its userName; a group's displayName. */
function memberDisplay(m: string, n: number): string {
  const u = `${m}_u${n}`;
  const g = `${m}_g${n}`;
  const userDisplay = `NULLIF(CASE WHEN jsonb_typeof(${u}.data->'displayName') = 'string' THEN ${u}.data->>'displayName' END, '')`;
  return (
    `(CASE ${m}.member_type WHEN 'User' THEN ` +
    `(SELECT COALESCE(${userDisplay}, ${u}.user_name) FROM directory_users ${u} ` +
    `WHERE ${u}.tenant_id = ${m}.tenant_id AND ${u}.user_id = ${m}.member_id) ` +
    `ELSE (SELECT ${g}.display_name FROM directory_groups ${g} ` +
    `WHERE ${g}.tenant_id = ${m}.tenant_id AND ${g}.group_id = ${m}.member_id) END)`
  );
}

/** The SQL value of a single-valued attribute in the current context (NULL if unassigned). */
export function valueOf(attr: ScalarAttr, ctx: Ctx): Value {
  const src = attr.source;
  switch (src.from) {
    case 'column':
      return {
        sql: `${ctx.alias}.${src.column}`,
        type: src.sqlType,
        nulls: src.notNull ? 'never' : 'column',
        ...(src.folded ? { folded: `${ctx.alias}.${src.folded}` } : {}),
      };
    case 'constant':
      if (!CONSTANTS.has(src.value)) throw new Error(`unexpected constant ${src.value}`);
      return { sql: `'${src.value}'`, type: 'text', nulls: 'never' };
    case 'json': {
      const root = ctx.element?.from === 'json' ? ctx.element.expr : `${ctx.alias}.data`;
      return jsonValue(jsonPath(root, src.keys), attr);
    }
    case 'membership':
      return membershipValue(src.field, ctx);
  }
}

function membershipValue(
  field: Extract<ScalarAttr['source'], { from: 'membership' }>['field'],
  ctx: Ctx,
): Value {
  if (ctx.element?.from !== 'membership') throw new Error('membership attribute outside [...]');
  const m = ctx.element.alias;
  if (field === 'group_id' || field === 'member_id') {
    return { sql: `${m}.${field}`, type: 'uuid', nulls: 'never' };
  }
  if (field === 'member_type') return { sql: `${m}.member_type`, type: 'text', nulls: 'never' };
  if (field === 'member_display') {
    return { sql: memberDisplay(m, ctx.next()), type: 'text', nulls: 'maybe' };
  }
  const g = `${m}_g${ctx.next()}`;
  return {
    sql:
      `(SELECT ${g}.display_name FROM directory_groups ${g} ` +
      `WHERE ${g}.tenant_id = ${m}.tenant_id AND ${g}.group_id = ${m}.group_id)`,
    type: 'text',
    nulls: 'maybe',
  };
}

/** Make a predicate over `v` true or false, never NULL (the bound value never is). */
function definite(v: Value, predicate: string): string {
  if (v.nulls === 'never') return predicate;
  if (v.nulls === 'column') return `(${v.sql} IS NOT NULL AND ${predicate})`;
  return `COALESCE(${predicate}, false)`;
}

/** LIKE pattern for co/sw/ew: the value's own %, _ and \ match literally (\ is LIKE's default escape). */
function likePattern(op: 'co' | 'sw' | 'ew', value: string): string {
  const escaped = value.replace(/[\\%_]/g, (c) => `\\${c}`);
  return op === 'sw' ? `${escaped}%` : op === 'ew' ? `%${escaped}` : `%${escaped}%`;
}

function compareSql(b: Extract<Bound, { k: 'cmp' }>, ctx: Ctx): string {
  const v = valueOf(b.attr, ctx);
  const op = SQL_OP[b.op];
  const bind = (x: Knex.RawBinding) => ctx.bindings.push(x);
  if (v.type === 'uuid' && b.op === 'eq') {
    // The stored text form is canonical lower case: only such a value can be equal, and
    // comparing as uuid lets the primary key / membership indexes serve `id eq`.
    const probe = b.attr.caseExact ? String(b.value) : String(b.value).toLowerCase();
    if (!CANONICAL_UUID.test(probe)) return 'false';
    bind(probe);
    return definite(v, `${v.sql} = ?::uuid`);
  }
  if (v.type === 'boolean' || v.type === 'timestamptz' || v.type === 'numeric') {
    bind(b.value);
    return definite(v, `${v.sql} ${op} ?::${v.type}`);
  }
  // Text (uuid compared as its text form). caseExact=false folds both sides with lower(),
  // the column through its stored folded form where it has one (`user_name_lower =
  // lower(?)` uses the unique index, under row-level security too); ordering is by code
  // point (COLLATE "C"), the same on every database and in the reference evaluator.
  const text = v.type === 'uuid' ? `${v.sql}::text` : v.sql;
  const column = b.attr.caseExact ? text : (v.folded ?? `lower(${text})`);
  const value = b.attr.caseExact ? '?::text' : 'lower(?::text)';
  if (b.op === 'co' || b.op === 'sw' || b.op === 'ew') {
    bind(likePattern(b.op, String(b.value)));
    return definite(v, `${column} LIKE ${value}`);
  }
  bind(String(b.value));
  const collate = b.op === 'eq' ? '' : ' COLLATE "C"';
  return definite(v, `${column}${collate} ${op} ${value}`);
}

function presentSql(attr: ScalarAttr, ctx: Ctx): string {
  const v = valueOf(attr, ctx);
  if (v.type !== 'text') return v.nulls === 'never' ? 'true' : `(${v.sql} IS NOT NULL)`;
  return definite(v, `${v.sql} <> ''`);
}

function anySql(b: Extract<Bound, { k: 'any' }>, ctx: Ctx): string {
  const src = b.attr.source;
  const n = ctx.next();
  if (src.from === 'json') {
    const e = `${ctx.alias}_e${n}`;
    const arr = jsonPath(`${ctx.alias}.data`, src.keys);
    const where = toSql(b.where, { ...ctx, element: { from: 'json', expr: `${e}.v` } });
    return (
      `EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${arr}) = 'array' THEN ${arr} END) ` +
      `AS ${e}(v) WHERE ${where})`
    );
  }
  const m = `${ctx.alias}_m${n}`;
  const owner =
    src.rel === 'groups'
      ? `${m}.member_id = ${ctx.alias}.user_id AND ${m}.member_type = 'User'`
      : `${m}.group_id = ${ctx.alias}.group_id`;
  const where = toSql(b.where, { ...ctx, element: { from: 'membership', alias: m } });
  return (
    `EXISTS (SELECT 1 FROM directory_memberships ${m} ` +
    `WHERE ${m}.tenant_id = ${ctx.alias}.tenant_id AND ${owner} AND ${where})`
  );
}

function toSql(b: Bound, ctx: Ctx): string {
  switch (b.k) {
    case 'and':
    case 'or':
      return `(${b.items.map((i) => toSql(i, ctx)).join(b.k === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `(NOT ${toSql(b.item, ctx)})`;
    case 'cmp':
      return compareSql(b, ctx);
    case 'pr':
      return presentSql(b.attr, ctx);
    case 'any':
      return anySql(b, ctx);
  }
}

export function newContext(alias: string): Ctx {
  let n = 0;
  return { alias: checkAlias(alias), bindings: [], next: () => (n += 1) };
}

/** Translate a bound filter for rows of the resource table known as `alias`. */
export function boundToSql(b: Bound, alias: string): SqlFragment {
  const ctx = newContext(alias);
  const sql = toSql(b, ctx);
  return { sql, bindings: ctx.bindings };
}
