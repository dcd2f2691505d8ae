// What a directory write runs with: the database, the tenant (from the caller's verified
// token), who acts, the clock, and the listeners told of each change in its transaction.
import type { Knex } from 'knex';
import type { Actor } from '../audit/index.js';
import type { Clock } from '../shared/clock.js';
import type { DirectoryHooks } from './changes.js';

export interface DirectoryContext {
  knex: Knex;
  tenantId: string;
  actor: Actor;
  clock: Clock;
  hooks: DirectoryHooks;
}

/**
 * The caller's condition on the version of the row it changes, checked with the row
 * locked (a SCIM If-Match, RFC 7644 §3.14); it throws to refuse the write.
 */
export type Precondition = (version: number) => void;
