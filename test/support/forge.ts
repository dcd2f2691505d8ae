// An audit event row as an attacker with database access would write it: well formed,
// linked into the chain after `prevHash`, with a MAC that is either made up (the
// database does not hold the key) or, for tests of what the hash chain alone catches,
// made with the test key.
import { randomUUID } from 'node:crypto';
import { eventHash, type ChainedFields } from '../../src/audit/chain.js';
import { eventMac } from '../../src/audit/mac.js';
import { TEST_MAC_KEY } from './db.js';

export function forgedEventRow(
  tenantId: string,
  seq: number,
  prevHash: string,
  opts: { at: Date; mac: 'made-up' | 'with-key' },
) {
  const fields: ChainedFields = {
    eventId: randomUUID(),
    occurredAt: opts.at.toISOString(),
    actorType: 'user',
    actorId: 'mallory',
    action: 'token.created',
    targetType: 'token',
    targetId: 'backdoor',
    payloadDigest: null,
  };
  return {
    tenant_id: tenantId,
    seq,
    event_id: fields.eventId,
    occurred_at: new Date(fields.occurredAt),
    actor_type: fields.actorType,
    actor_id: fields.actorId,
    action: fields.action,
    target_type: fields.targetType,
    target_id: fields.targetId,
    payload_digest: fields.payloadDigest,
    prev_hash: prevHash,
    hash: eventHash(prevHash, seq, tenantId, fields),
    mac: opts.mac === 'with-key' ? eventMac(TEST_MAC_KEY, tenantId, fields) : 'a'.repeat(64),
  };
}
