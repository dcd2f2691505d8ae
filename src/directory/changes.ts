// The in-transaction hook through which the directory tells the licensing side which
// users' directory facts changed (attributes, active, group membership). Listeners run
// inside the same transaction as the change, so seats and directory never disagree.
import type { Knex } from 'knex';
import type { Actor } from '../audit/types.js';

export interface DirectoryChange {
  /** Users whose attributes, active flag or direct memberships changed (or who were deleted). */
  userIds: string[];
  /** Groups created, changed or deleted (membership changes of nested groups affect their members). */
  groupIds: string[];
  /** The users were created by this change (so they belong to no group yet). */
  created?: boolean;
}

/** `actor` is who made the directory change (the SCIM client), for the audit of what follows. */
export type DirectoryListener = (
  trx: Knex.Transaction,
  tenantId: string,
  change: DirectoryChange,
  actor: Actor,
) => Promise<void>;

export class DirectoryHooks {
  private readonly listeners: DirectoryListener[] = [];

  on(listener: DirectoryListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  async changed(
    trx: Knex.Transaction,
    tenantId: string,
    change: DirectoryChange,
    actor: Actor,
  ): Promise<void> {
    if (change.userIds.length === 0 && change.groupIds.length === 0) return;
    for (const l of this.listeners) await l(trx, tenantId, change, actor);
  }
}
