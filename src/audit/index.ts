// The audit trail's public surface: what other capabilities may use. Everything else in
// src/audit is its own business (lint enforces it: eslint.config.js).
export { AUDIT_ACTIONS, type AuditAction } from './actions.js';
export {
  appendAuditEvent,
  appendAuditEvents,
  prepareAuditEvents,
  queuedEventInsert,
  queuedEvents,
} from './append.js';
export { canonicalJson } from './chain.js';
export { createCheckpoints, listCheckpoints, type Checkpoint } from './checkpoint.js';
export { eraseSubject } from './erase.js';
export { AUDIT_RETENTION_BATCH, eraseExpiredPayloads, type RetentionResult } from './retention.js';
export { EXPORT_FORMATS, exportAudit, type ExportFormat } from './export/index.js';
export { exportTenantAudit } from './export/audited.js';
export { loadMacKey, useAuditMacKey } from './mac.js';
export { countAuditEvents } from './read.js';
export {
  listAuditEvents,
  parseActions,
  parseWindow,
  type AuditPage,
  type AuditQuery,
} from './query.js';
export { settleAudit, startSettler, type Settler } from './settle.js';
export { loadSigningKey, type SigningKey } from './signing-key.js';
export type { Actor, AuditEventInput } from './types.js';
export { verifyTenantChain, type VerifyReport } from './verify.js';
