// Node-locked licences: the machines a licence key activates. The machine limit is the
// licence's seats (null: unlimited). Every activation counts under the licence row's lock
// (usableLicence), so parallel activations never pass the limit, and the partial unique
// index on the active fingerprint makes a retried activation find the machine it made.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAuditEvent, type Actor } from '../audit/index.js';
import { withTenant } from '../db/tenant-scope.js';
import {
  licenceForKeys,
  page,
  type KeyedLicence,
  type Page,
  type PageRequest,
} from '../licensing/index.js';
import type { Clock } from '../shared/clock.js';
import { AppError, conflict, notFound } from '../shared/errors.js';
import { isUuid, newId } from '../shared/ids.js';
import { usableLicence, withLicenseKey, type KeyScope } from './key-auth.js';
import {
  ActivateMachineInput,
  TransferMachineInput,
  type Machine,
  type ValidationCode,
} from './records.js';

/** Only the digest is stored: a fingerprint may be a serial number or a MAC address. */
export const fingerprintDigest = (fingerprint: string): Buffer =>
  createHash('sha256').update(fingerprint, 'utf8').digest();

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const machineRecord = (r: Record<string, unknown>): Machine => ({
  id: r.machine_id as string,
  licenseId: r.license_id as string,
  name: (r.name as string | null) ?? null,
  activatedAt: (r.activated_at as Date).toISOString(),
  deactivatedAt: iso(r.deactivated_at as Date | null),
});

export const tooManyMachines = (seats: number) =>
  new AppError('too_many_machines', `the licence allows ${seats} active machines`, {
    status: 409,
  });

const keyActor = (scope: KeyScope): Actor => ({
  type: 'system',
  id: `license_key:${scope.key.keyId}`,
});

const activeMachines = (trx: Knex.Transaction, tenantId: string, licenseId: string) =>
  trx('machines').where({ tenant_id: tenantId, license_id: licenseId }).whereNull('deactivated_at');

async function countActive(trx: Knex.Transaction, tenantId: string, licenseId: string) {
  const [{ n }] = (await activeMachines(trx, tenantId, licenseId).count({ n: '*' })) as [
    { n: string | number },
  ];
  return Number(n);
}

/** POST /machines: the machine, and whether this request made it (201) or found it (200). */
export async function activateMachine(
  deps: { knex: Knex; clock: Clock },
  raw: string,
  body: unknown,
): Promise<{ created: boolean; machine: Machine }> {
  return withLicenseKey(deps, raw, async (scope) => {
    const { trx, key } = scope;
    const input = ActivateMachineInput.parse(body ?? {});
    const licence = await usableLicence(scope);
    const digest = fingerprintDigest(input.fingerprint);
    const existing = await activeMachines(trx, key.tenantId, licence.id)
      .where({ fingerprint_sha256: digest })
      .first();
    if (existing) return { created: false, machine: machineRecord(existing) };
    if (
      licence.seats !== null &&
      (await countActive(trx, key.tenantId, licence.id)) >= licence.seats
    )
      throw tooManyMachines(licence.seats);
    const [row] = await trx('machines')
      .insert({
        tenant_id: key.tenantId,
        machine_id: newId(),
        license_id: licence.id,
        fingerprint_sha256: digest,
        name: input.name ?? null,
        activated_at: scope.now.toISOString(),
      })
      .returning('*');
    await appendAuditEvent(
      trx,
      key.tenantId,
      {
        action: 'machine.activated',
        actor: keyActor(scope),
        target: { type: 'machine', id: row.machine_id },
        payload: { licenseId: licence.id, keyId: key.keyId, name: row.name },
      },
      deps.clock,
    );
    return { created: true, machine: machineRecord(row) };
  });
}

/** DELETE /machines/{id}: only a machine of the key's own licence; twice is a no-op. */
export async function deactivateMachine(
  deps: { knex: Knex; clock: Clock },
  raw: string,
  machineId: string,
): Promise<Machine> {
  return withLicenseKey(deps, raw, async (scope) => {
    const { trx, key } = scope;
    if (!isUuid(machineId)) throw notFound('machine');
    await licenceForKeys(trx, key.tenantId, key.licenseId, {
      includeDeleted: true,
      forUpdate: true,
    });
    const row = await trx('machines')
      .where({ tenant_id: key.tenantId, machine_id: machineId, license_id: key.licenseId })
      .first();
    if (!row) throw notFound('machine');
    if (row.deactivated_at) return machineRecord(row);
    const [updated] = await trx('machines')
      .where({ tenant_id: key.tenantId, machine_id: machineId })
      .update({ deactivated_at: scope.now.toISOString() })
      .returning('*');
    await appendAuditEvent(
      trx,
      key.tenantId,
      {
        action: 'machine.deactivated',
        actor: keyActor(scope),
        target: { type: 'machine', id: machineId },
        payload: { licenseId: key.licenseId, keyId: key.keyId },
      },
      deps.clock,
    );
    return machineRecord(updated);
  });
}

