// Verification walks a tenant's chain from the first event, recomputing every hash,
// and names the first event where the stored trail stops matching what was appended:
// edited (hash), inserted or reordered (previous hash), deleted (sequence gap), a
// payload swapped (digest), or the tail cut off (the head row, and signed checkpoints
// that point past the end of the chain).
import type { KeyObject } from 'node:crypto';
import type { Knex } from 'knex';
import { withTenant } from '../db/tenant-scope.js';
import { eventHash, GENESIS_HASH, payloadDigest } from './chain.js';
import { checkpointSignatureValid, listCheckpoints, type Checkpoint } from './checkpoint.js';
import { readAuditEvents, chainedFieldsOf, type StoredFields } from './read.js';
import { installedMacKey, macValid } from './mac.js';

export type BrokenReason =
  | 'missing_event'
  | 'prev_hash_mismatch'
  | 'hash_mismatch'
  | 'payload_mismatch'
  | 'head_mismatch'
  | 'truncated'
  | 'checkpoint_mismatch'
  | 'checkpoint_signature_invalid'
  | 'checkpoint_key_unknown'
  | 'mac_mismatch'
  | 'queued_mac_invalid';

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
  /** Whether event MACs were checked (only with the MAC key). */
  macsChecked: boolean;
  /** Queued events whose MAC fails: never chained, left for an operator (issue 12). */
  rejectedPending: number;
  firstBroken: BrokenLink | null;
}

export interface VerifyOptions {
  /** Trusted checkpoint keys by key id (the configured signing key's public half). */
  publicKeys?: Map<string, KeyObject>;
  /** Checkpoints kept outside the database (`audit checkpoint` output). */
  externalCheckpoints?: Checkpoint[];
  /**
   * The audit MAC key (src/audit/mac.ts); by default the one this process installed.
   * Without it, events' MACs are not checked (the report says so).
   */
  macKey?: Buffer | null;
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
  const scoped = <T>(fn: (trx: Knex.Transaction) => Promise<T>) => withTenant(knex, tenantId, fn);
  const stored = await listCheckpoints(knex, tenantId);
  const external = (opts.externalCheckpoints ?? []).filter((c) => c.tenantId === tenantId);
  const checkpoints = trustedCheckpoints(
    [...stored, ...external],
    opts.publicKeys ?? new Map(),
    problems,
  );
  const readHead = async () =>
    (await scoped((trx) =>
      trx('audit_heads').where({ tenant_id: tenantId }).first('seq', 'hash'),
    )) as { seq: number; hash: string } | undefined;
  // The head is read before the walk: every event it covers had committed by then, so an
  // append that commits during the walk cannot pass for events removed from the end.
  const headBefore = await readHead();

  let expected = 1;
  let prevHash = GENESIS_HASH;
  let lastEventId: string | null = null;
  let events = 0;
  let chainBroken = false;
  const macKey = opts.macKey === undefined ? installedMacKey() : opts.macKey;
  // Events written before MACs existed have none; once one has a MAC, all after it must.
  let macsBegun = false;
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
    if (!broken && macKey) {
      if (e.mac !== null) macsBegun = true;
      if ((e.mac !== null || macsBegun) && !macValid(macKey, tenantId, e, e.mac))
        broken = {
          ...at,
          reason: 'mac_mismatch',
          message: `event ${e.seq} does not carry the MAC of an event the service wrote: forged`,
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
      const past = (await scoped((trx) =>
        trx('audit_events').where({ tenant_id: tenantId, seq }).first('event_id'),
      )) as { event_id: string } | undefined;
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

  // Queued events are checked as the settler checks them: one that fails its MAC is
  // never chained, and is reported here for an operator.
  const queued = (await scoped((trx) =>
    trx('audit_pending')
      .where({ tenant_id: tenantId })
      .orderBy('queued')
      .select(
        'event_id',
        'occurred_at',
        'actor_type',
        'actor_id',
        'action',
        'target_type',
        'target_id',
        'payload_digest',
        'mac',
      ),
  )) as Array<StoredFields & { mac: string | null }>;
  const pending = queued.length;
  const rejected = macKey
    ? queued.filter((r) => !macValid(macKey, tenantId, chainedFieldsOf(r), r.mac))
    : [];
  if (rejected.length > 0) {
    problems.push({
      seq: (head ? Number(head.seq) : 0) + 1,
      eventId: rejected[0]!.event_id,
      reason: 'queued_mac_invalid',
      message: `${rejected.length} queued event${rejected.length > 1 ? 's' : ''} (first ${rejected[0]!.event_id}) fail${rejected.length > 1 ? '' : 's'} the MAC check: written by someone without the key, never chained`,
    });
  }
  problems.sort((a, b) => a.seq - b.seq);
  return {
    tenantId,
    ok: problems.length === 0,
    events,
    headSeq: head ? Number(head.seq) : null,
    pending,
    macsChecked: macKey !== null,
    rejectedPending: rejected.length,
    checkpointsChecked: [...checkpoints.values()].reduce((n, cs) => n + cs.length, 0),
    firstBroken: problems[0] ?? null,
  };
}
