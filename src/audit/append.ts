// The one way events enter the trail. It runs inside the caller's transaction, so a
// change and its audit events commit or roll back together. Concurrency: the tenant's
// head row is locked (FOR UPDATE) for the rest of the transaction, which serialises
// appenders per tenant, and UNIQUE (tenant_id, seq) is the backstop should anything
// ever bypass the lock.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { AppError } from '../shared/errors.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { eventHash, newSalt, payloadDigest, type ChainedFields } from './chain.js';
import type { AuditEventInput } from './types.js';

// Rows per INSERT statement: well under PostgreSQL's 65,535 bound parameters.
const INSERT_CHUNK = 1000;

export interface AppendedEvent {
  seq: number;
  eventId: string;
  hash: string;
}

export async function appendAuditEvents(
  trx: Knex.Transaction,
  tenantId: string,
  inputs: AuditEventInput[],
  clock: Clock = systemClock,
): Promise<AppendedEvent[]> {
  if (!trx.isTransaction) {
    throw new AppError(
      'audit_outside_transaction',
      'audit events must be appended inside the transaction of the change',
    );
  }
  if (inputs.length === 0) return [];
  const head = await trx('audit_heads')
    .where({ tenant_id: tenantId })
    .forUpdate()
    .first('seq', 'hash');
  if (!head)
    throw new AppError('tenant_not_found', `tenant ${tenantId} not found`, { status: 404 });

  let seq = Number(head.seq);
  let hash = String(head.hash);
  const occurredAt = clock.now().toISOString();
  const events: Record<string, unknown>[] = [];
  const payloads: Record<string, unknown>[] = [];
  const appended: AppendedEvent[] = [];

  for (const input of inputs) {
    const eventId = randomUUID();
    let digest: string | null = null;
    if (input.payload !== undefined) {
      const salt = newSalt();
      digest = payloadDigest(salt, input.payload);
      payloads.push({
        tenant_id: tenantId,
        event_id: eventId,
        subject_id: input.subject ?? null,
        salt,
        body: JSON.stringify(input.payload),
      });
    }
    const fields: ChainedFields = {
      eventId,
      occurredAt,
      actorType: input.actor.type,
      actorId: input.actor.id ?? null,
      action: input.action,
      targetType: input.target?.type ?? null,
      targetId: input.target?.id ?? null,
      payloadDigest: digest,
    };
    seq += 1;
    const prevHash = hash;
    hash = eventHash(prevHash, seq, tenantId, fields);
    events.push({
      tenant_id: tenantId,
      seq,
      event_id: eventId,
      occurred_at: occurredAt,
      actor_type: fields.actorType,
      actor_id: fields.actorId,
      action: fields.action,
      target_type: fields.targetType,
      target_id: fields.targetId,
      payload_digest: digest,
      prev_hash: prevHash,
      hash,
    });
    appended.push({ seq, eventId, hash });
  }

  // The head stays locked until commit, and every writer of this tenant waits for it:
  // the usual small append is therefore one statement (events, payloads and the new head
  // in data-modifying CTEs), one round trip instead of three.
  if (events.length <= INSERT_CHUNK) {
    const q = trx.with('e', trx('audit_events').insert(events));
    if (payloads.length) q.with('p', trx('audit_payloads').insert(payloads));
    await q.from('audit_heads').where({ tenant_id: tenantId }).update({ seq, hash });
    return appended;
  }
  for (let i = 0; i < events.length; i += INSERT_CHUNK) {
    await trx('audit_events').insert(events.slice(i, i + INSERT_CHUNK));
  }
  for (let i = 0; i < payloads.length; i += INSERT_CHUNK) {
    await trx('audit_payloads').insert(payloads.slice(i, i + INSERT_CHUNK));
  }
  await trx('audit_heads').where({ tenant_id: tenantId }).update({ seq, hash });
  return appended;
}

export const appendAuditEvent = async (
  trx: Knex.Transaction,
  tenantId: string,
  input: AuditEventInput,
  clock?: Clock,
): Promise<AppendedEvent> => (await appendAuditEvents(trx, tenantId, [input], clock))[0]!;
