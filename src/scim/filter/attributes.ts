// Attribute resolution: which attribute a filter's attrPath names, what its type is, and
// where its values live (a column of directory_users/directory_groups, a key path in the
// `data` jsonb, a membership row, or a constant).
//
// Types, multiValued and caseExact come from scimmy's schema definitions; the common
// attributes scimmy keeps out of describe() (id, externalId, meta) follow RFC 7643 §3.1.
// Only names found in these tables ever reach SQL: a path is looked up, never copied.
import SCIMMY from 'scimmy';
import { echo, invalidFilter } from './errors.js';

export type ScimResourceKind = 'User' | 'Group';
export type SimpleType =
  'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'binary' | 'reference';

/** Where one value is read, relative to the context (the resource row or one element). */
export type ScalarSource =
  | {
      from: 'column';
      column: string;
      sqlType: 'text' | 'uuid' | 'boolean' | 'timestamptz';
      notNull: boolean;
    }
  | { from: 'constant'; value: string }
  | { from: 'json'; keys: string[] }
  | {
      from: 'membership';
      field: 'group_id' | 'member_id' | 'member_type' | 'group_display' | 'member_display';
    };

export interface ScalarAttr {
  shape: 'scalar';
  /** Canonical name, for messages ("emails.type", "urn:…:User:department"). */
  path: string;
  type: SimpleType;
  caseExact: boolean;
  /** Key path of the value in the SCIM JSON a client sees, relative to the context. */
  json: string[];
  source: ScalarSource;
}

/** A single-valued complex attribute (name, manager, meta). */
export interface ComplexAttr {
  shape: 'complex';
  path: string;
  json: string[];
  subs: ScalarAttr[];
}

/** A multi-valued complex attribute: elements are jsonb array items or membership rows. */
export interface MultiAttr {
  shape: 'multi';
  path: string;
  json: string[];
  source: { from: 'json'; keys: string[] } | { from: 'membership'; rel: 'groups' | 'members' };
  subs: ScalarAttr[];
}

export type Attr = ScalarAttr | ComplexAttr | MultiAttr;

interface Definition {
  name: string;
  type: string;
  multiValued: boolean;
  caseExact?: boolean;
  returned?: string;
  subAttributes?: Definition[];
}

interface SchemaTable {
  urn: string;
  /** Lower-cased top-level name → attribute; sub-attributes are found through it. */
  attrs: Map<string, Attr>;
  /** Lower-cased names that exist but cannot be filtered on (password, meta.location…). */
  unfilterable: Set<string>;
}

// Keys are interpolated into SQL string literals (`->'name'`): refuse anything but the
// characters attribute names and schema URNs are made of, whatever the schema says.
const SAFE_KEY = /^[A-Za-z0-9:._$-]+$/;
// RFC 7643 §2.1 ATTRNAME (plus "$ref"), ASCII only so that Unicode case folding of the
// request text can never turn a look-alike into a real name.
const ATTR_NAME = /^(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)$/;

const CORE_URN = {
  User: SCIMMY.Schemas.User.definition.id,
  Group: SCIMMY.Schemas.Group.definition.id,
};
const ENTERPRISE_URN = SCIMMY.Schemas.EnterpriseUser.definition.id;

function safeKey(key: string): string {
  if (!SAFE_KEY.test(key)) throw new Error(`unsafe attribute key in schema: ${key}`);
  return key;
}

function simpleType(def: Definition): SimpleType | undefined {
  const t = def.type;
  return t === 'string' ||
    t === 'boolean' ||
    t === 'decimal' ||
    t === 'integer' ||
    t === 'binary' ||
    t === 'reference'
    ? t
    : undefined; // dateTime in jsonb: no such attribute in these schemas; not filterable
}

/** A sub-attribute or top-level simple attribute stored in jsonb. */
function jsonScalar(
  def: Definition,
  path: string,
  json: string[],
  keys: string[],
): ScalarAttr | undefined {
  const type = simpleType(def);
  if (!type || def.returned === 'never') return undefined;
  const caseExact = def.caseExact ?? type === 'binary';
  return {
    shape: 'scalar',
    path,
    type,
    caseExact,
    json,
    source: { from: 'json', keys: keys.map(safeKey) },
  };
}

/** Turn scimmy attribute definitions into attributes stored under `prefix` in `data`. */
function fromDefinitions(
  defs: Definition[],
  prefix: string[],
  pathPrefix: string,
  table: SchemaTable,
): void {
  for (const def of defs) {
    const name = def.name;
    const path = pathPrefix + name;
    const json = [...prefix, name];
    if (def.type === 'complex') {
      const subs: ScalarAttr[] = [];
      for (const sub of def.subAttributes ?? []) {
        const inElement = def.multiValued;
        const s = jsonScalar(
          sub,
          `${path}.${sub.name}`,
          inElement ? [sub.name] : [...json, sub.name],
          inElement ? [sub.name] : [...json, sub.name],
        );
        if (s) subs.push(s);
        else table.unfilterable.add(`${name}.${sub.name}`.toLowerCase());
      }
      const attr: Attr = def.multiValued
        ? { shape: 'multi', path, json, source: { from: 'json', keys: json.map(safeKey) }, subs }
        : { shape: 'complex', path, json, subs };
      table.attrs.set(name.toLowerCase(), attr);
    } else if (!def.multiValued) {
      const s = jsonScalar(def, path, json, json);
      if (s) table.attrs.set(name.toLowerCase(), s);
      else table.unfilterable.add(name.toLowerCase());
    } else {
      // Multi-valued simple attributes: none in the User, EnterpriseUser or Group schemas.
      table.unfilterable.add(name.toLowerCase());
    }
  }
}

