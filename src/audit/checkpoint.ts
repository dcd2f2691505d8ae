// Signed checkpoints: (tenant, seq, head hash, time) signed with the Ed25519 key kept
// outside the database. A checkpoint exported to somewhere else lets `audit verify`
// notice a tail cut off after it, even by someone who also rewrote the head row.
import { sign, verify } from 'node:crypto';
import type { Knex } from 'knex';
import { allTenantIds, withTenant } from '../db/tenant-scope.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { canonicalJson } from './chain.js';
import type { SigningKey } from './signing-key.js';
import type { KeyObject } from 'node:crypto';

export interface Checkpoint {
  tenantId: string;
  seq: number;
  headHash: string;
  signedAt: string;
  keyId: string;
  signature: string;
}

const signedBytes = (c: Pick<Checkpoint, 'tenantId' | 'seq' | 'headHash' | 'signedAt'>) =>
  Buffer.from(
    canonicalJson({ tenantId: c.tenantId, seq: c.seq, headHash: c.headHash, signedAt: c.signedAt }),
    'utf8',
  );

export function signCheckpoint(
  key: SigningKey,
  c: Pick<Checkpoint, 'tenantId' | 'seq' | 'headHash' | 'signedAt'>,
): Checkpoint {
  return {
    ...c,
    keyId: key.keyId,
    signature: sign(null, signedBytes(c), key.privateKey).toString('base64url'),
  };
}

export function checkpointSignatureValid(publicKey: KeyObject, c: Checkpoint): boolean {
  try {
    return verify(null, signedBytes(c), publicKey, Buffer.from(c.signature, 'base64url'));
  } catch {
    return false;
  }
}

/**
 * Sign a checkpoint for every tenant (or one) whose chain grew since its last checkpoint
 * (by at least `minEvents`, default 1). Reads committed heads only; safe to run on
 * several replicas at once. The service's role writes checkpoints only through
 * audit_add_checkpoints (a SECURITY DEFINER function).
 */
export async function createCheckpoints(
  knex: Knex,
  key: SigningKey,
  opts: { clock?: Clock; tenantId?: string | undefined; minEvents?: number } = {},
): Promise<Checkpoint[]> {
  const clock = opts.clock ?? systemClock;
  // Every tenant's head at once, through a definer function (chain metadata only): the
  // settler asks this every second, and one statement answers for all tenants.
  const { rows: due } = (await knex.raw('SELECT tenant_id, seq, hash FROM audit_heads_due(?)', [
    Math.max(1, opts.minEvents ?? 1),
  ])) as { rows: Array<{ tenant_id: string; seq: number; hash: string }> };
  const heads = opts.tenantId ? due.filter((h) => h.tenant_id === opts.tenantId) : due;
  if (heads.length === 0) return [];
  const signedAt = clock.now().toISOString();
  const checkpoints = heads.map((h) =>
    signCheckpoint(key, { tenantId: h.tenant_id, seq: Number(h.seq), headHash: h.hash, signedAt }),
  );
  const rows = checkpoints.map((c) => ({
    tenant_id: c.tenantId,
    seq: c.seq,
    head_hash: c.headHash,
    signed_at: c.signedAt,
    key_id: c.keyId,
    signature: c.signature,
  }));
  await knex.raw('SELECT audit_add_checkpoints(?::json)', [JSON.stringify(rows)]);
  return checkpoints;
}

export async function listCheckpoints(knex: Knex, tenantId?: string): Promise<Checkpoint[]> {
  const rows = [];
  for (const t of tenantId ? [tenantId] : await allTenantIds(knex)) {
    rows.push(
      ...(await withTenant(knex, t, (trx) =>
        trx('audit_checkpoints').where({ tenant_id: t }).select('*').orderBy('seq'),
      )),
    );
  }
  return (
    rows as Array<{
      tenant_id: string;
      seq: number;
      head_hash: string;
      signed_at: Date;
      key_id: string;
      signature: string;
    }>
  ).map((r) => ({
    tenantId: r.tenant_id,
    seq: Number(r.seq),
    headHash: r.head_hash,
    signedAt: r.signed_at.toISOString(),
    keyId: r.key_id,
    signature: r.signature,
  }));
}
