// Floating licences: leases checked out of the licence's pool (its seats; null:
// unlimited). Every change to a pool — check-out, check-in, heartbeat, a look at a lease,
// the cull — holds the licence row's lock (SELECT … FOR UPDATE) and first settles the
// pool: leases and queued requests past their heartbeat deadline expire, and the queue
// is served in arrival order (`seq`) while there is room. So the pool never holds more
// than its seats, whatever the concurrency, and a freed seat goes to position 1 in the
// transaction that freed it.
import type { Knex } from 'knex';
import { appendAuditEvent, type Actor } from '../audit/index.js';
import { withTenant } from '../db/tenant-scope.js';
import { recordActivityOf } from '../directory/index.js';
import { licenceForKeys, type KeyedLicence } from '../licensing/index.js';
import type { Clock } from '../shared/clock.js';
import { AppError, notFound } from '../shared/errors.js';
import { isUuid, newId } from '../shared/ids.js';
import { usableLicence, withLicenseKey, type KeyScope } from './key-auth.js';
import { fingerprintDigest } from './machines.js';
import { CheckOutInput, type Lease, type LeaseStatus, type ValidationCode } from './records.js';

/** LEASE_TTL_SECONDS when unset: a lease (or a queued request) lives 15 minutes unbeaten. */
export const DEFAULT_LEASE_TTL_SECONDS = 900;

export interface LeaseDeps {
  knex: Knex;
  clock: Clock;
  leaseTtlSeconds: number;
}

interface LeaseRow {
  lease_id: string;
  license_id: string;
  status: LeaseStatus;
  seq: string;
  user_name: string | null;
  expires_at: Date;
}

const LIVE = ['active', 'queued'];
const deadline = (now: Date, ttlSeconds: number) => new Date(now.getTime() + ttlSeconds * 1000);

async function audit(
  trx: Knex.Transaction,
  tenantId: string,
  clock: Clock,
  actor: Actor,
  action: 'lease.checked_out' | 'lease.queued' | 'lease.checked_in' | 'lease.expired',
  leaseId: string,
  payload: Record<string, unknown>,
) {
  await appendAuditEvent(
    trx,
    tenantId,
    { action, actor, target: { type: 'lease', id: leaseId }, payload },
    clock,
  );
}

/**
 * Under the licence's lock: expire what missed its heartbeat, then serve the queue while
 * there is room. Returns how many expired and how many were served.
 */
export async function settlePool(
  trx: Knex.Transaction,
  tenantId: string,
  licence: KeyedLicence,
  deps: LeaseDeps,
  actor: Actor,
): Promise<{ expired: number; served: number }> {
  const now = deps.clock.now();
  const dead = (
    await trx.raw(
      `WITH dead AS (
         SELECT lease_id, status FROM leases
          WHERE tenant_id = ? AND license_id = ? AND status IN ('active', 'queued')
            AND expires_at <= ?
       )
       UPDATE leases l SET status = 'expired', ended_at = ?
         FROM dead WHERE l.tenant_id = ? AND l.lease_id = dead.lease_id
       RETURNING l.lease_id, dead.status AS was`,
      [tenantId, licence.id, now.toISOString(), now.toISOString(), tenantId],
    )
  ).rows as Array<{ lease_id: string; was: LeaseStatus }>;
  for (const d of dead)
    await audit(trx, tenantId, deps.clock, actor, 'lease.expired', d.lease_id, {
      licenseId: licence.id,
      was: d.was,
    });
  let room: number | null = null;
  if (licence.seats !== null) {
    const [{ n }] = (await trx('leases')
      .where({ tenant_id: tenantId, license_id: licence.id, status: 'active' })
      .count({ n: '*' })) as [{ n: string | number }];
    room = Math.max(0, licence.seats - Number(n));
    if (room === 0) return { expired: dead.length, served: 0 };
  }
  const next = trx('leases')
    .where({ tenant_id: tenantId, license_id: licence.id, status: 'queued' })
    .orderBy('seq')
    .select('lease_id');
  if (room !== null) next.limit(room);
  const served = (await trx('leases')
    .where({ tenant_id: tenantId })
    .whereIn('lease_id', next)
    .update({
      status: 'active',
      granted_at: now.toISOString(),
      expires_at: deadline(now, deps.leaseTtlSeconds).toISOString(),
    })
    .returning(['lease_id', 'seq'])) as Array<{ lease_id: string; seq: string }>;
  for (const s of served.sort((a, b) => Number(a.seq) - Number(b.seq)))
    await audit(trx, tenantId, deps.clock, actor, 'lease.checked_out', s.lease_id, {
      licenseId: licence.id,
      fromQueue: true,
    });
  return { expired: dead.length, served: served.length };
}

