// ArcSight Common Event Format (CEF) version 0. The header is pipe-delimited: a pipe or
// backslash inside a header field is escaped with a backslash. In the extension (key=value
// pairs separated by spaces) backslash and equals are escaped, and newlines are written
// as the two characters \n or \r, so that one event is always one line.
import type { AuditRecord } from '../types.js';

export function escapeHeader(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r\n|\r|\n/g, ' ');
}

export function escapeExtension(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/=/g, '\\=')
    .replace(/\r\n|\n/g, '\\n')
    .replace(/\r/g, '\\r');
}

// Changes to credentials and tenants, erased audit payloads (on request or by retention)
// and copies of the trail taken, matter more to a SOC than routine directory churn.
function severity(action: string): number {
  if (
    /^(token|tenant|oauth_client)\.|^sso\.connection_/.test(action) ||
    action === 'audit.payload_erased' ||
    action === 'audit.payloads_expired' ||
    action === 'audit.exported'
  )
    return 5;
  if (action === 'sso.sign_in_refused') return 4;
  return 3;
}

export function toCef(
  e: AuditRecord,
  product: { vendor: string; name: string; version: string },
): string {
  const header = [
    'CEF:0',
    escapeHeader(product.vendor),
    escapeHeader(product.name),
    escapeHeader(product.version),
    escapeHeader(e.action),
    escapeHeader(e.action.replace(/[._]/g, ' ')),
    String(severity(e.action)),
  ].join('|');
  const ext: Array<[string, string | number | null]> = [
    ['rt', Date.parse(e.occurredAt)],
    ['externalId', e.eventId],
    ['act', e.action],
    ['suser', e.actorId === null ? e.actorType : `${e.actorType}:${e.actorId}`],
    ['cs1Label', 'tenant'],
    ['cs1', e.tenantId],
    // A label goes out only with its value.
    ['cs2Label', e.targetType === null ? null : 'target'],
    ['cs2', e.targetType === null ? null : `${e.targetType}:${e.targetId ?? ''}`],
    ['cn1Label', 'seq'],
    ['cn1', e.seq],
    ['cs3Label', 'hash'],
    ['cs3', e.hash],
    ['msg', e.payload === null ? null : JSON.stringify(e.payload)],
  ];
  const extension = ext
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${escapeExtension(String(v))}`)
    .join(' ');
  return `${header}|${extension}`;
}
