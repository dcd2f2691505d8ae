// The hash chain, as pure functions. Each event's hash covers the previous hash, its
// sequence number, its tenant and the RFC 8785 (JCS) canonical serialisation of the
// event's fields, so an edit, deletion, insertion or reordering anywhere changes every
// hash after it. Personal data is not chained directly: the chain covers a salted
// digest of the payload, which can later be erased without breaking verification (and
// the salt, erased with it, stops anyone guessing the payload from the digest).
import crypto, { createHash, randomBytes } from 'node:crypto';
import canonicalize from 'canonicalize';

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedFields {
  eventId: string;
  /** ISO 8601 with milliseconds, as Date.prototype.toISOString() writes it. */
  occurredAt: string;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  payloadDigest: string | null;
}

/** Just the chained fields of an event record (which carries more). */
const chainedFields = (e: ChainedFields): ChainedFields => ({
  eventId: e.eventId,
  occurredAt: e.occurredAt,
  actorType: e.actorType,
  actorId: e.actorId,
  action: e.action,
  targetType: e.targetType,
  targetId: e.targetId,
  payloadDigest: e.payloadDigest,
});

export function canonicalJson(value: unknown): string {
  const flat = flatCanonicalJson(value);
  if (flat !== undefined) return flat;
  const s = canonicalize(value);
  if (s === undefined) throw new TypeError('value has no JSON representation');
  return s;
}

// Nearly every event's fields, and every seat change's payload, are one flat object of
// strings, nulls, booleans and numbers. For those, RFC 8785 is keys sorted by UTF-16 code
// units (what Array.prototype.sort does with strings) and each value as JSON.stringify
// writes it (JCS adopts ECMAScript's serialisation). Written out here, a 100,000-seat
// reconcile hashed twice as fast as through the general recursion. Anything else, and
// any string holding a surrogate (JCS has rules for lone ones), goes to canonicalize;
// test/unit/audit-chain.test.ts checks both agree on random values.
const SURROGATE = /[\uD800-\uDFFF]/;
// Printable ASCII but `"` and `\`: JSON.stringify writes such a string between quotes as
// it is, and it holds no surrogate. Nearly every value (ids, hashes, times, names) is one,
// and one test of it costs less than JSON.stringify and the surrogate test it saves.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A primitive as JCS writes it (as JSON.stringify does); undefined when JCS differs. */
function primitiveJson(v: unknown): string | undefined {
  if (typeof v === 'string') {
    if (PLAIN.test(v)) return `"${v}"`;
    return SURROGATE.test(v) ? undefined : JSON.stringify(v);
  }
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : undefined;
  return undefined;
}

