// Connection secrets at rest (OIDC client secrets, private keys for private_key_jwt):
// sealed as a compact JWE (RFC 7516, `dir` + A256GCM, through jose) under a 32-byte key
// kept outside the database (SSO_SECRET_KEY_FILE, generated on first use). The tenant
// and connection ids are bound in as the protected header's `kid`, so a sealed secret
// copied onto another connection's row does not open.
import { randomBytes } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { AppError } from '../shared/errors.js';
import { loadKeyFile } from '../shared/key-file.js';

export const SECRET_KEY_BYTES = 32;

function parse(text: string, file: string): Uint8Array {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== SECRET_KEY_BYTES) {
    throw new AppError(
      'sso_key_invalid',
      `${file} does not hold a ${SECRET_KEY_BYTES}-byte base64 key`,
    );
  }
  return new Uint8Array(key);
}

/** Load the key; with `create`, generate it when the file does not exist yet. */
export function loadSsoSecretKey(file: string, opts: { create: boolean }): Uint8Array | null {
  return loadKeyFile(file, {
    create: opts.create,
    parse: (text) => parse(text, file),
    generate: () => `${randomBytes(SECRET_KEY_BYTES).toString('base64')}\n`,
  });
}

const binding = (tenantId: string, connectionId: string) => `${tenantId}/${connectionId}`;

export async function sealSecret(
  key: Uint8Array,
  tenantId: string,
  connectionId: string,
  secret: string,
): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(secret))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: binding(tenantId, connectionId) })
    .encrypt(key);
}

export async function openSecret(
  key: Uint8Array,
  tenantId: string,
  connectionId: string,
  sealed: string,
): Promise<string> {
  const { plaintext, protectedHeader } = await compactDecrypt(sealed, key);
  if (protectedHeader.kid !== binding(tenantId, connectionId)) {
    throw new AppError('sso_secret_misplaced', 'a sealed secret belongs to another connection');
  }
  return new TextDecoder().decode(plaintext);
}
