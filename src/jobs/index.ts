// The service's scheduled jobs.
import type { Knex } from 'knex';
import { createCheckpoints } from '../audit/checkpoint.js';
import type { SigningKey } from '../audit/signing-key.js';
import type { Clock } from '../shared/clock.js';
import type { JobDefinition } from './scheduler.js';

export function serviceJobs(deps: {
  knex: Knex;
  signingKey: SigningKey;
  clock: Clock;
  checkpointEveryMs: number;
}): JobDefinition[] {
  return [
    {
      name: 'audit-checkpoint',
      everyMs: deps.checkpointEveryMs,
      run: async () => {
        await createCheckpoints(deps.knex, deps.signingKey, { clock: deps.clock });
      },
    },
  ];
}
