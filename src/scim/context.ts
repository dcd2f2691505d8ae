import type { Knex } from 'knex';
import type { Actor } from '../audit/index.js';
import type { DirectoryHooks } from '../directory/index.js';
import type { Clock } from '../shared/clock.js';

/** What a SCIM operation needs: the tenant (from the token), who acts, and where resources live. */
export interface ScimContext {
  knex: Knex;
  tenantId: string;
  actor: Actor;
  clock: Clock;
  /** Absolute base URL of /scim/v2, for meta.location and $ref. */
  base: string;
  hooks: DirectoryHooks;
}
