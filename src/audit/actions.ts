// Every action an audit event can record: one typed catalogue, so that a writer cannot
// invent a spelling, and a reader (exports, SIEM rules, the CEF severity) can rely on
// the list. Dotted: the kind of thing, then what happened to it. Adding an action is a
// change to this list; renaming one is a change to what every export consumer matches.
export const AUDIT_ACTIONS = [
  'tenant.created',
  'token.created',
  'token.revoked',
  'user.created',
  'user.replaced',
  'user.patched',
  'user.deleted',
  'group.created',
  'group.replaced',
  'group.patched',
  'group.deleted',
  'product.created',
  'product.updated',
  'product.deleted',
  'license.created',
  'license.updated',
  'license.deleted',
  'license.threshold_crossed',
  'rule.created',
  'rule.updated',
  'rule.deleted',
  'seat.assigned',
  'seat.granted',
  'seat.waitlisted',
  'seat.reclaim_scheduled',
  'seat.restored',
  'seat.released',
  'seat.transferred',
  'sso.connection_created',
  'sso.connection_updated',
  'sso.connection_deleted',
  'sso.signed_in',
  'sso.sign_in_refused',
  'sso.signed_out',
  'audit.payload_erased',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];
