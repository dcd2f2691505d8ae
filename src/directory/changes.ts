// The in-transaction hook through which the directory tells the licensing side which
// users' directory facts changed (attributes, active, group membership). Listeners run
// inside the same transaction as the change, so seats and directory never disagree.
import type { Knex } from 'knex';
import type { Actor } from '../audit/index.js';

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

export interface ListenerOptions {
  /**
   * Whether the listener needs to hear of users being created. A create that nobody
   * listens to needs no transaction of its own, so it is written as one statement.
   */
  created?: boolean;
}

export class DirectoryHooks {
  private readonly listeners: Array<{ listener: DirectoryListener; created: boolean }> = [];

  on(listener: DirectoryListener, opts: ListenerOptions = {}): () => void {
    const entry = { listener, created: opts.created ?? true };
    this.listeners.push(entry);
    return () => {
      const i = this.listeners.indexOf(entry);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Whether any listener wants to hear of created users (see ListenerOptions). */
  get hearsCreates(): boolean {
    return this.listeners.some((l) => l.created);
  }

  async changed(
    trx: Knex.Transaction,
    tenantId: string,
    change: DirectoryChange,
    actor: Actor,
  ): Promise<void> {
    if (change.userIds.length === 0 && change.groupIds.length === 0) return;
    for (const l of this.listeners) {
      if (change.created && !l.created) continue;
      await l.listener(trx, tenantId, change, actor);
    }
  }
}
