// Resource versioning (RFC 7644 §3.14): meta.version is a weak ETag; If-Match on a write
// and If-None-Match on a read are honoured.
import { scimError } from './errors.js';
import { etagOf } from './representation.js';

const tags = (header: string) => header.split(',').map((t) => t.trim().replace(/^W\//, ''));

export function checkIfMatch(header: string | undefined, version: number): void {
  if (!header) return;
  if (header.trim() === '*') return;
  if (!tags(header).includes(etagOf(version).replace(/^W\//, ''))) {
    throw scimError(
      412,
      undefined,
      `the resource was modified: its version is now ${etagOf(version)}`,
      'precondition_failed',
    );
  }
}

export function noneMatch(header: string | undefined, version: number): boolean {
  if (!header) return false;
  return header.trim() === '*' || tags(header).includes(etagOf(version).replace(/^W\//, ''));
}
