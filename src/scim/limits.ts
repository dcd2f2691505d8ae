// Limits of the SCIM door that are not in ServiceProviderConfig's core schema. Each is
// advertised there under LIMITS_SCHEMA (src/scim/discovery.ts) and enforced with a test.

/** Advertised in ServiceProviderConfig under this extension. */
export const LIMITS_SCHEMA = 'urn:seatkeeper:params:scim:schemas:extension:limits:1.0';

/**
 * Operations in one PATCH. The embedded database runs one transaction at a time, and a
 * 10,000-operation PATCH held every tenant for 6-7 s (issue 12); 1,000 keep a request
 * well under a second. Large membership changes fit in one operation: an `add` of
 * `members` takes any number of values.
 */
export const PATCH_MAX_OPERATIONS = 1000;

/**
 * Characters in the attributes that are indexed (userName, externalId, a group's
 * displayName). The tables' CHECKs stop userName and displayName at 512, and a longer
 * externalId overflowed PostgreSQL's b-tree row (~2.7 kB): each answered 500 (issue 12).
 * 512 characters of 4-byte UTF-8 still fit an index row.
 */
export const MAX_INDEXED_TEXT_LENGTH = 512;