/** A queued request's place: 1 + how many queued before it. */
async function positionOf(trx: Knex.Transaction, tenantId: string, row: LeaseRow) {
  const [{ n }] = (await trx('leases')
    .where({ tenant_id: tenantId, license_id: row.license_id, status: 'queued' })
    .where('seq', '<', row.seq)
    .count({ n: '*' })) as [{ n: string | number }];
  return Number(n) + 1;
}

async function leaseRecord(trx: Knex.Transaction, tenantId: string, row: LeaseRow) {
  const live = LIVE.includes(row.status);
  return {
    id: row.lease_id,
    status: row.status,
    ...(row.status === 'queued' ? { position: await positionOf(trx, tenantId, row) } : {}),
    ...(live ? { expiresAt: row.expires_at.toISOString() } : {}),
  } satisfies Lease;
}

const keyActor = (scope: KeyScope): Actor => ({
  type: 'system',
  id: `license_key:${scope.key.keyId}`,
});

export type CheckOut =
  | { queued: false; lease: { id: string; expiresAt: string } }
  | { queued: true; lease: { queued: true; position: number; id: string } };

/**
 * POST /leases: a lease while the pool has room, else a place in the queue. A request
 * naming a fingerprint that already holds (or waits for) a lease of this licence gets
 * that one back: a retried check-out does not take a second seat.
 */
export async function checkOut(deps: LeaseDeps, raw: string, body: unknown): Promise<CheckOut> {
  return withLicenseKey(deps, raw, async (scope) => {
    const { trx, key, now } = scope;
    const input = CheckOutInput.parse(body ?? {});
    const licence = await usableLicence(scope);
    await settlePool(trx, key.tenantId, licence, deps, keyActor(scope));
    const digest = input.fingerprint === undefined ? null : fingerprintDigest(input.fingerprint);
    let row: LeaseRow | undefined = digest
      ? await trx('leases')
          .where({ tenant_id: key.tenantId, license_id: licence.id, fingerprint_sha256: digest })
          .whereIn('status', LIVE)
          .first()
      : undefined;
    if (!row) {
      const [{ n }] = (await trx('leases')
        .where({ tenant_id: key.tenantId, license_id: licence.id })
        .whereIn('status', LIVE)
        .count({ n: '*' })) as [{ n: string | number }];
      // After settling, the queue is empty whenever there is room: live < seats means room.
      const status = licence.seats === null || Number(n) < licence.seats ? 'active' : 'queued';
      [row] = await trx('leases')
        .insert({
          tenant_id: key.tenantId,
          lease_id: newId(),
          license_id: licence.id,
          key_id: key.keyId,
          status,
          user_name: input.userName ?? null,
          fingerprint_sha256: digest,
          requested_at: now.toISOString(),
          granted_at: status === 'active' ? now.toISOString() : null,
          expires_at: deadline(now, deps.leaseTtlSeconds).toISOString(),
        })
        .returning('*');
      await audit(
        trx,
        key.tenantId,
        deps.clock,
        keyActor(scope),
        status === 'active' ? 'lease.checked_out' : 'lease.queued',
        row!.lease_id,
        { licenseId: licence.id, keyId: key.keyId, userName: input.userName ?? null },
      );
    }
    const lease = row!;
    if (lease.status === 'active')
      return {
        queued: false,
        lease: { id: lease.lease_id, expiresAt: lease.expires_at.toISOString() },
      };
    return {
      queued: true,
      lease: {
        queued: true,
        position: await positionOf(trx, key.tenantId, lease),
        id: lease.lease_id,
      },
    };
  });
}

/** The key's licence locked and settled, and one of its leases (404 for any other). */
async function settledLease(deps: LeaseDeps, scope: KeyScope, leaseId: string, usable: boolean) {
  const { trx, key } = scope;
  const licence = usable
    ? await usableLicence(scope)
    : await licenceForKeys(trx, key.tenantId, key.licenseId, {
        includeDeleted: true,
        forUpdate: true,
      });
  await settlePool(trx, key.tenantId, licence, deps, keyActor(scope));
  const row = isUuid(leaseId)
    ? ((await trx('leases')
        .where({ tenant_id: key.tenantId, lease_id: leaseId, license_id: licence.id })
        .first()) as LeaseRow | undefined)
    : undefined;
  if (!row) throw notFound('lease');
  return { licence, row };
}

