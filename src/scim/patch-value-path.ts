// PATCH operations whose path selects values of a multi-valued attribute,
// `emails[type eq "work" and value ew "@old.example"].value` (RFC 7644 §3.5.2), decided
// by our filter evaluator one element at a time, then handed to scimmy as a plain
// replacement of the whole attribute. scimmy's own matching gets compound filters wrong:
// with `or` it dropped the sub-attribute of one matching element instead of setting it.
import { matchesElement, parsePatchPath } from '../directory/index.js';
import type { PatchOperation } from './patch-operation.js';
import { CORE_GROUP, CORE_USER, type ResourceKind } from './schemas.js';

type Json = Record<string, unknown>;

/** The key under which `attrPath` (any case, core URN prefix allowed) sits in `resource`. */
function keyOf(kind: ResourceKind, resource: Json, attrPath: string): string | undefined {
  const core = `${kind === 'User' ? CORE_USER : CORE_GROUP}:`.toLowerCase();
  const name = attrPath.toLowerCase().startsWith(core) ? attrPath.slice(core.length) : attrPath;
  if (name.includes(':') || name.includes('.')) return undefined;
  return Object.keys(resource).find((k) => k.toLowerCase() === name.toLowerCase());
}

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The same operation without a value filter, when its filter matches at least one value;
 * otherwise the operation unchanged (scimmy then answers what it always did: noTarget
 * for a replace, an added value for Entra's `add emails[type eq "work"].value`).
 */
export function resolveValuePath(
  kind: ResourceKind,
  op: PatchOperation,
  resource: Json,
): PatchOperation {
  if (op.path === undefined || !op.path.includes('[')) return op;
  let parsed;
  try {
    parsed = parsePatchPath(op.path);
  } catch {
    return op; // scimmy reports the bad path in its own words
  }
  const { attrPath, valFilter, subAttr } = parsed;
  const key = keyOf(kind, resource, attrPath);
  const values = key === undefined ? undefined : resource[key];
  if (!valFilter || key === undefined || !Array.isArray(values)) return op;
  let hits: boolean[];
  try {
    hits = values.map((v) => matchesElement(valFilter, attrPath, v, kind));
  } catch {
    return op;
  }
  if (!hits.includes(true)) return op;

  const sub = (el: Json) =>
    Object.keys(el).find((k) => k.toLowerCase() === subAttr!.toLowerCase()) ?? subAttr!;
  let next: unknown[];
  if (op.op === 'remove') {
    next = subAttr
      ? values.map((v, i) => {
          if (!hits[i] || !isObject(v)) return v;
          const { [sub(v)]: _gone, ...rest } = v;
          return rest;
        })
      : values.filter((_, i) => !hits[i]);
  } else if (subAttr) {
    // add and replace alike set the sub-attribute of every matching value (§3.5.2.1, .3).
    next = values.map((v, i) => (hits[i] && isObject(v) ? { ...v, [sub(v)]: op.value } : v));
  } else if (op.op === 'replace' && isObject(op.value)) {
    next = values.map((v, i) => (hits[i] ? op.value : v));
  } else {
    return op;
  }
  return next.length === 0
    ? { op: 'remove', path: key }
    : { op: 'replace', path: key, value: next };
}
