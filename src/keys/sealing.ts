// Private signing keys at rest: AES-256-GCM (node:crypto) under KEY_ENCRYPTION_KEY, 32
// random bytes given base64 (`openssl rand -base64 32`). The tenant and kid are the
// additional authenticated data, so a sealed key copied onto another row does not open.
// Stored as iv (12 bytes) || tag (16 bytes) || ciphertext; a fresh iv for every seal.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from '../shared/errors.js';

export const KEY_ENCRYPTION_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The key from its base64 text, or null when it is not 32 bytes of base64. */
export function parseKeyEncryptionKey(text: string): Uint8Array | null {
  const s = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return null;
  const key = Buffer.from(s, 'base64');
  return key.length === KEY_ENCRYPTION_KEY_BYTES ? new Uint8Array(key) : null;
}

export const newKeyEncryptionKeyText = () =>
  `${randomBytes(KEY_ENCRYPTION_KEY_BYTES).toString('base64')}\n`;

const aad = (tenantId: string, kid: string) => Buffer.from(`${tenantId}/${kid}`, 'utf8');

export function seal(kek: Uint8Array, tenantId: string, kid: string, plain: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(tenantId, kid));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Open a sealed key; a wrong key, another row's seal or a changed byte all refuse. */
export function open(kek: Uint8Array, tenantId: string, kid: string, sealed: Buffer): string {
  if (sealed.length <= IV_BYTES + TAG_BYTES)
    throw new AppError('signing_key_unreadable', 'a sealed signing key is truncated');
  const decipher = createDecipheriv('aes-256-gcm', kek, sealed.subarray(0, IV_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(aad(tenantId, kid));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch (cause) {
    throw new AppError(
      'signing_key_unreadable',
      'a signing key does not open with KEY_ENCRYPTION_KEY (a wrong key, or a changed row)',
      { cause },
    );
  }
}
