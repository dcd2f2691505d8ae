// POST /.search at the root (RFC 7644 §3.4.3): one list over Users and Groups. A filter
// that names attributes one resource type lacks simply matches none of that type.
import { AppError } from '../shared/errors.js';
import type { ScimContext } from './context.js';
import { listGroups } from './groups.js';
import type { ListQuery } from './list-query.js';
import { listUsers } from './users.js';

async function orEmpty<T>(
  fn: () => Promise<{ resources: T[]; total: number }>,
): Promise<{ resources: T[]; total: number; error?: AppError }> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError && (err.code === 'invalid_filter' || err.code === 'invalid_sort'))
      return { resources: [], total: 0, error: err };
    throw err;
  }
}

export async function searchAll(ctx: ScimContext, query: ListQuery) {
  if (query.cursor !== undefined) {
    throw new AppError(
      'invalid_input',
      'cursor pagination is offered on /Users and /Groups, not on the root search',
      { status: 400, detail: { scimType: 'invalidValue' } },
    );
  }
  const skip = query.startIndex - 1;
  // Users first, then groups: one stable order over both.
  const users = await orEmpty(() => listUsers(ctx, { ...query, startIndex: skip + 1 }));
  const usersTotal = users.total;
  const fromGroups = Math.max(0, skip - usersTotal);
  const room = query.count - users.resources.length;
  const groups = await orEmpty(() =>
    listGroups(ctx, { ...query, startIndex: fromGroups + 1, count: Math.max(0, room) }),
  );
  if (users.error && groups.error) throw users.error;
  return {
    resources: [...users.resources, ...(room > 0 ? groups.resources : [])],
    total: usersTotal + groups.total,
  };
}
