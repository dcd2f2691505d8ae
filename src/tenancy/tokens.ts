// Bearer tokens: `sk_<scope>_<ids>_<secret>`.
// - <ids> is base64url of the tenant's and the token's UUIDs (32 bytes): the token names
//   its own row, so lookup is by primary key (tenant_id, token_id), never by secret.
// - <secret> is 32 random bytes, base64url. Only its SHA-256 is stored (a fast hash is
//   right for 256-bit random secrets), compared in constant time.
// The fixed `sk_` prefix lets secret scanners recognise a leaked token.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SCOPES = ['scim', 'api'] as const;
export type Scope = (typeof SCOPES)[number];

const TOKEN_RE = /^sk_(scim|api)_([A-Za-z0-9_-]{43})_([A-Za-z0-9_-]{43})$/;

const uuidToBytes = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');
const bytesToUuid = (b: Buffer) => {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function mintToken(
  tenantId: string,
  tokenId: string,
  scope: Scope,
): { token: string; secretHash: Buffer } {
  const ids = Buffer.concat([uuidToBytes(tenantId), uuidToBytes(tokenId)]).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  return { token: `sk_${scope}_${ids}_${secret}`, secretHash: hashSecret(secret) };
}

export interface ParsedToken {
  scope: Scope;
  tenantId: string;
  tokenId: string;
  secret: string;
}

export function parseToken(raw: string): ParsedToken | null {
  const m = TOKEN_RE.exec(raw);
  if (!m) return null;
  const ids = Buffer.from(m[2]!, 'base64url');
  // One token, one spelling: 43 characters carry 258 bits, and a string whose spare
  // bits are set decodes to the same ids. Such a variant is refused.
  if (ids.length !== 32 || ids.toString('base64url') !== m[2]) return null;
  return {
    scope: m[1] as Scope,
    tenantId: bytesToUuid(ids.subarray(0, 16)),
    tokenId: bytesToUuid(ids.subarray(16)),
    secret: m[3]!,
  };
}

export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const candidate = hashSecret(secret);
  return storedHash.length === candidate.length && timingSafeEqual(candidate, storedHash);
}
