// What every licensing operation runs with: the database, the tenant it acts for, who
// acts, and the clock. Its own module, so that the writers (catalog.ts) and what they
// call (reconcile, compliance) all depend on it rather than on each other.
import type { Knex } from 'knex';
import type { Actor } from '../audit/index.js';
import type { Clock } from '../shared/clock.js';

export interface LicensingContext {
  knex: Knex;
  tenantId: string;
  actor: Actor;
  clock: Clock;
}
