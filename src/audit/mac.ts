// The MAC every audit event carries (issue 12): HMAC-SHA256 over the tenant and the
// event's chained fields (the canonical JSON the hash chain covers, payload digest
// included), keyed by a secret kept beside the checkpoint signing key, outside the
// database. The database cannot compute it, so:
// - a queued row (audit_pending) is chained only if its MAC checks (src/audit/append.ts);
//   one that fails stays queued for an operator, is logged and counted, and `audit
//   verify` reports it;
// - `audit verify` checks the MAC of every chained event, so an event appended by
//   anyone without the key (even a superuser rewriting the chain) is found.
//
// The key: 32 random bytes, base64 in a 0600 file (AUDIT_MAC_KEY_FILE, by default
// DATA_DIR/keys/audit-mac.key), generated on first use like the signing key. Every
// replica and every CLI run must use the same file. The process holds one key, installed
// at start-up (useAuditMacKey), because events are prepared in many places that have
// no other reason to carry it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../shared/errors.js';
import { canonicalFields, type ChainedFields } from './chain.js';
import { loadKeyFile } from '../shared/key-file.js';

export const MAC_KEY_BYTES = 32;

function parse(text: string, file: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== MAC_KEY_BYTES)
    throw new AppError(
      'mac_key_invalid',
      `${file} does not hold a ${MAC_KEY_BYTES}-byte base64 key`,
    );
  return key;
}

/** Load the key; with `create`, generate it when the file does not exist yet. */
export function loadMacKey(file: string, opts: { create: boolean }): Buffer | null {
  return loadKeyFile(file, {
    create: opts.create,
    parse: (text) => parse(text, file),
    generate: () => `${randomBytes(MAC_KEY_BYTES).toString('base64')}\n`,
  });
}

let installed: Buffer | null = null;

/** The key this process MACs its events with (the service and the CLI install it at start). */
export function useAuditMacKey(key: Buffer): void {
  if (key.length !== MAC_KEY_BYTES) throw new Error('audit MAC key must be 32 bytes');
  installed = key;
}

export function installedMacKey(): Buffer | null {
  return installed;
}

export function auditMacKey(): Buffer {
  if (!installed)
    throw new AppError('audit_mac_key_missing', 'no audit MAC key installed (useAuditMacKey)');
  return installed;
}

/** The MAC of an event of `tenantId`, as hex. */
export function eventMac(key: Buffer, tenantId: string, fields: ChainedFields): string {
  return macOfCanonical(key, tenantId, canonicalFields(fields));
}

/** eventMac of fields already written by canonicalFields (an append writes them once). */
export function macOfCanonical(key: Buffer, tenantId: string, canonical: string): string {
  return createHmac('sha256', key)
    .update(`${tenantId}\n`, 'utf8')
    .update(canonical, 'utf8')
    .digest('hex');
}

export function macValid(
  key: Buffer,
  tenantId: string,
  fields: ChainedFields,
  mac: string | null,
): boolean {
  return macValidOfCanonical(key, tenantId, canonicalFields(fields), mac);
}

/** macValid of fields already written by canonicalFields (settling writes them once). */
export function macValidOfCanonical(
  key: Buffer,
  tenantId: string,
  canonical: string,
  mac: string | null,
): boolean {
  if (mac === null || !/^[0-9a-f]{64}$/.test(mac)) return false;
  return timingSafeEqual(
    Buffer.from(macOfCanonical(key, tenantId, canonical), 'hex'),
    Buffer.from(mac, 'hex'),
  );
}
