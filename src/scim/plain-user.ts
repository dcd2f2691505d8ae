// The common User body, validated without scimmy's coercion machinery, to the same result.
//
// scimmy validates a body by coercing it: for every complex value it builds an object
// with a getter and a setter per sub-attribute (and a lower-case alias of each), wraps
// every multi-valued one in a Proxy, and copies the body twice on the way. At 32
// connections that was a quarter of what a SCIM create cost the service (disabling it
// raised throughput by 25 %, bench/RESULTS.md §9), for bodies on which the coercion
// changes nothing but the case of attribute names.
//
// plainUser recognises exactly those bodies, reading scimmy's own attribute definitions:
// every value already of its attribute's type (strings, booleans, objects of them, arrays
// where the schema says multi-valued), canonical values where the schema has them, no
// nulls, no extension or URN-qualified keys, no reference, binary or dateTime values, and
// a meta only of the kind scimmy ignores. For such a body it returns what scimmy's
// coercion returns, less the schemas and meta that scimmy writes in itself (validateUser
// strips those, and password, from either); for anything else it returns null, and
// scimmy decides, errors included. test/unit/scim-plain-user.test.ts checks the two agree on
// random bodies, valid and not.
import SCIMMY from 'scimmy';

interface ScimmyAttribute {
  name: string;
  type: string;
  config: {
    multiValued?: boolean;
    required?: boolean;
    direction?: string;
    canonicalValues?: unknown[];
  };
  subAttributes?: ScimmyAttribute[];
}

/** An attribute plainUser keeps (after checking its value), or skips unread as scimmy does. */
interface Rule {
  attr: ScimmyAttribute;
  /** Outbound only (id, groups): scimmy skips it on the way in without reading it. */
  outbound: boolean;
  subs?: Map<string, ScimmyAttribute>;
}

let rules: Map<string, Rule> | undefined;
function rulesOf(): Map<string, Rule> {
  if (rules) return rules;
  rules = new Map();
  const attributes = (SCIMMY.Schemas.User.definition as unknown as { attributes: unknown[] })
    .attributes;
  for (const a of attributes) {
    const attr = a as ScimmyAttribute;
    // The extension is a schema definition among the attributes: its values come only
    // under URN keys, which plainUser leaves to scimmy.
    if (typeof attr.name !== 'string' || !attr.config) continue;
    const lower = attr.name.toLowerCase();
    if (lower === 'meta' || lower === 'schemas') continue; // handled below
    rules.set(lower, {
      attr,
      outbound: attr.config.direction === 'out',
      ...(attr.subAttributes
        ? { subs: new Map(attr.subAttributes.map((s) => [s.name.toLowerCase(), s])) }
        : {}),
    });
  }
  return rules;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;

/** A simple value of `attr` as scimmy would keep it; undefined when scimmy must decide. */
function simpleValue(attr: ScimmyAttribute, v: unknown): unknown {
  const canonical = attr.config.canonicalValues;
  if (Array.isArray(canonical) && !canonical.includes(v)) return undefined;
  if (attr.type === 'string') return typeof v === 'string' ? v : undefined;
  if (attr.type === 'boolean') return typeof v === 'boolean' ? v : undefined;
  return undefined; // reference, binary, dateTime, numbers: scimmy's own rules
}

/** A complex value: an object of known sub-attributes with simple values, renamed. */
function complexValue(
  attr: ScimmyAttribute,
  subs: Map<string, ScimmyAttribute>,
  v: unknown,
): Record<string, unknown> | undefined {
  if (!isPlainObject(v)) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) {
    const sub = subs.get(key.toLowerCase());
    if (!sub || sub.config.direction === 'out' || sub.name in out) return undefined;
    const value = simpleValue(sub, v[key]);
    if (value === undefined) return undefined;
    out[sub.name] = value;
  }
  for (const sub of attr.subAttributes ?? []) {
    if (sub.config.required && !(sub.name in out)) return undefined;
  }
  return out;
}

function attributeValue(rule: Rule, v: unknown): unknown {
  const { attr, subs } = rule;
  const one = (x: unknown) => (subs ? complexValue(attr, subs, x) : simpleValue(attr, x));
  if (!attr.config.multiValued) return Array.isArray(v) ? undefined : one(v);
  if (!Array.isArray(v)) return undefined;
  const out: unknown[] = [];
  for (const x of v) {
    const value = one(x);
    if (value === undefined) return undefined;
    out.push(value);
  }
  return out;
}

/**
 * Whether scimmy would ignore this meta (Entra sends `"meta": {"resourceType": "User"}`):
 * it overwrites resourceType with its own, skips the outbound sub-attributes unread and
 * drops unknown ones. Only a second spelling of resourceType (another case) is read and
 * checked, so such a meta is left to scimmy.
 */
function ignorableMeta(v: unknown): boolean {
  return (
    isPlainObject(v) &&
    Object.keys(v).every((k) => k === 'resourceType' || k.toLowerCase() !== 'resourcetype')
  );
}

/**
 * A plain User body as scimmy would coerce it (see above), or null when scimmy must
 * validate it. `input` has had Entra's boolean strings turned into booleans already.
 */
export function plainUser(input: Record<string, unknown>): Record<string, unknown> | null {
  const byName = rulesOf();
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const key of Object.keys(input)) {
    const lower = key.toLowerCase();
    // Keys differing only in case: scimmy keeps the last, by an order not worth copying.
    if (seen.has(lower)) return null;
    seen.add(lower);
    if (lower === 'schemas') continue; // validateUser declares the schemas itself
    const rule = byName.get(lower);
    if (!rule) {
      // URN keys carry extension values; other unknown names scimmy drops unread.
      if (key.includes(':') || (lower === 'meta' && !ignorableMeta(input[key]))) return null;
      continue;
    }
    if (rule.outbound) continue;
    const value = attributeValue(rule, input[key]);
    if (value === undefined) return null;
    out[rule.attr.name] = value;
  }
  for (const { attr, outbound } of byName.values()) {
    if (!outbound && attr.config.required && !(attr.name in out)) return null;
  }
  return out;
}
