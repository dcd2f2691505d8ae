// FilterNode + resource kind → Bound: every attribute resolved, every operator and value
// checked against the attribute's type, and the filter reduced to a few primitives that
// the SQL translator and the reference evaluator both implement. The meaning decisions
// live here, once:
//
//  - A path through a multi-valued attribute means "some element": `emails.type eq "work"`
//    is `emails[type eq "work"]` (RFC 7644 §3.4.2.2: "the filter matches if any of the
//    values of the specified attribute match"); `emails co "x"` compares emails.value.
//  - `A ne v` is `not (A eq v)` in the context A is read in. On a single-valued attribute
//    that is the RFC's "not identical": an unassigned attribute (null, RFC 7643 §2.5) is
//    not identical to any value, so `title ne "x"` matches users without a title. Through
//    a multi-valued attribute it is per element: `emails.type ne "work"` is
//    `emails[not (type eq "work")]`, "some email that isn't a work one" (none without
//    emails); "no work email" is `not (emails.type eq "work")`.
//  - `A eq null` is `not (A pr)` and `A ne null` is `A pr` (null means unassigned); other
//    operators with null are refused.
//  - `pr` needs a non-empty value: not null, not "", not [], and for a complex value at
//    least one sub-attribute that is itself present.
//  - A value whose JSON type is not the attribute's type (a number in a string attribute,
//    "true" in a boolean one) is treated as unassigned.
import type {
  ComplexAttr,
  MultiAttr,
  ScalarAttr,
  ScimResourceKind,
  SimpleType,
} from './attribute-types.js';
import { resolvePath, resolveSub } from './attributes.js';
import { parseDateTime } from './datetime.js';
import { echo, invalidFilter } from './errors.js';
import type { CompareOp, CompValue, FilterNode } from './parse.js';

export type PrimitiveOp = Exclude<CompareOp, 'ne'>;

export type Bound =
  | { k: 'and' | 'or'; items: Bound[] }
  | { k: 'not'; item: Bound }
  /** value: a string, number or boolean of the attribute's type; dateTime as canonical text. */
  | { k: 'cmp'; attr: ScalarAttr; op: PrimitiveOp; value: string | number | boolean }
  | { k: 'pr'; attr: ScalarAttr }
  /** Some element of a multi-valued attribute satisfies `where` (read in the element). */
  | { k: 'any'; attr: MultiAttr; where: Bound };

/** Inside `attr[...]`, names are sub-attributes of that attribute. */
type Scope = { kind: ScimResourceKind; parent?: ComplexAttr | MultiAttr };

type Target =
  | { shape: 'scalar'; attr: ScalarAttr }
  | { shape: 'complex'; attr: ComplexAttr }
  | { shape: 'multi'; attr: MultiAttr; sub?: ScalarAttr };

const ORDERING: PrimitiveOp[] = ['gt', 'ge', 'lt', 'le'];
const ALLOWED: Record<SimpleType, readonly CompareOp[]> = {
  string: ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'],
  reference: ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'],
  // RFC 7644 §3.4.2.2: gt/ge/lt/le on boolean or binary is invalidFilter; co/sw/ew make
  // no sense on them either (nor on numbers and times, whose text form is not canonical).
  binary: ['eq', 'ne'],
  boolean: ['eq', 'ne'],
  integer: ['eq', 'ne', ...ORDERING],
  decimal: ['eq', 'ne', ...ORDERING],
  dateTime: ['eq', 'ne', ...ORDERING],
};

const or = (items: Bound[]): Bound =>
  items.length === 1 && items[0] ? items[0] : { k: 'or', items };

function target(path: string, scope: Scope): Target {
  if (scope.parent) {
    const attr = resolveSub(scope.kind, scope.parent, path);
    return { shape: 'scalar', attr };
  }
  const { attr, sub } = resolvePath(scope.kind, path);
  if (attr.shape === 'multi') return sub ? { shape: 'multi', attr, sub } : { shape: 'multi', attr };
  return attr.shape === 'scalar' ? { shape: 'scalar', attr } : { shape: 'complex', attr };
}

/** The element is non-empty: some sub-attribute is present (a membership always is). */
function elementPresent(attr: MultiAttr): Bound {
  const value = attr.subs.find((s) => s.json[0] === 'value');
  if (attr.source.from === 'membership' && value) return { k: 'pr', attr: value };
  return or(attr.subs.map((s): Bound => ({ k: 'pr', attr: s })));
}

function present(t: Target): Bound {
  if (t.shape === 'scalar') return { k: 'pr', attr: t.attr };
  if (t.shape === 'complex') return or(t.attr.subs.map((s): Bound => ({ k: 'pr', attr: s })));
  return {
    k: 'any',
    attr: t.attr,
    where: t.sub ? { k: 'pr', attr: t.sub } : elementPresent(t.attr),
  };
}

