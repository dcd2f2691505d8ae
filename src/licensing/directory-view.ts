// The directory as the admin API shows it: users and groups by their SCIM ids. The rows
// are the directory's (its listings and lookups); this module only shapes and pages them.
import { ENTERPRISE_USER, groupListing, groupsOfUsers, userListing } from '../directory/index.js';
import { notFound } from '../shared/errors.js';
import { inTenant, type LicensingContext } from './context.js';
import { page, type Page, type PageRequest } from './paging.js';
import type { Group, User, UserDetail } from './records.js';
import { isUuid } from '../shared/ids.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

const userRecord = (r: Row): User => ({
  id: r.user_id,
  userName: r.user_name,
  externalId: r.external_id,
  displayName: r.data?.displayName ?? null,
  active: r.active,
  department: r.data?.[ENTERPRISE_USER]?.department ?? null,
  lastActiveAt: r.last_active_at ? r.last_active_at.toISOString() : null,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.last_modified.toISOString(),
});

const groupRecord = (r: Row): Group => ({
  id: r.group_id,
  displayName: r.display_name,
  externalId: r.external_id,
  memberCount: Number(r.member_count ?? 0),
  createdAt: r.created_at.toISOString(),
  updatedAt: r.last_modified.toISOString(),
});

export function listDirectoryUsers(ctx: LicensingContext, req: PageRequest): Promise<Page<User>> {
  return inTenant(ctx, (trx) => {
    const { query, idColumn } = userListing(trx, ctx.tenantId);
    return page(query, idColumn, req, userRecord);
  });
}

export async function getDirectoryUser(ctx: LicensingContext, id: string): Promise<UserDetail> {
  if (!isUuid(id)) throw notFound('user');
  return inTenant(ctx, async (trx) => {
    const { query, idColumn } = userListing(trx, ctx.tenantId);
    const row = await query.where(idColumn, id).first();
    if (!row) throw notFound('user');
    const groups = (await groupsOfUsers(trx, ctx.tenantId, [row.user_id])).get(row.user_id);
    return { ...userRecord(row), groups: groups ?? [] };
  });
}

export function listDirectoryGroups(ctx: LicensingContext, req: PageRequest): Promise<Page<Group>> {
  return inTenant(ctx, (trx) => {
    const { query, idColumn } = groupListing(trx, ctx.tenantId);
    return page(query, idColumn, req, groupRecord);
  });
}

export async function getDirectoryGroup(ctx: LicensingContext, id: string): Promise<Group> {
  if (!isUuid(id)) throw notFound('group');
  return inTenant(ctx, async (trx) => {
    const { query, idColumn } = groupListing(trx, ctx.tenantId);
    const row = await query.where(idColumn, id).first();
    if (!row) throw notFound('group');
    return groupRecord(row);
  });
}
