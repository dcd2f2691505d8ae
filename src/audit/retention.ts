// Audit retention (issue 14): the payloads of a tenant's events older than its
// auditRetentionDays are erased exactly as a GDPR erasure erases them (erase.ts): body
// and salt go, the digests and the chain stay, so the trail still verifies. The erasure
// is recorded by its own `audit.payloads_expired` event, appended in the same call by
// audit_erase_expired (migrations/20261208000200_license_schedules.ts), the only way the
// service's role can do it. A run erases at most `limit` payloads, oldest first: a
// tenant turning retention on over years of events is worked off over several runs,
// each a short transaction.
import type { Knex } from 'knex';
import { withTenant } from '../db/tenant-scope.js';
import { AppError } from '../shared/errors.js';
import type { Clock } from '../shared/clock.js';
import { eraseEventRow, prepareAuditEvents } from './append.js';
import { settleInTransaction } from './settle.js';
import type { Actor } from './types.js';

/** The most payloads one retention run erases. */
export const AUDIT_RETENTION_BATCH = 5_000;

export interface RetentionResult {
  /** Payloads erased by this run. */
  erased: number;
  /** Whether older payloads remain for the next run (the batch was full). */
  more: boolean;
}

/** Erase payloads of events that occurred before `before` (at most `limit`), recorded. */
export async function eraseExpiredPayloads(
  knex: Knex,
  tenantId: string,
  opts: { before: Date; actor: Actor; clock: Clock; limit?: number },
): Promise<RetentionResult> {
  const limit = opts.limit ?? AUDIT_RETENTION_BATCH;
  if (!Number.isInteger(limit) || limit < 1)
    throw new AppError('invalid_input', 'the retention batch must be a positive integer', {
      status: 400,
    });
  return withTenant(knex, tenantId, async (trx) => {
    // As erase.ts: chain what is queued first, holding the head, so nothing committed
    // before the cut-off escapes it, and no other erasure or append interleaves.
    await settleInTransaction(trx, tenantId);
    const head = (await trx.raw(`SELECT seq, hash FROM audit_lock_head(?, true)`, [tenantId])) as {
      rows: Array<{ seq: number; hash: string }>;
    };
    const at = head.rows[0];
    if (!at)
      throw new AppError('tenant_not_found', `tenant ${tenantId} not found`, { status: 404 });
    const before = opts.before.toISOString();
    const { rows } = (await trx.raw(
      `SELECT count(*) AS n FROM (
         SELECT 1 FROM audit_events
          WHERE tenant_id = ? AND body IS NOT NULL AND occurred_at < ?::timestamptz
          LIMIT ?) x`,
      [tenantId, before, limit + 1],
    )) as { rows: Array<{ n: string | number }> };
    const found = Number(rows[0]!.n);
    const erased = Math.min(found, limit);
    // Nothing to erase: nothing to record either (a daily run over a quiet trail
    // appends no event a day).
    if (erased === 0) return { erased: 0, more: false };
    const { events } = await prepareAuditEvents(
      [
        {
          action: 'audit.payloads_expired',
          actor: opts.actor,
          target: { type: 'tenant', id: tenantId },
          payload: { reason: 'audit retention', before, payloadsErased: erased },
        },
      ],
      opts.clock,
    );
    const event = eraseEventRow(tenantId, { seq: Number(at.seq), hash: at.hash }, events[0]!);
    await trx.raw(`SELECT audit_erase_expired(?, ?::timestamptz, ?, ?, ?, ?::json) AS n`, [
      tenantId,
      before,
      limit,
      at.seq,
      at.hash,
      JSON.stringify(event),
    ]);
    return { erased, more: found > limit };
  });
}