function describeValue(v: CompValue): string {
  return typeof v === 'string' ? echo(v) : String(v);
}

/** Check the value against the attribute's type; returns the value the primitives use. */
function checkValue(attr: ScalarAttr, v: CompValue): string | number | boolean {
  const wrong = (want: string) =>
    invalidFilter(
      `attribute ${echo(attr.path)} is ${attr.type}: expected ${want}, got ${describeValue(v)}`,
    );
  switch (attr.type) {
    case 'boolean':
      if (typeof v !== 'boolean') throw wrong('true or false');
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw wrong('an integer');
      return v;
    case 'decimal':
      if (typeof v !== 'number') throw wrong('a number');
      return v;
    case 'dateTime': {
      const instant = typeof v === 'string' ? parseDateTime(v) : undefined;
      if (!instant) throw wrong('an xsd:dateTime string such as "2026-01-31T12:00:00Z"');
      return instant.text;
    }
    default:
      if (typeof v !== 'string') throw wrong('a string');
      // PostgreSQL text cannot hold NUL or unpaired surrogates: refuse rather than fail in SQL.
      if (v.includes('\u0000') || /\p{Cs}/u.test(v))
        throw invalidFilter('string value is not valid text');
      return v;
  }
}

function compareScalar(attr: ScalarAttr, op: CompareOp, v: CompValue): Bound {
  if (!ALLOWED[attr.type].includes(op)) {
    throw invalidFilter(
      `operator "${op}" cannot be used on ${attr.type} attribute ${echo(attr.path)}`,
    );
  }
  const value = checkValue(attr, v);
  if (op === 'ne') return { k: 'not', item: { k: 'cmp', attr, op: 'eq', value } };
  return { k: 'cmp', attr, op, value };
}

/** `manager eq "x"`, `emails co "x"`: a complex attribute compares its value sub-attribute. */
function valueSub(attr: ComplexAttr | MultiAttr): ScalarAttr {
  const sub = attr.subs.find((s) => s.json[s.json.length - 1] === 'value');
  if (!sub)
    throw invalidFilter(
      `attribute ${echo(attr.path)} is complex: compare one of its sub-attributes`,
    );
  return sub;
}

function compare(path: string, op: CompareOp, v: CompValue, scope: Scope): Bound {
  const t = target(path, scope);
  if (v === null) {
    if (op === 'eq') return { k: 'not', item: present(t) };
    if (op === 'ne') return present(t);
    throw invalidFilter(`operator "${op}" cannot compare with null`);
  }
  if (t.shape === 'scalar') return compareScalar(t.attr, op, v);
  if (t.shape === 'complex') return compareScalar(valueSub(t.attr), op, v);
  return { k: 'any', attr: t.attr, where: compareScalar(t.sub ?? valueSub(t.attr), op, v) };
}

function bindNode(node: FilterNode, scope: Scope): Bound {
  switch (node.op) {
    case 'and':
    case 'or':
      return { k: node.op, items: node.filters.map((f) => bindNode(f, scope)) };
    case 'not':
      return { k: 'not', item: bindNode(node.filter, scope) };
    case 'pr':
      return present(target(node.attrPath, scope));
    case '[]': {
      const t = scope.parent ? undefined : target(node.attrPath, scope);
      if (!t || t.shape === 'scalar' || (t.shape === 'multi' && t.sub)) {
        throw invalidFilter(`"[...]" needs a complex attribute, not ${echo(node.attrPath)}`);
      }
      if (t.shape === 'complex')
        return bindNode(node.valFilter, { kind: scope.kind, parent: t.attr });
      return {
        k: 'any',
        attr: t.attr,
        where: bindNode(node.valFilter, { kind: scope.kind, parent: t.attr }),
      };
    }
    default:
      return compare(node.attrPath, node.op, node.compValue, scope);
  }
}

/** Resolve and type-check a parsed filter for one resource kind. */
export function bindFilter(node: FilterNode, kind: ScimResourceKind): Bound {
  return bindNode(node, { kind });
}

/**
 * Bind the filter of a PATCH path `attr[valFilter]` (RFC 7644 §3.5.2) to be read in one
 * element of the multi-valued attribute `attrPath`.
 */
export function bindValueFilter(
  valFilter: FilterNode,
  kind: ScimResourceKind,
  attrPath: string,
): Bound {
  const t = target(attrPath, { kind });
  if (t.shape !== 'multi' || t.sub) {
    throw invalidFilter(`"[...]" needs a multi-valued attribute, not ${echo(attrPath)}`);
  }
  return bindNode(valFilter, { kind, parent: t.attr });
}
