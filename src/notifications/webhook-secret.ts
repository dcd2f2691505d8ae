// Endpoint secrets and signatures (the Standard Webhooks specification, "Signature
// scheme"). A secret is `whsec_` and base64 of 32 random bytes; it is shown once, at
// creation, and kept sealed: a compact JWE (`dir` + A256GCM, through jose) under the
// service's secrets key (SSO_SECRET_KEY_FILE), with the tenant and endpoint bound in as
// the `kid`, so a sealed secret copied onto another row does not open. It cannot be
// kept as a hash: every attempt signs with it.
import { createHmac, randomBytes } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { AppError } from '../shared/errors.js';

const PREFIX = 'whsec_';

export function newWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

const binding = (tenantId: string, endpointId: string) => `webhook:${tenantId}/${endpointId}`;

export function sealWebhookSecret(
  key: Uint8Array,
  tenantId: string,
  endpointId: string,
  secret: string,
): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(secret))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: binding(tenantId, endpointId) })
    .encrypt(key);
}

export async function openWebhookSecret(
  key: Uint8Array,
  tenantId: string,
  endpointId: string,
  sealed: string,
): Promise<string> {
  const { plaintext, protectedHeader } = await compactDecrypt(sealed, key);
  if (protectedHeader.kid !== binding(tenantId, endpointId))
    throw new AppError('webhook_secret_misplaced', 'a sealed secret belongs to another endpoint');
  return new TextDecoder().decode(plaintext);
}

/**
 * The `webhook-signature` header: `v1,` and base64 of HMAC-SHA256, keyed by the secret's
 * base64-decoded part, over `${webhook-id}.${webhook-timestamp}.${body}`.
 */
export function webhookSignature(
  secret: string,
  messageId: string,
  timestampSeconds: number,
  body: string,
): string {
  if (!secret.startsWith(PREFIX)) throw new AppError('internal', 'not a webhook secret');
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  const mac = createHmac('sha256', key).update(`${messageId}.${timestampSeconds}.${body}`);
  return `v1,${mac.digest('base64')}`;
}