function describe(schema: { definition: { describe(): unknown } }): Definition[] {
  // describe() hands back Attribute instances; their JSON form is the plain definition.
  return (JSON.parse(JSON.stringify(schema.definition.describe())) as { attributes: Definition[] })
    .attributes;
}

const column = (
  path: string,
  col: string,
  sqlType: 'text' | 'uuid' | 'boolean' | 'timestamptz',
  type: SimpleType,
  caseExact: boolean,
  json: string[] = [path],
): ScalarAttr => ({
  shape: 'scalar',
  path,
  type,
  caseExact,
  json,
  // external_id is the one nullable column (see the directory migration).
  source: { from: 'column', column: col, sqlType, notNull: col !== 'external_id' },
});

/** RFC 7643 §3.1 common attributes; id and externalId are caseExact. */
function common(kind: ScimResourceKind, table: SchemaTable): void {
  const idColumn = kind === 'User' ? 'user_id' : 'group_id';
  table.attrs.set('id', column('id', idColumn, 'uuid', 'string', true));
  table.attrs.set('externalid', column('externalId', 'external_id', 'text', 'string', true));
  const meta = (sub: string) => ['meta', sub];
  table.attrs.set('meta', {
    shape: 'complex',
    path: 'meta',
    json: ['meta'],
    subs: [
      column('meta.created', 'created_at', 'timestamptz', 'dateTime', true, meta('created')),
      column(
        'meta.lastModified',
        'last_modified',
        'timestamptz',
        'dateTime',
        true,
        meta('lastModified'),
      ),
      {
        shape: 'scalar',
        path: 'meta.resourceType',
        type: 'string',
        caseExact: true,
        json: meta('resourceType'),
        source: { from: 'constant', value: kind },
      },
    ],
  });
  // Not stored as such (built from the request URL and the version counter).
  table.unfilterable.add('meta.location').add('meta.version');
}

/** Replace the subs of a membership-backed attribute (User.groups, Group.members). */
function membership(table: SchemaTable, name: 'groups' | 'members'): void {
  const attr = table.attrs.get(name);
  if (!attr || attr.shape !== 'multi') throw new Error(`schema has no multi-valued ${name}`);
  const field = (sub: string): ScalarSource | undefined => {
    if (sub === 'value')
      return { from: 'membership', field: name === 'groups' ? 'group_id' : 'member_id' };
    if (sub === 'display')
      return { from: 'membership', field: name === 'groups' ? 'group_display' : 'member_display' };
    // Only direct memberships are stored; RFC 7643 §4.1.2 labels them "direct".
    if (sub === 'type')
      return name === 'groups'
        ? { from: 'constant', value: 'direct' }
        : { from: 'membership', field: 'member_type' };
    return undefined; // $ref: a URL built from the request's base URL
  };
  const subs: ScalarAttr[] = [];
  for (const s of attr.subs) {
    const source = field(s.json[0] ?? '');
    if (source) subs.push({ ...s, source });
    else table.unfilterable.add(`${name}.${s.json[0]}`.toLowerCase());
  }
  table.unfilterable.add(`${name}.$ref`);
  table.attrs.set(name, { ...attr, source: { from: 'membership', rel: name }, subs });
}

function buildTables(kind: ScimResourceKind): SchemaTable[] {
  const core: SchemaTable = { urn: CORE_URN[kind], attrs: new Map(), unfilterable: new Set() };
  fromDefinitions(
    describe(kind === 'User' ? SCIMMY.Schemas.User : SCIMMY.Schemas.Group),
    [],
    '',
    core,
  );
  if (kind === 'User') {
    // Stored as columns, not in data: same type and caseExact, other source.
    const userName = core.attrs.get('username');
    const active = core.attrs.get('active');
    if (userName?.shape !== 'scalar' || active?.shape !== 'scalar')
      throw new Error('User schema changed');
    core.attrs.set(
      'username',
      column('userName', 'user_name', 'text', 'string', userName.caseExact),
    );
    core.attrs.set('active', column('active', 'active', 'boolean', 'boolean', true));
    membership(core, 'groups');
  } else {
    const displayName = core.attrs.get('displayname');
    if (displayName?.shape !== 'scalar') throw new Error('Group schema changed');
    core.attrs.set(
      'displayname',
      column('displayName', 'display_name', 'text', 'string', displayName.caseExact),
    );
    membership(core, 'members');
  }
  common(kind, core);
  if (kind === 'Group') return [core];
  const ext: SchemaTable = { urn: ENTERPRISE_URN, attrs: new Map(), unfilterable: new Set() };
  fromDefinitions(
    describe(SCIMMY.Schemas.EnterpriseUser),
    [safeKey(ENTERPRISE_URN)],
    `${ENTERPRISE_URN}:`,
    ext,
  );
  return [core, ext];
}

// Built once: the schemas are fixed for the life of the process.
const TABLES: Record<ScimResourceKind, SchemaTable[]> = {
  User: buildTables('User'),
  Group: buildTables('Group'),
};

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
