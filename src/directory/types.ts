// The directory's rows as stored (the directory migration's tables), owned here: the
// SCIM adapter (src/scim) renders them as resources, licensing reads them, and neither
// defines them.

/**
 * The enterprise extension's URN (RFC 7643 §4.3): a user's `data` keeps its attributes
 * (department, costCenter, manager…) under this key, as SCIM JSON does.
 */
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/**
 * Where each kind of resource is stored, for the SCIM door's lists: it builds their
 * paged, filtered and sorted queries itself (the filter and sort translated by this
 * module's filter/), over these tables aliased as the translation's alias.
 */
export const RESOURCE_STORAGE = {
  User: { table: 'directory_users', idColumn: 'user_id' },
  Group: { table: 'directory_groups', idColumn: 'group_id' },
} as const;

/** A resource's attributes as stored in its `data` jsonb: SCIM JSON less what the server manages. */
export type StoredData = Record<string, unknown>;

export interface UserRow {
  user_id: string;
  user_name: string;
  external_id: string | null;
  active: boolean;
  data: StoredData;
  version: number;
  created_at: Date;
  last_modified: Date;
}

export interface GroupRow {
  group_id: string;
  display_name: string;
  external_id: string | null;
  data: StoredData;
  version: number;
  created_at: Date;
  last_modified: Date;
}

export interface GroupRef {
  id: string;
  displayName: string;
}

export interface MemberOut {
  id: string;
  type: 'User' | 'Group';
  display: string | null;
}
