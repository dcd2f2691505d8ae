// GDPR erasure: the personal data in a subject's audit payloads is removed, the events
// and their digests stay, so the chain still verifies. Every erasure is itself audited:
// audit_erase (a SECURITY DEFINER function, the only way the service's role can erase)
// takes the erasure's own `audit.payload_erased` event, naming who erased and why, and
// appends it in the same call, so there is no erasure without its record (issue 12).
import type { Knex } from 'knex';
import { withTenant } from '../db/tenant-scope.js';
import { AppError } from '../shared/errors.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { prepareAuditEvents, eraseEventRow } from './append.js';
import { settleInTransaction } from './settle.js';
import type { Actor } from './types.js';

export interface ErasureRequest {
  /** Who asks for the erasure (recorded in the event). */
  actor: Actor;
  /** Why: the request or ticket it answers (recorded in the event's payload). */
  reason: string;
}

export async function eraseSubject(
  knex: Knex,
  tenantId: string,
  subjectId: string,
  request: ErasureRequest,
  clock: Clock = systemClock,
): Promise<number> {
  const reason = request.reason.trim();
  if (!reason) throw new AppError('invalid_input', 'an erasure needs a reason', { status: 400 });
  if (!request.actor.id)
    throw new AppError('invalid_input', 'an erasure needs an actor with an id', { status: 400 });
  return withTenant(knex, tenantId, async (trx) => {
    // Payloads still waiting to be chained are not in audit_events yet: chain them
    // first, holding the head, so none committed before the erasure escapes it. The
    // head stays held, so nothing else reaches the chain until this commits.
    await settleInTransaction(trx, tenantId);
    const head = await trx.raw(`SELECT seq, hash FROM audit_lock_head(?, true)`, [tenantId]);
    const at = (head as { rows: Array<{ seq: number; hash: string }> }).rows[0];
    if (!at)
      throw new AppError('tenant_not_found', `tenant ${tenantId} not found`, { status: 404 });
    const [{ n }] = (await trx('audit_events')
      .where({ tenant_id: tenantId, subject_id: subjectId })
      .whereNull('erased_at')
      .whereNotNull('body')
      .count({ n: '*' })) as [{ n: string | number }];
    const payloadsErased = Number(n);
    const { events } = await prepareAuditEvents(
      [
        {
          action: 'audit.payload_erased',
          actor: request.actor,
          target: { type: 'subject', id: subjectId },
          payload: { reason, payloadsErased },
        },
      ],
      clock,
    );
    const event = eraseEventRow(tenantId, { seq: Number(at.seq), hash: at.hash }, events[0]!);
    await trx.raw(`SELECT audit_erase(?, ?, ?, ?, ?::json) AS n`, [
      tenantId,
      subjectId,
      at.seq,
      at.hash,
      JSON.stringify(event),
    ]);
    return payloadsErased;
  });
}
