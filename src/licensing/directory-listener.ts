// The seat reconciler listens to directory changes: whoever's groups, attributes or
// active flag changed is reconciled in the same transaction as the change.
import { usersUnderGroups, type DirectoryHooks } from '../directory/index.js';
import type { Clock } from '../shared/clock.js';
import { reconcile } from './reconcile.js';

export function reconcileOnDirectoryChanges(hooks: DirectoryHooks, clock: Clock): () => void {
  return hooks.on(
    async (trx, tenantId, change, actor) => {
      // A group's change reaches every user beneath it, through nested groups too.
      const nested = await usersUnderGroups(trx, tenantId, change.groupIds);
      const userIds = [...new Set([...change.userIds, ...nested])];
      if (userIds.length) await reconcile(trx, tenantId, { userIds }, { clock, actor });
    },
    // A user just created is in no group and holds no seat: no rule reaches them (rules
    // are by group) until a group change names them, so there is nothing to reconcile.
    { created: false },
  );
}
