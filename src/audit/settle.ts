// Settling: chaining the events that appenders queued in audit_pending because another
// transaction held their tenant's head (src/audit/append.ts). Appenders chain pending
// events on their way, so a busy tenant settles itself; the settler below catches the
// tail once writes stop, and everything that reads the chain as a whole (verify, export,
// checkpoints, erasure) settles first.
import type { Knex } from 'knex';
import { withTenant } from '../db/tenant-scope.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../shared/clock.js';
import { repeatEvery } from '../shared/repeat.js';
import { chainPending, lockHead, rejectedQueued } from './append.js';
import { createCheckpoints } from './checkpoint.js';
import type { SigningKey } from './signing-key.js';

/** Pending events chained per transaction: the hashing of one batch holds the event loop (~3 ms). */
const BATCH = 1000;

/**
 * Chain every pending event of the tenant inside `trx`, waiting for its head. Everything
 * committed to the queue before the head was locked is in the chain afterwards.
 */
export async function settleInTransaction(
  trx: Knex.Transaction,
  tenantId: string,
): Promise<number> {
  let head = await lockHead(trx, tenantId, { wait: true });
  if (!head?.pending) return 0;
  let total = 0;
  for (;;) {
    const step = await chainPending(trx, tenantId, head, BATCH);
    if (step.chained === 0) return total;
    total += step.chained;
    head = step.head;
  }
}

/**
 * Chain the pending events of one tenant or of all, a batch per transaction. With
 * `wait: false` (the settler) a tenant whose head another transaction holds is left to
 * that holder or the next round.
 */
export async function settleAudit(
  knex: Knex,
  opts: { tenantId?: string | undefined; wait?: boolean } = {},
): Promise<number> {
  // Which tenants have queued events: a definer function, since the queue spans tenants.
  const tenants = opts.tenantId
    ? [opts.tenantId]
    : (
        (await knex.raw('SELECT t AS id FROM audit_pending_tenants() AS t')) as {
          rows: Array<{ id: string }>;
        }
      ).rows.map((r) => r.id);
  let total = 0;
  for (const tenantId of tenants) {
    for (;;) {
      const n = await withTenant(knex, tenantId, async (trx) => {
        const head = await lockHead(trx, tenantId, { wait: opts.wait ?? true });
        return head?.pending ? (await chainPending(trx, tenantId, head, BATCH)).chained : 0;
      });
      total += n;
      if (n < BATCH) break;
    }
  }
  return total;
}

export interface Settler {
  stop(): Promise<void>;
}

/**
 * Closing the tail (issue 12): a chain's end is only as safe as its last signed
 * checkpoint, since whoever controls the database can cut or replace events after it. So
 * each chain gets a checkpoint once it has grown `everyEvents` past its last one (looked
 * at on every settling round). The time bound, a checkpoint for every chain that grew
 * at all every AUDIT_CHECKPOINT_INTERVAL_MS, is the scheduled job's (src/jobs/index.ts),
 * which runs once for all replicas.
 */
export interface CheckpointPolicy {
  key: SigningKey;
  everyEvents: number;
  clock?: Clock;
}

/**
 * Settle every `everyMs` in the background until stopped; with `checkpoints`, sign them
 * as that policy says. Queued events whose MAC fails are logged as they are found.
 */
export function startSettler(
  knex: Knex,
  opts: { everyMs: number; logger: Logger; checkpoints?: CheckpointPolicy },
): Settler {
  let rejectedSeen = rejectedQueued.count;
  const policy = opts.checkpoints;
  const round = async () => {
    const n = await settleAudit(knex, { wait: false });
    if (n) opts.logger.debug('audit events settled', { events: n });
    if (rejectedQueued.count > rejectedSeen) {
      opts.logger.error('queued audit events failed their MAC and were not chained', {
        rejected: rejectedQueued.count - rejectedSeen,
        eventIds: rejectedQueued.lastEventIds,
        hint: 'someone without the audit MAC key wrote to audit_pending; `seatkeeper audit verify` lists them',
      });
      rejectedSeen = rejectedQueued.count;
    }
    if (!policy) return;
    const clock = policy.clock ? { clock: policy.clock } : {};
    const signed = await createCheckpoints(knex, policy.key, {
      ...clock,
      minEvents: policy.everyEvents,
    });
    if (signed.length)
      opts.logger.debug('audit checkpoints signed', { checkpoints: signed.length });
  };
  const rounds = repeatEvery(opts.everyMs, round, (err) =>
    opts.logger.warn('audit settling failed', { error: err }),
  );
  return {
    async stop() {
      await rounds.stop();
      // A last round, so a clean shutdown leaves nothing unchained.
      await settleAudit(knex, { wait: true }).catch((err: unknown) => {
        opts.logger.warn('audit settling failed', { error: err });
      });
    },
  };
}
