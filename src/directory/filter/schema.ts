// The attribute tables for filters, built once from scimmy's schema definitions (types,
// multiValued, caseExact) and mapped onto the directory tables' storage (see the
// directory migration): the attributes that have a column of their own, the ones in the
// `data` jsonb (extension attributes under their schema URN), and the memberships. The
// common attributes scimmy keeps out of describe() (id, externalId, meta) follow
// RFC 7643 §3.1.
import SCIMMY from 'scimmy';
import type {
  Attr,
  SchemaTable,
  ScalarAttr,
  ScalarSource,
  ScimResourceKind,
  SimpleType,
} from './attribute-types.js';

interface Definition {
  name: string;
  type: string;
  multiValued: boolean;
  caseExact?: boolean;
  returned?: string;
  subAttributes?: Definition[];
}

// Keys are interpolated into SQL string literals (`->'name'`): refuse anything but the
// characters attribute names and schema URNs are made of, whatever the schema says.
const SAFE_KEY = /^[A-Za-z0-9:._$-]+$/;
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
  folded?: string,
): ScalarAttr => ({
  shape: 'scalar',
  path,
  type,
  caseExact,
  json,
  // external_id is the one nullable column (see the directory migration).
  source: {
    from: 'column',
    column: col,
    sqlType,
    notNull: col !== 'external_id',
    ...(folded ? { folded } : {}),
  },
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
      column(
        'userName',
        'user_name',
        'text',
        'string',
        userName.caseExact,
        undefined,
        'user_name_lower',
      ),
    );
    core.attrs.set('active', column('active', 'active', 'boolean', 'boolean', true));
    membership(core, 'groups');
  } else {
    const displayName = core.attrs.get('displayname');
    if (displayName?.shape !== 'scalar') throw new Error('Group schema changed');
    core.attrs.set(
      'displayname',
      column(
        'displayName',
        'display_name',
        'text',
        'string',
        displayName.caseExact,
        undefined,
        'display_name_lower',
      ),
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
export const TABLES: Record<ScimResourceKind, SchemaTable[]> = {
  User: buildTables('User'),
  Group: buildTables('Group'),
};
