// SCIM resource schemas (RFC 7643 §4, §8.7.1) come from scimmy: User with the enterprise
// extension, and Group. This module turns request bodies into the stored form and back,
// and bends the schema only where real identity providers send less than strict JSON.
import { LIMITS_SCHEMA, MAX_INDEXED_TEXT_LENGTH } from './limits.js';
import SCIMMY from 'scimmy';
import { scimError } from './errors.js';
import { plainUser } from './plain-user.js';

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
import { ENTERPRISE_USER } from '../directory/index.js';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

// scimmy types want a Schema instance; its runtime takes the class (as its own docs do).
SCIMMY.Schemas.User.extend(SCIMMY.Schemas.EnterpriseUser as never, false);

export type ResourceKind = 'User' | 'Group';

// Bodies are validated by the schema definitions' own coercion, which is what a
// `new SCIMMY.Schemas.User(body)` runs too; the instance would then define an accessor
// per attribute and coerce every value a second time through them, which doubled the
// CPU a create costs, for an object we only read once.
const USER_DEFINITION = SCIMMY.Schemas.User.definition as unknown as {
  coerce(data: object, direction: 'in'): Record<string, unknown>;
};
const GROUP_DEFINITION = SCIMMY.Schemas.Group.definition as unknown as typeof USER_DEFINITION;

interface AttributeDescription {
  name: string;
  type: string;
  multiValued: boolean;
  subAttributes?: AttributeDescription[];
  mutability?: string;
}

const userAttributes = SCIMMY.Schemas.User.definition.describe()
  .attributes as AttributeDescription[];
const enterpriseAttributes = SCIMMY.Schemas.EnterpriseUser.definition.describe()
  .attributes as AttributeDescription[];
const groupAttributes = SCIMMY.Schemas.Group.definition.describe()
  .attributes as AttributeDescription[];

/**
 * Entra ID sends booleans as the strings "True"/"False" (in PATCH values and sometimes in
 * bodies). Turn such strings into booleans where, and only where, the schema says boolean.
 */
function coerceBooleans(value: unknown, attributes: AttributeDescription[]): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const byName = byLowerName(attributes);
  for (const [key, v] of Object.entries(out)) {
    const lower = key.toLowerCase();
    const attr = byName.get(lower);
    if (lower === ENTERPRISE_LOWER) {
      out[key] = coerceBooleans(v, enterpriseAttributes);
    } else if (attr) {
      out[key] = coerceAttributeValue(v, attr);
    }
  }
  return out;
}

const ENTERPRISE_LOWER = ENTERPRISE_USER.toLowerCase();
// Attribute names are case-insensitive (RFC 7643 §2.1): one lookup table per attribute
// list, built on first use, instead of lower-casing every name for every key of a body.
const lowerNames = new WeakMap<AttributeDescription[], Map<string, AttributeDescription>>();
function byLowerName(attributes: AttributeDescription[]): Map<string, AttributeDescription> {
  let map = lowerNames.get(attributes);
  if (!map) {
    map = new Map(attributes.map((a) => [a.name.toLowerCase(), a]));
    lowerNames.set(attributes, map);
  }
  return map;
}

export function coerceAttributeValue(v: unknown, attr: AttributeDescription): unknown {
  if (attr.type === 'boolean' && typeof v === 'string' && /^(true|false)$/i.test(v))
    return v.toLowerCase() === 'true';
  if (attr.type === 'complex' && attr.subAttributes) {
    if (Array.isArray(v)) return v.map((e) => coerceBooleans(e, attr.subAttributes!));
    return coerceBooleans(v, attr.subAttributes);
  }
  return v;
}

export function attributesOf(kind: ResourceKind): AttributeDescription[] {
  return kind === 'User' ? userAttributes : groupAttributes;
}

export function coerceBooleanStrings(kind: ResourceKind, body: unknown): unknown {
  return coerceBooleans(body, attributesOf(kind));
}

export { enterpriseAttributes };

/** The stored form of a resource: SCIM JSON without id, meta, schemas and server-computed attributes. */
import type { StoredData } from '../directory/index.js';

const SERVER_MANAGED = new Set(['id', 'meta', 'schemas', 'password', 'groups', 'members']);

function stripServerManaged(obj: Record<string, unknown>): StoredData {
  const data: StoredData = {};
  for (const [k, v] of Object.entries(obj)) {
    if (SERVER_MANAGED.has(k) || v === undefined) continue;
    data[k] = v;
  }
  return data;
}

