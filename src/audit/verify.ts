// Verification walks a tenant's chain from the first event, recomputing every hash,
// and names the first event where the stored trail stops matching what was appended:
// edited (hash), inserted or reordered (previous hash), deleted (sequence gap), a
// payload swapped (digest), or the tail cut off (the head row, and signed checkpoints
// that point past the end of the chain).
import type { KeyObject } from 'node:crypto';
import type { Knex } from 'knex';
import { eventHash, GENESIS_HASH, payloadDigest } from './chain.js';
import { checkpointSignatureValid, listCheckpoints, type Checkpoint } from './checkpoint.js';
import { readAuditEvents } from './read.js';

export type BrokenReason =
  | 'missing_event'
  | 'prev_hash_mismatch'
  | 'hash_mismatch'
  | 'payload_mismatch'
  | 'head_mismatch'
  | 'truncated'
  | 'checkpoint_mismatch'
  | 'checkpoint_signature_invalid'
  | 'checkpoint_key_unknown';

export interface BrokenLink {
  seq: number;
  eventId: string | null;
  reason: BrokenReason;
  message: string;
}

export interface VerifyReport {
  tenantId: string;
  ok: boolean;
  events: number;
  headSeq: number | null;
  /** Events committed but not chained yet (src/audit/settle.ts): not covered by this report. */
  pending: number;
  checkpointsChecked: number;
  firstBroken: BrokenLink | null;
}

export interface VerifyOptions {
  /** Trusted checkpoint keys by key id (the configured signing key's public half). */
  publicKeys?: Map<string, KeyObject>;
  /** Checkpoints kept outside the database (`audit checkpoint` output). */
  externalCheckpoints?: Checkpoint[];
}

