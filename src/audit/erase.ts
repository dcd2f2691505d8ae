// GDPR erasure: the personal data in a subject's audit payloads is removed, the events
// and their digests stay, so the chain still verifies. The erasure is itself audited.
import type { Knex } from 'knex';
import { systemClock, type Clock } from '../shared/clock.js';
import { appendAuditEvent } from './append.js';
import { settleInTransaction } from './settle.js';
import type { Actor } from './types.js';

export async function eraseSubject(
  knex: Knex,
  tenantId: string,
  subjectId: string,
  actor: Actor,
  clock: Clock = systemClock,
): Promise<number> {
  return knex.transaction(async (trx) => {
    // Payloads still waiting to be chained are not in audit_events yet: chain them
    // first, holding the head, so none committed before the erasure escapes it.
    await settleInTransaction(trx, tenantId);
    const erased = await trx('audit_events')
      .where({ tenant_id: tenantId, subject_id: subjectId })
      .whereNull('erased_at')
      .whereNotNull('body')
      .update({ body: null, salt: null, erased_at: clock.now().toISOString() });
    await appendAuditEvent(
      trx,
      tenantId,
      {
        action: 'audit.subject_erased',
        actor,
        target: { type: 'subject', id: subjectId },
        payload: { payloadsErased: erased },
      },
      clock,
    );
    return erased;
  });
}
