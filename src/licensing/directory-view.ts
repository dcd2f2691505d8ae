// The directory as the admin API shows it: users and groups by their SCIM ids.
import { ENTERPRISE_USER } from '../directory/index.js';
import { notFound } from '../shared/errors.js';
import type { LicensingContext } from './context.js';
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

export const listDirectoryUsers = (ctx: LicensingContext, req: PageRequest): Promise<Page<User>> =>
  page(ctx.knex('directory_users').where({ tenant_id: ctx.tenantId }), 'user_id', req, userRecord);

export async function getDirectoryUser(ctx: LicensingContext, id: string): Promise<UserDetail> {
  if (!isUuid(id)) throw notFound('user');
  const row = await ctx
    .knex('directory_users')
    .where({ tenant_id: ctx.tenantId, user_id: id })
    .first();
  if (!row) throw notFound('user');
  const groups = await ctx
    .knex('directory_memberships as m')
    .join('directory_groups as g', function () {
      this.on('g.tenant_id', 'm.tenant_id').andOn('g.group_id', 'm.group_id');
    })
    .where({ 'm.tenant_id': ctx.tenantId, 'm.member_id': id })
    .select('g.group_id as id', 'g.display_name as displayName')
    .orderBy('g.display_name');
  return { ...userRecord(row), groups };
}

const groupsQuery = (ctx: LicensingContext) =>
  ctx
    .knex('directory_groups as g')
    .where('g.tenant_id', ctx.tenantId)
    .select(
      'g.*',
      ctx.knex.raw(
        '(SELECT count(*) FROM directory_memberships m WHERE m.tenant_id = g.tenant_id AND m.group_id = g.group_id) AS member_count',
      ),
    );

export const listDirectoryGroups = (
  ctx: LicensingContext,
  req: PageRequest,
): Promise<Page<Group>> => page(groupsQuery(ctx), 'g.group_id', req, groupRecord);

export async function getDirectoryGroup(ctx: LicensingContext, id: string): Promise<Group> {
  if (!isUuid(id)) throw notFound('group');
  const row = await groupsQuery(ctx).where('g.group_id', id).first();
  if (!row) throw notFound('group');
  return groupRecord(row);
}
