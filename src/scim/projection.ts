// attributes / excludedAttributes (RFC 7644 §3.9, §3.4.2.5). Names are case-insensitive,
// may carry their schema URN, and may name a sub-attribute ("name.givenName",
// "emails.value"). `id` and `schemas` are always returned.
import { CORE_GROUP, CORE_USER, type ResourceKind } from './schemas.js';
import { ENTERPRISE_USER, matchesElement, parsePatchPath } from '../directory/index.js';
import { scimError } from './errors.js';

type Json = Record<string, unknown>;

/** A path as [top-level key, sub-attribute?], with top-level keys as they appear in resources. */
export function attributePath(raw: string, kind: ResourceKind): string[] {
  let s = raw.trim();
  const core = kind === 'User' ? CORE_USER : CORE_GROUP;
  if (s.toLowerCase().startsWith(`${core.toLowerCase()}:`)) s = s.slice(core.length + 1);
  if (kind === 'User' && s.toLowerCase().startsWith(ENTERPRISE_USER.toLowerCase())) {
    const rest = s.slice(ENTERPRISE_USER.length);
    if (rest === '') return [ENTERPRISE_USER];
    if (rest.startsWith(':')) return [ENTERPRISE_USER, ...rest.slice(1).split('.')];
  }
  return s.split('.');
}

const findKey = (obj: Json, name: string) =>
  Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());

/** The value at `path`, keeping its shape: pick(u, ['name','givenName']) = {name: {givenName}}. */
function pick(src: unknown, path: string[]): unknown {
  if (path.length === 0) return src;
  if (src === null || typeof src !== 'object') return undefined;
  // Elements without the sub-attribute stay as {} so that two sub-attributes of one
  // multi-valued attribute (emails.value, emails.type) merge element by element.
  if (Array.isArray(src)) return src.map((e) => pick(e, path) ?? {});
  const key = findKey(src as Json, path[0]!);
  if (key === undefined) return undefined;
  const value = pick((src as Json)[key], path.slice(1));
  return value === undefined ? undefined : { [key]: value };
}

const isEmptyObject = (v: unknown) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;

function clean(value: unknown): unknown {
  if (Array.isArray(value)) {
    const kept = value.map(clean).filter((v) => !isEmptyObject(v));
    return kept;
  }
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clean(v)]));
  return value;
}

function merge(into: Json, key: string, value: unknown) {
  const existing = into[key];
  if (
    existing &&
    typeof existing === 'object' &&
    !Array.isArray(existing) &&
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value)
  ) {
    into[key] = { ...(existing as Json), ...(value as Json) };
  } else if (Array.isArray(existing) && Array.isArray(value)) {
    into[key] = existing.map((e, i) => ({ ...(e as Json), ...(value[i] as Json) }));
  } else {
    into[key] = value;
  }
}

function remove(obj: unknown, path: string[]): void {
  if (obj === null || typeof obj !== 'object') return;
  if (Array.isArray(obj)) return obj.forEach((e) => remove(e, path));
  const key = findKey(obj as Json, path[0]!);
  if (key === undefined) return;
  if (path.length === 1) delete (obj as Json)[key];
  else remove((obj as Json)[key], path.slice(1));
}

const ALWAYS = new Set(['id', 'schemas']);

interface ValuePath {
  /** The multi-valued attribute, as its path names it (a top-level attribute). */
  name: string;
  valFilter: NonNullable<ReturnType<typeof parsePatchPath>['valFilter']>;
  subAttr?: string | undefined;
}

/**
 * `emails[type eq "work"]` or `emails[type eq "work"].value` in attributes or
 * excludedAttributes (issue 16; Entra ID asks for them): the elements of a multi-valued
 * attribute that match, or one sub-attribute of those. null for a plain attribute path.
 */
function valuePathOf(raw: string, kind: ResourceKind): ValuePath | null {
  if (!raw.includes('[')) return null;
  const { attrPath, valFilter, subAttr } = parsePatchPath(raw.trim());
  const path = attributePath(attrPath, kind);
  if (!valFilter || path.length !== 1)
    throw scimError(400, 'invalidValue', `"[...]" applies to a multi-valued attribute: ${raw}`);
  // Bound once against an empty element: names the attribute does not have are a 400
  // (invalidFilter) whatever the resource holds.
  matchesElement(valFilter, path[0]!, {}, kind);
  return { name: path[0]!, valFilter, subAttr };
}

/** The indexes of `values` that the value path's filter matches. */
function matching(vp: ValuePath, values: unknown[], kind: ResourceKind): boolean[] {
  return values.map((v) => matchesElement(vp.valFilter, vp.name, v, kind));
}

export function project(
  resource: Json,
  kind: ResourceKind,
  attributes?: string[],
  excluded?: string[],
): Json {
  if (attributes && attributes.length) {
    const out: Json = { schemas: resource.schemas, id: resource.id };
    for (const raw of attributes) {
      const vp = valuePathOf(raw, kind);
      if (vp) {
        const key = findKey(resource, vp.name);
        const values = key === undefined ? undefined : resource[key];
        if (!Array.isArray(values)) continue;
        const hits = matching(vp, values, kind);
        const kept = values.filter((_, i) => hits[i]);
        if (kept.length === 0) continue;
        merge(out, key!, vp.subAttr ? kept.map((v) => pick(v, [vp.subAttr!]) ?? {}) : kept);
        continue;
      }
      const path = attributePath(raw, kind);
      const key = findKey(resource, path[0]!);
      if (!key || ALWAYS.has(key)) continue;
      const picked = pick(resource, [key, ...path.slice(1)]) as Json | undefined;
      if (picked === undefined) continue;
      merge(out, key, picked[key]);
    }
    return clean(out) as Json;
  }
  if (excluded && excluded.length) {
    const out = structuredClone(resource);
    for (const raw of excluded) {
      const vp = valuePathOf(raw, kind);
      if (vp) {
        const key = findKey(out, vp.name);
        const values = key === undefined ? undefined : out[key];
        if (!Array.isArray(values)) continue;
        const hits = matching(vp, values, kind);
        if (vp.subAttr) values.forEach((v, i) => hits[i] && remove(v, [vp.subAttr!]));
        else out[key!] = values.filter((_, i) => !hits[i]);
        continue;
      }
      const path = attributePath(raw, kind);
      if (path.length === 1 && ALWAYS.has(path[0]!.toLowerCase())) continue;
      remove(out, path);
    }
    return out;
  }
  return resource;
}

/** Whether the projection needs an attribute at all (lets lists skip loading members). */
export function wants(
  attr: string,
  kind: ResourceKind,
  attributes?: string[],
  excluded?: string[],
): boolean {
  const top = (raw: string) => raw.split('[')[0]!;
  const is = (raw: string) =>
    attributePath(top(raw), kind)[0]!.toLowerCase() === attr.toLowerCase();
  if (attributes && attributes.length) return attributes.some(is);
  if (excluded && excluded.length)
    return !excluded.some(
      (raw) => is(raw) && !raw.includes('[') && attributePath(raw, kind).length === 1,
    );
  return true;
}

/** Split on commas outside "[...]" and string literals (a value path's filter may hold them). */
function splitList(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i += 1;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '[') depth += 1;
    else if (c === ']') depth -= 1;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

export function parseAttributeList(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const list = Array.isArray(raw) ? raw.map(String) : splitList(String(raw));
  const names = list.map((s) => s.trim()).filter(Boolean);
  return names.length ? names : undefined;
}