/** GET /leases/{id}: its status now (a queued request learns here that it was served). */
export function getLease(deps: LeaseDeps, raw: string, leaseId: string): Promise<Lease> {
  return withLicenseKey(deps, raw, async (scope) => {
    const { row } = await settledLease(deps, scope, leaseId, false);
    return leaseRecord(scope.trx, scope.key.tenantId, row);
  });
}

/** POST /leases/{id}/heartbeat: a live lease (or queued request) lives another TTL. */
export function heartbeat(deps: LeaseDeps, raw: string, leaseId: string): Promise<Lease> {
  return withLicenseKey(deps, raw, async (scope) => {
    const { trx, key, now } = scope;
    const { licence, row } = await settledLease(deps, scope, leaseId, true);
    if (!LIVE.includes(row.status))
      throw new AppError(
        row.status === 'expired' ? 'lease_expired' : 'lease_released',
        `the lease is ${row.status}: check out again`,
        { status: 409 },
      );
    const [beaten] = (await trx('leases')
      .where({ tenant_id: key.tenantId, lease_id: row.lease_id })
      .update({ expires_at: deadline(now, deps.leaseTtlSeconds).toISOString() })
      .returning('*')) as LeaseRow[];
    // A named user's heartbeat is activity for reclamation, when the directory knows them.
    if (beaten!.user_name && beaten!.status === 'active')
      await recordActivityOf(trx, key.tenantId, beaten!.user_name, {
        productId: licence.productId,
        occurredAt: now,
      });
    return leaseRecord(trx, key.tenantId, beaten!);
  });
}

/** DELETE /leases/{id}: check in (or leave the queue); the next in line is served now. */
export function checkIn(deps: LeaseDeps, raw: string, leaseId: string): Promise<Lease> {
  return withLicenseKey(deps, raw, async (scope) => {
    const { trx, key, now } = scope;
    const { licence, row } = await settledLease(deps, scope, leaseId, false);
    if (!LIVE.includes(row.status)) return leaseRecord(trx, key.tenantId, row);
    const [released] = (await trx('leases')
      .where({ tenant_id: key.tenantId, lease_id: row.lease_id })
      .update({ status: 'released', ended_at: now.toISOString() })
      .returning('*')) as LeaseRow[];
    await audit(trx, key.tenantId, deps.clock, keyActor(scope), 'lease.checked_in', row.lease_id, {
      licenseId: licence.id,
      was: row.status,
    });
    await settlePool(trx, key.tenantId, licence, deps, keyActor(scope));
    return leaseRecord(trx, key.tenantId, released!);
  });
}

/** The lease-cull job for one tenant: every pool with something to settle, settled. */
export async function cullLeases(
  deps: LeaseDeps & { tenantId: string; actor: Actor },
): Promise<{ licences: number; expired: number; served: number }> {
  return withTenant(deps.knex, deps.tenantId, async (trx) => {
    const now = deps.clock.now();
    const ids = (await trx('leases')
      .where({ tenant_id: deps.tenantId })
      .where((q) =>
        q
          .where('status', 'queued')
          .orWhere((d) => d.whereIn('status', LIVE).where('expires_at', '<=', now.toISOString())),
      )
      .distinct('license_id')
      .orderBy('license_id')) as Array<{ license_id: string }>;
    let expired = 0;
    let served = 0;
    for (const { license_id } of ids) {
      const licence = await licenceForKeys(trx, deps.tenantId, license_id, {
        includeDeleted: true,
        forUpdate: true,
      });
      const done = await settlePool(trx, deps.tenantId, licence, deps, deps.actor);
      expired += done.expired;
      served += done.served;
    }
    return { licences: ids.length, expired, served };
  });
}

/** For validation: the lease must be an active lease of this licence. */
export async function leaseStanding(
  trx: Knex.Transaction,
  tenantId: string,
  licence: KeyedLicence,
  leaseId: string,
  now: Date,
): Promise<ValidationCode> {
  if (!isUuid(leaseId)) return 'no_lease';
  const row = (await trx('leases')
    .where({ tenant_id: tenantId, lease_id: leaseId, license_id: licence.id })
    .first()) as LeaseRow | undefined;
  if (!row || row.status === 'queued' || row.status === 'released') return 'no_lease';
  if (row.status === 'expired' || row.expires_at <= now) return 'lease_expired';
  return 'valid';
}
