// Stored rows → SCIM resources as clients see them (RFC 7643 §3.1 common attributes:
// id, externalId, meta with resourceType, created, lastModified, location, version).
import { CORE_GROUP, CORE_USER } from './schemas.js';
import { ENTERPRISE_USER } from '../directory/index.js';

import type { GroupRef, GroupRow, MemberOut, UserRow } from '../directory/index.js';

export const etagOf = (version: number) => `W/"${version}"`;

function meta(
  kind: 'User' | 'Group',
  id: string,
  row: { version: number; created_at: Date; last_modified: Date },
  base: string,
) {
  return {
    resourceType: kind,
    created: row.created_at.toISOString(),
    lastModified: row.last_modified.toISOString(),
    location: `${base}/${kind}s/${id}`,
    version: etagOf(Number(row.version)),
  };
}

export function userResource(
  row: UserRow,
  groups: GroupRef[] | undefined,
  base: string,
): Record<string, unknown> {
  const { externalId: _e, active: _a, userName: _u, ...rest } = row.data;
  return {
    schemas: row.data[ENTERPRISE_USER] ? [CORE_USER, ENTERPRISE_USER] : [CORE_USER],
    id: row.user_id,
    ...(row.external_id !== null ? { externalId: row.external_id } : {}),
    userName: row.user_name,
    ...rest,
    active: row.active,
    ...(groups
      ? {
          groups: groups.map((g) => ({
            value: g.id,
            $ref: `${base}/Groups/${g.id}`,
            display: g.displayName,
            type: 'direct',
          })),
        }
      : {}),
    meta: meta('User', row.user_id, row, base),
  };
}

export function groupResource(
  row: GroupRow,
  members: MemberOut[] | undefined,
  base: string,
): Record<string, unknown> {
  const { externalId: _e, displayName: _d, ...rest } = row.data;
  return {
    schemas: [CORE_GROUP],
    id: row.group_id,
    ...(row.external_id !== null ? { externalId: row.external_id } : {}),
    displayName: row.display_name,
    ...rest,
    ...(members
      ? {
          members: members.map((m) => ({
            value: m.id,
            $ref: `${base}/${m.type}s/${m.id}`,
            type: m.type,
            ...(m.display !== null ? { display: m.display } : {}),
          })),
        }
      : {}),
    meta: meta('Group', row.group_id, row, base),
  };
}