/** Indexed attributes stay within MAX_INDEXED_TEXT_LENGTH characters (code points). */
function checkIndexedLengths(data: StoredData, attributes: string[]) {
  for (const name of attributes) {
    const value = data[name];
    if (typeof value === 'string' && [...value].length > MAX_INDEXED_TEXT_LENGTH) {
      throw scimError(
        400,
        'invalidValue',
        `${name} must be at most ${MAX_INDEXED_TEXT_LENGTH} characters (ServiceProviderConfig, ${LIMITS_SCHEMA})`,
      );
    }
  }
}

/**
 * Validate a User body (POST, PUT) against the schema. Read-only attributes are ignored
 * (RFC 7644 §3.3), `password` is accepted and dropped (never stored, never returned).
 */
export function validateUser(body: unknown): StoredData {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw scimError(400, 'invalidSyntax', 'the request body must be a JSON object');
  }
  const input = coerceBooleanStrings('User', body) as Record<string, unknown>;
  const data = stripServerManaged(plainUser(input) ?? userThroughScimmy(input));
  if (typeof data.userName !== 'string' || data.userName.trim() === '') {
    throw scimError(400, 'invalidValue', 'userName is required and must not be empty');
  }
  checkIndexedLengths(data, ['userName', 'externalId']);
  return data;
}

/** A User body as scimmy's coercion validates it, as plain JSON. */
export function userThroughScimmy(input: Record<string, unknown>): StoredData {
  const schemas = Array.isArray(input.schemas) ? (input.schemas as unknown[]) : [CORE_USER];
  // Tolerate schema URIs we don't know (IdPs add their own); declare the ones we do.
  const known = [
    CORE_USER,
    ...(schemas.some((s) => String(s).toLowerCase() === ENTERPRISE_USER.toLowerCase()) ||
    input[ENTERPRISE_USER]
      ? [ENTERPRISE_USER]
      : []),
  ];
  let resource: Record<string, unknown>;
  try {
    resource = USER_DEFINITION.coerce({ ...input, schemas: known }, 'in');
  } catch (err) {
    throw scimError(400, 'invalidValue', (err as Error).message);
  }
  return JSON.parse(JSON.stringify(resource)) as Record<string, unknown>;
}

/** Validate a Group body (POST, PUT) without its members, which are stored apart. */
export function validateGroup(body: unknown): {
  data: StoredData;
  members: MemberRef[] | undefined;
} {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw scimError(400, 'invalidSyntax', 'the request body must be a JSON object');
  }
  const input = body as Record<string, unknown>;
  const members =
    input.members === undefined || input.members === null ? undefined : parseMembers(input.members);
  let resource: Record<string, unknown>;
  try {
    // Entra adds schema URIs of its own to groups: validate against the core schema alone.
    resource = GROUP_DEFINITION.coerce(
      { ...input, members: undefined, schemas: [CORE_GROUP] },
      'in',
    );
  } catch (err) {
    throw scimError(400, 'invalidValue', (err as Error).message);
  }
  const data = stripServerManaged(JSON.parse(JSON.stringify(resource)) as Record<string, unknown>);
  if (typeof data.displayName !== 'string' || data.displayName.trim() === '') {
    throw scimError(400, 'invalidValue', 'displayName is required and must not be empty');
  }
  checkIndexedLengths(data, ['displayName', 'externalId']);
  return { data, members };
}

export interface MemberRef {
  value: string;
  type?: 'User' | 'Group' | undefined;
}

/** Members as IdPs send them: `{value, type?, display?, $ref?}`; `$ref: null` is fine (Okta). */
export function parseMembers(raw: unknown): MemberRef[] {
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((m, i) => {
    if (
      m === null ||
      typeof m !== 'object' ||
      typeof (m as { value?: unknown }).value !== 'string'
    ) {
      throw scimError(400, 'invalidValue', `members[${i}] must be an object with a string "value"`);
    }
    const { value, type } = m as { value: string; type?: unknown };
    if (type !== undefined && type !== null && type !== 'User' && type !== 'Group') {
      throw scimError(400, 'invalidValue', `members[${i}].type must be "User" or "Group"`);
    }
    return { value, type: (type ?? undefined) as 'User' | 'Group' | undefined };
  });
}