export interface MachineAdminContext {
  knex: Knex;
  tenantId: string;
  actor: Actor;
  clock: Clock;
}

/** GET /licenses/{id}/machines: active and deactivated, in id order. */
export async function listMachines(
  ctx: MachineAdminContext,
  licenseId: string,
  req: PageRequest,
): Promise<Page<Machine>> {
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    await licenceForKeys(trx, ctx.tenantId, licenseId, { includeDeleted: true });
    return page(
      trx('machines').where({ tenant_id: ctx.tenantId, license_id: licenseId }),
      'machine_id',
      req,
      machineRecord,
    );
  });
}

/**
 * POST /machines/{id}/transfer: move an active machine to another licence of the same
 * product, counted against that licence's limit. Both licence rows are locked in id
 * order, so two transfers crossing between the same licences cannot deadlock.
 */
export async function transferMachine(
  ctx: MachineAdminContext,
  machineId: string,
  body: unknown,
): Promise<Machine> {
  const input = TransferMachineInput.parse(body ?? {});
  if (!isUuid(machineId)) throw notFound('machine');
  return withTenant(ctx.knex, ctx.tenantId, async (trx) => {
    const row = await trx('machines')
      .where({ tenant_id: ctx.tenantId, machine_id: machineId })
      .first();
    if (!row) throw notFound('machine');
    const ids = [...new Set([row.license_id as string, input.licenseId])].sort();
    await trx('licenses')
      .where({ tenant_id: ctx.tenantId })
      .whereIn('license_id', ids)
      .orderBy('license_id')
      .forUpdate()
      .select('license_id');
    const from = await licenceForKeys(trx, ctx.tenantId, row.license_id, { includeDeleted: true });
    const to = await licenceForKeys(trx, ctx.tenantId, input.licenseId);
    const current = await trx('machines')
      .where({ tenant_id: ctx.tenantId, machine_id: machineId })
      .first();
    // Moved by another transfer between our read and our locks: its licence is not locked.
    if (current.license_id !== from.id) throw conflict('the machine moved meanwhile: retry');
    if (current.deactivated_at) throw conflict('the machine is deactivated');
    if (to.id === from.id) return machineRecord(current);
    await checkRoomFor(trx, ctx.tenantId, to, from, current.fingerprint_sha256 as Buffer);
    const [moved] = await trx('machines')
      .where({ tenant_id: ctx.tenantId, machine_id: machineId })
      .update({ license_id: to.id })
      .returning('*');
    await appendAuditEvent(
      trx,
      ctx.tenantId,
      {
        action: 'machine.transferred',
        actor: ctx.actor,
        target: { type: 'machine', id: machineId },
        payload: { fromLicenseId: from.id, toLicenseId: to.id },
      },
      ctx.clock,
    );
    return machineRecord(moved);
  });
}

async function checkRoomFor(
  trx: Knex.Transaction,
  tenantId: string,
  to: KeyedLicence,
  from: KeyedLicence,
  digest: Buffer,
): Promise<void> {
  if (to.productId !== from.productId)
    throw new AppError('product_mismatch', 'a machine moves only to a licence of its product', {
      status: 409,
    });
  if (await activeMachines(trx, tenantId, to.id).where({ fingerprint_sha256: digest }).first())
    throw new AppError('machine_exists', 'that licence already has this machine active', {
      status: 409,
    });
  if (to.seats !== null && (await countActive(trx, tenantId, to.id)) >= to.seats)
    throw tooManyMachines(to.seats);
}

/**
 * For validation: the fingerprint must be an active machine of the licence, and among
 * the first `seats` activated (a licence whose seats were cut keeps its oldest machines).
 */
export async function machineStanding(
  trx: Knex.Transaction,
  tenantId: string,
  licence: KeyedLicence,
  fingerprint: string,
): Promise<ValidationCode> {
  const mine = await activeMachines(trx, tenantId, licence.id)
    .where({ fingerprint_sha256: fingerprintDigest(fingerprint) })
    .first();
  if (!mine) return 'fingerprint_mismatch';
  if (licence.seats === null) return 'valid';
  const [{ n }] = (await activeMachines(trx, tenantId, licence.id)
    .whereRaw('(activated_at, machine_id) < (?, ?)', [mine.activated_at, mine.machine_id])
    .count({ n: '*' })) as [{ n: string | number }];
  return Number(n) >= licence.seats ? 'too_many_machines' : 'valid';
}
