// Licensing's public surface: the catalogue (products, licences, rules), seats, the
// reconciler, compliance, the import, and the records the API returns.
export * as catalog from './catalog.js';
export type { WriteResult } from './catalog.js';
export type { LicensingContext } from './context.js';
export * as rules from './rules.js';
export { complianceOf, complianceSummary } from './compliance.js';
export { reconcileOnDirectoryChanges } from './directory-listener.js';
export {
  getDirectoryGroup,
  getDirectoryUser,
  listDirectoryGroups,
  listDirectoryUsers,
} from './directory-view.js';
export { explainUser } from './explain.js';
export { reconcileAllTenants, reconcileTenant } from './full-reconcile.js';
export { importLicences } from './import.js';
export { LicenseInput, ProductInput, RuleInput } from './model.js';
export {
  MAX_LIMIT,
  page,
  pageSchema,
  parsePageRequest,
  type Page,
  type PageRequest,
} from './paging.js';
export {
  ComplianceSummaryRecord,
  GroupRecord,
  ImportReportRecord,
  LicenseComplianceRecord,
  LicenseRecord,
  LicenseTermRecord,
  LicenseWriteRecord,
  ProductRecord,
  RuleRecord,
  RuleWriteRecord,
  SEAT_STATES,
  SeatChangeRecord,
  SeatDiffRecord,
  SeatRecord,
  UserDetailRecord,
  UserRecord,
  UserSeatsRecord,
  type SeatDiff,
} from './records.js';
export { assignSeat, listSeats, releaseSeat, transferSeat } from './seats.js';
export { MAX_SAVINGS_MONTHS, savings, SavingsRecord } from './savings.js';
export {
  ActivityReportRecord,
  ingestActivity,
  MAX_ACTIVITY_EVENTS,
  type ActivityReport,
} from './activity.js';
export {
  previewReclamation,
  reclaimExpired,
  ReclaimItemRecord,
  scanInactivity,
  type ReclaimItem,
} from './reclamation.js';
export { DAY_MS } from './term.js';
export { keyedTermAt, licenceForKeys, setLicenceSuspended, type KeyedLicence } from './key-view.js';
export { isProductVersion, MAX_VERSION_HINT, versionCovered } from './versions.js';
export {
  expireTrials,
  licenceExpiryAlerts,
  renewSubscriptions,
  scanCompliance,
} from './schedules.js';
export { listRenewedTerms, RenewedTermRecord, type RenewedTerm } from './terms.js';