function flatCanonicalJson(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  if (Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const keys = Object.keys(value).sort();
  if (keys.some((k) => SURROGATE.test(k))) return undefined;
  return writeFlat(value as Record<string, unknown>, keys);
}

/**
 * `obj` as RFC 8785 JSON, its `keys` (already in RFC 8785 order, free of surrogates)
 * written in that order; undefined when a value is not a primitive JCS writes as
 * JSON.stringify does. Undefined values are left out, as JSON.stringify leaves them.
 */
function writeFlat(obj: Record<string, unknown>, keys: readonly string[]): string | undefined {
  let out = '';
  for (const key of keys) {
    const v = obj[key];
    if (v === undefined) continue;
    const json = primitiveJson(v);
    if (json === undefined) return undefined;
    out += `${out ? ',' : '{'}${primitiveJson(key)!}:${json}`;
  }
  return out ? `${out}}` : '{}';
}

const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * What an event's hash covers: canonicalJson({ prev, seq, tenant, event }). Written out,
 * because its keys sort as event < prev < seq < tenant and, the previous hash being hex
 * and the tenant a UUID, only `event` needs canonicalising; a bulk append hashes
 * 100,000 of these. Anything else takes the general path.
 */
export function chainMaterial(
  eventJson: string,
  prevHash: string,
  seq: number,
  tenantId: string,
): string {
  if (!HEX64.test(prevHash) || !UUID.test(tenantId) || !Number.isSafeInteger(seq))
    return canonicalJson({
      prev: prevHash,
      seq,
      tenant: tenantId,
      event: JSON.parse(eventJson) as unknown,
    });
  return `{"event":${eventJson},"prev":"${prevHash}","seq":${seq},"tenant":"${tenantId}"}`;
}

/** `fields` may carry more than the chained fields (an event row); only those are read. */
export function eventHash(
  prevHash: string,
  seq: number,
  tenantId: string,
  fields: ChainedFields,
): string {
  return hashOfCanonical(prevHash, seq, tenantId, canonicalFields(fields));
}

/** eventHash of fields already written by canonicalFields (an append writes them once). */
export function hashOfCanonical(
  prevHash: string,
  seq: number,
  tenantId: string,
  canonical: string,
): string {
  return sha256Hex(chainMaterial(canonical, prevHash, seq, tenantId));
}

// crypto.hash, one call and no Hash object, hashes a chain's 100,000 events in half the
// time; it came with Node 20.12 and the engines allow 20.10.
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => createHash('sha256').update(text, 'utf8').digest('hex');

// The chained fields' names in RFC 8785 order (UTF-16 code units; all ASCII).
const FIELD_ORDER = [
  'action',
  'actorId',
  'actorType',
  'eventId',
  'occurredAt',
  'payloadDigest',
  'targetId',
  'targetType',
] as const;

/**
 * canonicalJson(chainedFields(f)) without the copy or the sort: every event is hashed
 * through here, and a bulk append of 100,000 was bound by it.
 */
export function canonicalFields(f: ChainedFields): string {
  const action = primitiveJson(f.action);
  const actorId = primitiveJson(f.actorId);
  const actorType = primitiveJson(f.actorType);
  const eventId = primitiveJson(f.eventId);
  const occurredAt = primitiveJson(f.occurredAt);
  const payloadDigest = primitiveJson(f.payloadDigest);
  const targetId = primitiveJson(f.targetId);
  const targetType = primitiveJson(f.targetType);
  // Every field present (string or null) and written as JCS writes it: the usual case.
  if (
    action !== undefined &&
    actorId !== undefined &&
    actorType !== undefined &&
    eventId !== undefined &&
    occurredAt !== undefined &&
    payloadDigest !== undefined &&
    targetId !== undefined &&
    targetType !== undefined
  )
    return `{"action":${action},"actorId":${actorId},"actorType":${actorType},"eventId":${eventId},"occurredAt":${occurredAt},"payloadDigest":${payloadDigest},"targetId":${targetId},"targetType":${targetType}}`;
  return (
    writeFlat(f as unknown as Record<string, unknown>, FIELD_ORDER) ??
    canonicalJson(chainedFields(f))
  );
}

export const SALT_BYTES = 16;

// Single-event appends (every SCIM create) take their salt from a pooled draw of the
// random source, as crypto.randomUUID does with its ids: a draw per event cost more than
// hashing the event. Each byte is handed out once; a used-up pool is replaced, never
// refilled in place, so salts already handed out never change.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/** `n` independent random salts. */
export function newSalts(n: number): Buffer[] {
  const need = SALT_BYTES * n;
  let from: Buffer;
  let at = 0;
  if (need > POOL_BYTES) {
    from = randomBytes(need);
  } else {
    if (used + need > pool.length) {
      pool = randomBytes(POOL_BYTES);
      used = 0;
    }
    from = pool;
    at = used;
    used += need;
  }
  return Array.from({ length: n }, (_, i) =>
    from.subarray(at + i * SALT_BYTES, at + (i + 1) * SALT_BYTES),
  );
}

export function payloadDigest(salt: Buffer, body: unknown): string {
  return createHash('sha256').update(salt).update(canonicalJson(body), 'utf8').digest('hex');
}
