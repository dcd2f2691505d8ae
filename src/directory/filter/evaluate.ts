// Reference evaluator: does a resource, in the SCIM JSON a client sees (id, meta.created
// and meta.lastModified as xsd:dateTime strings, groups/members as arrays of
// {value, display, type}), match a filter? Written from RFC 7644 §3.4.2.2 and the
// decisions documented in bind.ts, independently of the SQL; the property test holds
// the two to the same answers. Not scimmy's match (see STACK.md for its defects).
//
// Attribute names are resolved case-insensitively in the filter, but the resource is read
// with the canonical names (as the service writes and returns them), like the SQL reads
// `data`. String case folding is per code point (PostgreSQL's lower() under a UTF-8
// ctype, which ignores the context-dependent rules of JavaScript's toLowerCase), and
// ordering is by code point (COLLATE "C").
import type { ScalarAttr, ScimResourceKind } from './attribute-types.js';
import { bindFilter, bindValueFilter, type Bound } from './bind.js';
import { parseDateTime } from './datetime.js';
import type { FilterNode } from './parse.js';

type Typed = string | number | boolean | bigint;

function get(value: unknown, keys: string[]): unknown {
  let v = value;
  for (const key of keys) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, key))
      return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** The attribute's value if it has the attribute's JSON type, else undefined (unassigned). */
function read(attr: ScalarAttr, context: unknown): Typed | undefined {
  const v = get(context, attr.json);
  switch (attr.type) {
    case 'boolean':
      return typeof v === 'boolean' ? v : undefined;
    case 'integer':
    case 'decimal':
      return typeof v === 'number' ? v : undefined;
    case 'dateTime':
      return typeof v === 'string' ? parseDateTime(v)?.micros : undefined;
    default:
      return typeof v === 'string' ? v : undefined;
  }
}

/** Lower case per code point: 'İ' → 'i' and 'Σ' → 'σ', as PostgreSQL's lower() does. */
export function fold(s: string): string {
  return Array.from(s, (ch) => (ch === '\u0130' ? 'i' : ch.toLowerCase())).join('');
}

/** Compare by Unicode code point (= UTF-8 byte order = COLLATE "C"), not UTF-16 unit. */
export function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(j) ?? 0;
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return i < a.length ? 1 : j < b.length ? -1 : 0;
}

function ordered(cmp: number, op: string): boolean {
  return op === 'gt' ? cmp > 0 : op === 'ge' ? cmp >= 0 : op === 'lt' ? cmp < 0 : cmp <= 0;
}

function compare(b: Extract<Bound, { k: 'cmp' }>, context: unknown): boolean {
  const actual = read(b.attr, context);
  if (actual === undefined) return false;
  if (typeof actual === 'boolean') return actual === b.value;
  if (typeof actual === 'number' || typeof actual === 'bigint') {
    const expected =
      typeof actual === 'bigint' ? parseDateTime(String(b.value))?.micros : Number(b.value);
    if (expected === undefined) return false;
    const cmp = actual < expected ? -1 : actual > expected ? 1 : 0;
    return b.op === 'eq' ? cmp === 0 : ordered(cmp, b.op);
  }
  const x = b.attr.caseExact ? actual : fold(actual);
  const y = b.attr.caseExact ? String(b.value) : fold(String(b.value));
  switch (b.op) {
    case 'eq':
      return x === y;
    case 'co':
      return x.includes(y);
    case 'sw':
      return x.startsWith(y);
    case 'ew':
      return x.endsWith(y);
    default:
      return ordered(compareCodePoints(x, y), b.op);
  }
}

/** RFC 7644 §3.4.2.2 pr: a non-empty value ("" is empty; false and 0 are values). */
function present(attr: ScalarAttr, context: unknown): boolean {
  const v = read(attr, context);
  return v !== undefined && v !== '';
}

export function evaluateBound(b: Bound, context: unknown): boolean {
  switch (b.k) {
    case 'and':
      return b.items.every((i) => evaluateBound(i, context));
    case 'or':
      return b.items.some((i) => evaluateBound(i, context));
    case 'not':
      return !evaluateBound(b.item, context);
    case 'cmp':
      return compare(b, context);
    case 'pr':
      return present(b.attr, context);
    case 'any': {
      const elements = get(context, b.attr.json);
      return Array.isArray(elements) && elements.some((e) => evaluateBound(b.where, e));
    }
  }
}

/** Does `resource` (SCIM JSON) match the parsed filter? Throws invalid_filter like filterToSql. */
export function matches(node: FilterNode, resource: object, kind: ScimResourceKind): boolean {
  return evaluateBound(bindFilter(node, kind), resource);
}

/**
 * Does one element of the multi-valued attribute `attrPath` match the filter of a PATCH
 * path `attrPath[valFilter]`? (Which emails does `emails[type eq "work"]` address?)
 */
export function matchesElement(
  valFilter: FilterNode,
  attrPath: string,
  element: unknown,
  kind: ScimResourceKind,
): boolean {
  return evaluateBound(bindValueFilter(valFilter, kind, attrPath), element);
}
