// SCIM Groups: the protocol adapter over the directory's group writes
// (src/directory/group-writes.ts), which hold the transaction, the set-based membership
// changes, the audit event and the directory listeners. Here: the body's validation,
// PATCH (attributes through scimmy; member operations become membership steps,
// group-members.ts), If-Match and the representation.
import type { Knex } from 'knex';
import { withTenant } from '../db/tenant-scope.js';
import {
  changeGroup,
  createGroup as createDirectoryGroup,
  findGroup,
  GROUP_COLUMNS,
  type GroupRow,
  membersOfGroups,
  removeGroup as removeDirectoryGroup,
} from '../directory/index.js';
import type { ScimContext } from './context.js';
import { scimError } from './errors.js';
import { checkIfMatch } from './etag.js';
import { splitGroupPatch } from './group-members.js';
import { listRows } from './list.js';
import type { ListQuery } from './list-query.js';
import { applyPatch, parsePatchBody } from './patch.js';
import { project, wants } from './projection.js';
import { groupResource } from './representation.js';
import { validateGroup } from './schemas.js';

const notFound = (id: string) => scimError(404, undefined, `Group ${id} not found`, 'not_found');
const ifMatch = (header: string | undefined) => (version: number) => checkIfMatch(header, version);

async function render(ctx: ScimContext, db: Knex, row: GroupRow) {
  const members = await membersOfGroups(db, ctx.tenantId, [row.group_id]);
  return groupResource(row, members.get(row.group_id), ctx.base);
}

export async function createGroup(ctx: ScimContext, body: unknown) {
  const { data, members } = validateGroup(body);
  const ids = members?.map((m) => m.value);
  return createDirectoryGroup(ctx, data, ids, (trx, row) => render(ctx, trx, row));
}

export async function getGroup(ctx: ScimContext, id: string, opts: { members: boolean }) {
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const row = await findGroup(trx, ctx.tenantId, id);
    if (!row) throw notFound(id);
    return {
      row,
      resource: opts.members
        ? await render(ctx, trx, row)
        : groupResource(row, undefined, ctx.base),
    };
  });
}

export async function replaceGroup(ctx: ScimContext, id: string, body: unknown, header?: string) {
  const { data, members } = validateGroup(body);
  return changeGroup(ctx, id, 'group.replaced', {
    precondition: ifMatch(header),
    plan: async () => ({
      data,
      steps: [{ kind: 'set', ids: (members ?? []).map((m) => m.value) }],
    }),
    then: (trx, row) => render(ctx, trx, row),
  });
}

/**
 * PATCH. RFC 7644 §3.5.2: the response is 200 with the resource or 204 without; we
 * answer 204 when the client did not ask for attributes, so a 10,000-member PATCH does
 * not echo 10,000 members back.
 */
export async function patchGroup(ctx: ScimContext, id: string, body: unknown, header?: string) {
  const { attributeOps, memberSteps } = splitGroupPatch(parsePatchBody(body, 'Group'));
  return changeGroup(ctx, id, 'group.patched', {
    precondition: ifMatch(header),
    plan: async (row) => {
      if (attributeOps.length === 0) return { data: row.data, steps: memberSteps };
      const patched = await applyPatch(
        'Group',
        groupResource(row, undefined, ctx.base),
        attributeOps,
      );
      return { data: validateGroup({ ...patched, members: undefined }).data, steps: memberSteps };
    },
    then: async (_trx, row) => ({ row }),
  });
}

export async function removeGroup(ctx: ScimContext, id: string, header?: string) {
  await removeDirectoryGroup(ctx, id, ifMatch(header));
}

export async function listGroups(ctx: ScimContext, query: ListQuery) {
  const withMembers = wants('members', 'Group', query.attributes, query.excludedAttributes);
  const { page, members } = await withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const page = await listRows<GroupRow>(trx, ctx.tenantId, 'Group', query, GROUP_COLUMNS);
    const ids = page.rows.map((r) => r.group_id);
    return {
      page,
      members: withMembers ? await membersOfGroups(trx, ctx.tenantId, ids) : undefined,
    };
  });
  const resources = page.rows.map((r) =>
    project(
      groupResource(r, members?.get(r.group_id), ctx.base),
      'Group',
      query.attributes,
      query.excludedAttributes,
    ),
  );
  return { ...page, resources };
}
