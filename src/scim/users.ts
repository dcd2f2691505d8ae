// SCIM Users (RFC 7644 §3.3–3.6): the protocol adapter over the directory's user writes
// (src/directory/user-writes.ts), which hold the transaction, the audit event and the
// directory listeners. Here: the body's validation, PATCH, If-Match and the
// representation.
import { withTenant } from '../db/tenant-scope.js';
import {
  changeUser,
  createUser as createDirectoryUser,
  groupsColumn,
  readUser,
  removeUser as removeDirectoryUser,
  takeGroupRefs,
  USER_COLUMNS,
  type UserRow,
} from '../directory/index.js';
import type { ScimContext } from './context.js';
import { scimError } from './errors.js';
import { checkIfMatch } from './etag.js';
import { listRows } from './list.js';
import type { ListQuery } from './list-query.js';
import { applyPatch, parsePatchBody } from './patch.js';
import { project, wants } from './projection.js';
import { userResource } from './representation.js';
import { validateUser } from './schemas.js';

const notFound = (id: string) => scimError(404, undefined, `User ${id} not found`, 'not_found');
const ifMatch = (header: string | undefined) => (version: number) => checkIfMatch(header, version);

/** POST /Users: a new user belongs to no group yet. */
export async function createUser(ctx: ScimContext, body: unknown) {
  const data = validateUser(body);
  return userResource(await createDirectoryUser(ctx, data), [], ctx.base);
}

export async function getUser(ctx: ScimContext, id: string) {
  const found = await readUser(ctx, id);
  if (!found) throw notFound(id);
  return { row: found.row, resource: userResource(found.row, found.groups, ctx.base) };
}

/** PUT: the body replaces every writable attribute (Okta's GET-then-PUT lands here). */
export async function replaceUser(ctx: ScimContext, id: string, body: unknown, header?: string) {
  const data = validateUser(body);
  const written = await changeUser(ctx, id, 'user.replaced', {
    precondition: ifMatch(header),
    next: async () => data,
  });
  return userResource(written.row, written.groups, ctx.base);
}

export async function patchUser(ctx: ScimContext, id: string, body: unknown, header?: string) {
  const ops = parsePatchBody(body, 'User');
  for (const op of ops) {
    if (op.path && /^groups(\b|\.|\[)/i.test(op.path)) {
      throw scimError(
        400,
        'mutability',
        'groups is read-only on a User: change memberships on the Group',
      );
    }
  }
  const written = await changeUser(ctx, id, 'user.patched', {
    precondition: ifMatch(header),
    next: async (row) => {
      const current = userResource(row, undefined, ctx.base);
      return validateUser(await applyPatch('User', current, ops));
    },
  });
  return userResource(written.row, written.groups, ctx.base);
}

export async function removeUser(ctx: ScimContext, id: string, header?: string) {
  await removeDirectoryUser(ctx, id, ifMatch(header));
}

export async function listUsers(ctx: ScimContext, query: ListQuery) {
  const withGroups = wants('groups', 'User', query.attributes, query.excludedAttributes);
  // Each user's groups come in the page's own statement (directory's groupsColumn).
  const page = await withTenant(ctx.knex, ctx.tenantId, (trx) =>
    listRows<UserRow>(
      trx,
      ctx.tenantId,
      'User',
      query,
      USER_COLUMNS,
      withGroups ? groupsColumn : undefined,
    ),
  );
  const resources = page.rows.map((r) =>
    project(
      userResource(
        r,
        withGroups ? takeGroupRefs(r as unknown as Record<string, unknown>) : undefined,
        ctx.base,
      ),
      'User',
      query.attributes,
      query.excludedAttributes,
    ),
  );
  return { ...page, resources };
}
