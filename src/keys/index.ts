// Signed licence keys (issue 18): each tenant's Ed25519 signing keys (sealed at rest,
// rotated with overlap, published as a JWKS), issuing and revoking keys, online
// validation, and what a key does besides: activate machines (node-locked) and check
// leases out of a pool (floating). Knows nothing of HTTP: src/api serves
// /api/v1/licenses/{id}/keys, /api/v1/keys/{id}, /api/v1/validate, /api/v1/machines,
// /api/v1/leases and /keys/{tenantId}/jwks.json.
export { KEY_ALG, KEY_TYP, type KeysContext } from './context.js';
export { issueKey, listKeys, revokeKey } from './issue.js';
export { loadKeyEncryptionKey } from './kek.js';
export { invalidKey } from './key-auth.js';
export {
  checkIn,
  checkOut,
  cullLeases,
  DEFAULT_LEASE_TTL_SECONDS,
  getLease,
  heartbeat,
  type CheckOut,
  type LeaseDeps,
} from './leases.js';
export {
  activateMachine,
  deactivateMachine,
  listMachines,
  transferMachine,
  type MachineAdminContext,
} from './machines.js';
export {
  ActivateMachineInput,
  CheckOutInput,
  DEFAULT_OFFLINE_GRACE_S,
  IssuedKeyRecord,
  IssueKeyInput,
  JwksRecord,
  LEASE_STATUSES,
  LeaseGrantedRecord,
  LeaseQueuedRecord,
  LeaseRecord,
  LicenseKeyRecord,
  MachineRecord,
  MAX_OFFLINE_GRACE_S,
  TransferMachineInput,
  VALIDATION_CODES,
  ValidateInput,
  ValidationRecord,
} from './records.js';
export { KEY_ENCRYPTION_KEY_BYTES, parseKeyEncryptionKey } from './sealing.js';
export { publishedJwks, rotateSigningKey } from './signing-keys.js';
export { validateKey } from './validate.js';
