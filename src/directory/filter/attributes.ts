// Attribute resolution: which attribute a filter's attrPath names, what its type is, and
// where its values live (a column of directory_users/directory_groups, a key path in the
// `data` jsonb, a membership row, or a constant). The tables are built in schema.ts from
// scimmy's definitions; only names found there ever reach SQL: a path is looked up,
// never copied.
import { AppError } from '../../shared/errors.js';
import { echo, invalidFilter } from './errors.js';
import { TABLES } from './schema.js';

import type {
  Attr,
  ComplexAttr,
  MultiAttr,
  ScalarAttr,
  SchemaTable,
  ScimResourceKind,
} from './attribute-types.js';

const ATTR_NAME = /^(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)$/;

export interface Resolved {
  attr: Attr;
  /** Set when the path names a sub-attribute of a multi-valued attribute (emails.type). */
  sub?: ScalarAttr;
}

function findSub(subs: ScalarAttr[], name: string): ScalarAttr | undefined {
  const lower = name.toLowerCase();
  return subs.find((s) => (s.json[s.json.length - 1] ?? '').toLowerCase() === lower);
}

function unknown(path: string, table: SchemaTable | undefined, key: string): never {
  // RFC 7644 §3.12 and §7.5.2: a password in a filter is sensitive data in a request
  // (often a URI): 403 sensitive, not a mere invalid filter.
  if (key === 'password') {
    throw new AppError('sensitive', 'filters on password are refused: it is sensitive data', {
      status: 403,
      detail: { scimType: 'sensitive' },
    });
  }
  if (table?.unfilterable.has(key))
    throw invalidFilter(`attribute ${echo(path)} cannot be used in a filter`);
  throw invalidFilter(`unknown attribute ${echo(path)}`);
}

/**
 * Resolve `[URN ":"] attrName ["." subAttr]` (RFC 7644 §3.10), case-insensitively.
 * Extension attributes need their URN prefix; core ones may have it.
 */
export function resolvePath(kind: ScimResourceKind, path: string): Resolved {
  const tables = TABLES[kind];
  const colon = path.lastIndexOf(':');
  let table = tables[0];
  if (colon >= 0) {
    const urn = path.slice(0, colon).toLowerCase();
    table = tables.find((t) => t.urn.toLowerCase() === urn);
    if (!table) throw invalidFilter(`unknown schema in attribute ${echo(path)}`);
  }
  const names = path.slice(colon + 1).split('.');
  if (names.length > 2 || !names.every((n) => ATTR_NAME.test(n))) unknown(path, undefined, '');
  const [name = '', subName] = names;
  const attr = table?.attrs.get(name.toLowerCase());
  if (!attr) unknown(path, table, name.toLowerCase());
  if (subName === undefined) return { attr };
  if (attr.shape === 'scalar') unknown(path, table, '');
  const sub = findSub(attr.subs, subName);
  if (!sub) unknown(path, table, `${name}.${subName}`.toLowerCase());
  return attr.shape === 'complex' ? { attr: sub } : { attr, sub };
}

/** Resolve a bare sub-attribute name inside `attr[...]` (RFC 7644 valFilter). */
export function resolveSub(
  kind: ScimResourceKind,
  parent: ComplexAttr | MultiAttr,
  name: string,
): ScalarAttr {
  const sub = ATTR_NAME.test(name) ? findSub(parent.subs, name) : undefined;
  if (sub) return sub;
  const table = TABLES[kind].find((t) => [...t.attrs.values()].includes(parent));
  const top = parent.path.slice(parent.path.lastIndexOf(':') + 1);
  return unknown(`${parent.path}.${name}`, table, `${top}.${name}`.toLowerCase());
}
