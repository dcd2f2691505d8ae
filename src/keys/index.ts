// Signed licence keys (issue 18): each tenant's Ed25519 signing keys (sealed at rest,
// rotated with overlap, published as a JWKS), issuing and revoking keys, and online
// validation. Knows nothing of HTTP: src/api serves /api/v1/licenses/{id}/keys,
// /api/v1/keys/{id}, /api/v1/validate and /keys/{tenantId}/jwks.json.
export { KEY_ALG, KEY_TYP, type KeysContext } from './context.js';
export { issueKey, listKeys, revokeKey } from './issue.js';
export { loadKeyEncryptionKey } from './kek.js';
export {
  DEFAULT_OFFLINE_GRACE_S,
  IssuedKeyRecord,
  IssueKeyInput,
  JwksRecord,
  LicenseKeyRecord,
  MAX_OFFLINE_GRACE_S,
  VALIDATION_CODES,
  ValidateInput,
  ValidationRecord,
} from './records.js';
export { KEY_ENCRYPTION_KEY_BYTES, parseKeyEncryptionKey } from './sealing.js';
export { publishedJwks, rotateSigningKey } from './signing-keys.js';
export { invalidKey, validateKey } from './validate.js';