function trustedCheckpoints(
  all: Checkpoint[],
  keys: Map<string, KeyObject>,
  problems: BrokenLink[],
): Map<number, Checkpoint[]> {
  const bySeq = new Map<number, Checkpoint[]>();
  const seen = new Set<string>();
  for (const c of all) {
    const id = `${c.seq}:${c.signature}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const key = keys.get(c.keyId);
    if (!key) {
      problems.push({
        seq: c.seq,
        eventId: null,
        reason: 'checkpoint_key_unknown',
        message: `checkpoint at seq ${c.seq} is signed by unknown key ${c.keyId}`,
      });
      continue;
    }
    if (!checkpointSignatureValid(key, c)) {
      problems.push({
        seq: c.seq,
        eventId: null,
        reason: 'checkpoint_signature_invalid',
        message: `checkpoint at seq ${c.seq} has an invalid signature`,
      });
      continue;
    }
    bySeq.set(c.seq, [...(bySeq.get(c.seq) ?? []), c]);
  }
  return bySeq;
}

export async function verifyTenantChain(
  knex: Knex,
  tenantId: string,
  opts: VerifyOptions = {},
): Promise<VerifyReport> {
  const problems: BrokenLink[] = [];
  const stored = await listCheckpoints(knex, tenantId);
  const external = (opts.externalCheckpoints ?? []).filter((c) => c.tenantId === tenantId);
  const checkpoints = trustedCheckpoints(
    [...stored, ...external],
    opts.publicKeys ?? new Map(),
    problems,
  );
  const readHead = async () =>
    (await knex('audit_heads').where({ tenant_id: tenantId }).first('seq', 'hash')) as
      { seq: number; hash: string } | undefined;
  // The head is read before the walk: every event it covers had committed by then, so an
  // append that commits during the walk cannot pass for events removed from the end.
  const headBefore = await readHead();

  let expected = 1;
  let prevHash = GENESIS_HASH;
  let lastEventId: string | null = null;
  let events = 0;
  let chainBroken = false;
  for await (const e of readAuditEvents(knex, { tenantId })) {
    events += 1;
    if (chainBroken) continue;
    const at = { seq: e.seq, eventId: e.eventId };
    let broken: BrokenLink | null = null;
    if (e.seq !== expected) {
      broken = {
        seq: expected,
        eventId: null,
        reason: 'missing_event',
        message: `event ${expected} is missing (the next event present is ${e.seq}, ${e.eventId})`,
      };
    } else if (e.prevHash !== prevHash) {
      broken = {
        ...at,
        reason: 'prev_hash_mismatch',
        message: `event ${e.seq} does not follow event ${e.seq - 1}: inserted, reordered or its predecessor replaced`,
      };
    } else if (eventHash(prevHash, e.seq, tenantId, e) !== e.hash) {
      broken = {
        ...at,
        reason: 'hash_mismatch',
        message: `event ${e.seq} was altered after it was written`,
      };
    } else if (e.payload !== null || e.payloadDigest !== null) {
      const intact =
        e.payloadDigest !== null &&
        (e.payload === null
          ? e.erasedAt !== null
          : e.salt !== null && payloadDigest(e.salt, e.payload) === e.payloadDigest);
      if (!intact)
        broken = {
          ...at,
          reason: 'payload_mismatch',
          message: `the payload of event ${e.seq} was altered or removed without erasure`,
        };
    }
    if (!broken) {
      for (const c of checkpoints.get(e.seq) ?? []) {
        if (c.headHash !== e.hash) {
          broken = {
            ...at,
            reason: 'checkpoint_mismatch',
            message: `event ${e.seq} differs from the checkpoint signed at ${c.signedAt}`,
          };
          break;
        }
      }
    }
    if (broken) {
      problems.push(broken);
      chainBroken = true;
      continue;
    }
    prevHash = e.hash;
    lastEventId = e.eventId;
    expected += 1;
  }

  const lastSeq = expected - 1;
  // Events past the head read before the walk may have been appended since: those are
  // compared with the head as it is now.
  const head = headBefore && Number(headBefore.seq) < lastSeq ? await readHead() : headBefore;
  if (!chainBroken) {
    const headSeq = head ? Number(head.seq) : 0;
    if (!head) {
      problems.push({
        seq: lastSeq + 1,
        eventId: null,
        reason: 'head_mismatch',
        message: 'the tenant has no chain head',
      });
    } else if (headSeq < lastSeq) {
      const seq = headSeq + 1;
      const past = (await knex('audit_events')
        .where({ tenant_id: tenantId, seq })
        .first('event_id')) as { event_id: string } | undefined;
      problems.push({
        seq,
        eventId: past?.event_id ?? null,
        reason: 'head_mismatch',
        message: `event ${seq} is past the chain head, which records event ${headSeq}: it was added without moving the head`,
      });
    } else if (headSeq > lastSeq) {
      // Unless the head moved on after the walk (more appends), events are missing.
      if (head === headBefore) {
        problems.push({
          seq: lastSeq + 1,
          eventId: null,
          reason: 'head_mismatch',
          message: `the chain ends at event ${lastSeq} but its head records event ${headSeq}: events were removed from the end`,
        });
      }
    } else if (head.hash !== prevHash) {
      problems.push({
        seq: lastSeq,
        eventId: lastEventId,
        reason: 'head_mismatch',
        message: `event ${lastSeq} is not the event its chain head records: it, or the head, was replaced`,
      });
    }
    const beyond = [...checkpoints.keys()].filter((seq) => seq > lastSeq).sort((a, b) => a - b);
    if (beyond.length > 0) {
      const c = checkpoints.get(beyond[beyond.length - 1]!)![0]!;
      problems.push({
        seq: lastSeq + 1,
        eventId: null,
        reason: 'truncated',
        message: `a checkpoint signed at ${c.signedAt} covers event ${c.seq}, but the chain ends at event ${lastSeq}`,
      });
    }
  }

  problems.sort((a, b) => a.seq - b.seq);
  const [{ n: pending }] = (await knex('audit_pending')
    .where({ tenant_id: tenantId })
    .count({ n: '*' })) as [{ n: string | number }];
  return {
    tenantId,
    ok: problems.length === 0,
    events,
    headSeq: head ? Number(head.seq) : null,
    pending: Number(pending),
    checkpointsChecked: [...checkpoints.values()].reduce((n, cs) => n + cs.length, 0),
    firstBroken: problems[0] ?? null,
  };
}
