// Seats as admins see and change them: lists, manual assignment, release, transfer.
// Manual seats are never touched by rules; seats held through a rule follow the rule.
// Each write takes its locks in the order documented in reconcile.ts ("Lock order"): the
// licences first, then the seat; and runs as one transaction, re-run on a deadlock or
// serialisation failure (src/db/retry.ts).
import type { Knex } from 'knex';
import { appendAuditEvent } from '../audit/index.js';
import { userExists } from '../directory/index.js';
import { AppError, invalidInput, notFound } from '../shared/errors.js';
import { seatLastActivity } from './activity.js';
import { inTenant, type LicensingContext } from './context.js';
import { page, type Page, type PageRequest } from './paging.js';
import { licencesInPlay, lockLicences, reconcile } from './reconcile.js';
import { manualSeatRow, SEAT_STATES, seatRecord, type Seat, type SeatState } from './records.js';
import { isUuid, newId } from '../shared/ids.js';
import { rowById } from './rows.js';
import { publishSeatEvents } from './seat-events.js';

const assigner = (ctx: LicensingContext) => `${ctx.actor.type}:${ctx.actor.id ?? ''}`;

const STATES: readonly string[] = SEAT_STATES;

export async function listSeats(
  ctx: LicensingContext,
  licenseId: string,
  state: string | undefined,
  req: PageRequest,
): Promise<Page<Seat>> {
  if (!isUuid(licenseId)) throw notFound('licence');
  if (state !== undefined && !STATES.includes(state))
    throw invalidInput(`state must be one of ${STATES.join(', ')}`);
  return inTenant(ctx, async (trx) => {
    const licence = await trx('licenses')
      .where({ tenant_id: ctx.tenantId, license_id: licenseId })
      .whereNull('deleted_at')
      .first('license_id');
    if (!licence) throw notFound('licence');
    const q = trx('seats as s')
      .where({ tenant_id: ctx.tenantId, license_id: licenseId })
      .select('s.*', trx.raw(`${seatLastActivity} AS last_active_at`));
    if (state) q.where({ state: state as SeatState });
    return page(q, 'seat_id', req, seatRecord);
  });
}

/** A seat row with its holder's last activity for the licence's product (the record shows it). */
const seatWithActivity = (trx: Knex.Transaction, ctx: LicensingContext, seatId: string) =>
  trx('seats as s')
    .where({ tenant_id: ctx.tenantId, seat_id: seatId })
    .first('s.*', trx.raw(`${seatLastActivity} AS last_active_at`));

/**
 * A seat, locked after its licence (lock order: licences before seats). The reconciler
 * holding the licence may update the seat (seat a waitlisted one, release one whose user
 * is gone): locking the seat first and then the licence deadlocked against it.
 */
async function lockedSeat(trx: Knex.Transaction, ctx: LicensingContext, seatId: string) {
  // A seat never changes licence, so the unlocked read names the licence to lock.
  const { license_id: licenseId } = await rowById(trx, ctx.tenantId, 'seat', seatId);
  await lockLicences(trx, ctx.tenantId, [licenseId]);
  return rowById(trx, ctx.tenantId, 'seat', seatId, { forUpdate: true });
}

async function requireUser(
  trx: Knex.Transaction,
  ctx: LicensingContext,
  userId: unknown,
): Promise<string> {
  if (!isUuid(userId) || !(await userExists(trx, ctx.tenantId, userId))) {
    throw new AppError('invalid_input', `user ${String(userId)} does not exist`, { status: 422 });
  }
  return userId;
}

/** Assign a seat by hand. A full pool queues the user like anyone else. */
export async function assignSeat(ctx: LicensingContext, body: unknown): Promise<Seat> {
  const { licenseId, userId } = (body ?? {}) as { licenseId?: unknown; userId?: unknown };
  if (!isUuid(licenseId)) throw invalidInput('licenseId must be a licence id');
  return inTenant(ctx, async (trx) => {
    const live = await trx('licenses')
      .where({ tenant_id: ctx.tenantId, license_id: licenseId })
      .whereNull('deleted_at')
      .first('license_id');
    if (!live) throw notFound('licence');
    const user = await requireUser(trx, ctx, userId);
    // The licence and every licence the user's reconcile below will lock, in one ordered
    // statement: locking this licence alone first, and the user's others (some with
    // smaller ids) in the reconcile, deadlocked against directory changes (issue 12).
    const inPlay = await licencesInPlay(trx, ctx.tenantId, { userIds: [user] });
    const locked = await lockLicences(trx, ctx.tenantId, [licenseId, ...inPlay]);
    // Deleted while we waited for the lock: gone, as above.
    if (!locked.some((l) => l.license_id === licenseId.toLowerCase() && !l.deleted_at))
      throw notFound('licence');
    const existing = await trx('seats')
      .where({ tenant_id: ctx.tenantId, license_id: licenseId, user_id: user })
      .whereNot('state', 'released')
      .first('seat_id', 'source');
    if (existing)
      throw new AppError(
        'conflict',
        `the user already holds or waits for a seat of this licence (${existing.seat_id})`,
        { status: 409 },
      );
    const now = ctx.clock.now().toISOString();
    const seatId = newId();
    await trx('seats').insert(
      manualSeatRow({
        tenantId: ctx.tenantId,
        seatId,
        licenseId,
        userId: user,
        assignedBy: assigner(ctx),
        now,
        state: 'waitlisted',
      }),
    );
    await appendAuditEvent(
      trx,
      ctx.tenantId,
      {
        action: 'seat.assigned',
        actor: ctx.actor,
        target: { type: 'seat', id: seatId },
        subject: user,
        payload: { licenseId, userId: user },
      },
      ctx.clock,
    );
    const changes = await reconcile(trx, ctx.tenantId, { userIds: [user] }, ctx);
    const placed = await seatWithActivity(trx, ctx, seatId);
    // Seated, the reconcile told receivers (waitlisted → active); still in line, it did
    // not change the seat, so its joining the line is told here.
    if (placed.state === 'waitlisted' && !changes.some((c) => c.seatId === seatId))
      await publishSeatEvents(
        trx,
        ctx.tenantId,
        [
          {
            seatId,
            licenseId,
            userId: user,
            from: null,
            to: 'waitlisted',
            reason: 'pool_full',
            ruleId: null,
          },
        ],
        new Date(now),
      );
    return seatRecord(placed);
  });
}

/** Release a manual seat; the next in line is seated in the same transaction. */
export async function releaseSeat(ctx: LicensingContext, seatId: string): Promise<Seat> {
  return inTenant(ctx, async (trx) => {
    const seat = await lockedSeat(trx, ctx, seatId);
    if (seat.state === 'released') return seatRecord(seat);
    if (seat.source === 'rule') {
      throw new AppError(
        'conflict',
        'this seat is held through a rule: change the rule or the group membership instead',
        { status: 409 },
      );
    }
    const now = ctx.clock.now().toISOString();
    await trx('seats').where({ tenant_id: ctx.tenantId, seat_id: seatId }).update({
      state: 'released',
      released_at: now,
      release_reason: 'released_by_admin',
      updated_at: now,
    });
    await appendAuditEvent(
      trx,
      ctx.tenantId,
      {
        action: 'seat.released',
        actor: ctx.actor,
        target: { type: 'seat', id: seatId },
        subject: seat.user_id,
        payload: {
          licenseId: seat.license_id,
          userId: seat.user_id,
          from: seat.state,
          to: 'released',
          reason: 'released_by_admin',
        },
      },
      ctx.clock,
    );
    await publishSeatEvents(
      trx,
      ctx.tenantId,
      [
        {
          seatId,
          licenseId: seat.license_id,
          userId: seat.user_id,
          from: seat.state,
          to: 'released',
          reason: 'released_by_admin',
          ruleId: null,
        },
      ],
      new Date(now),
    );
    await reconcile(trx, ctx.tenantId, { licenseIds: [seat.license_id], userIds: [] }, ctx);
    return seatRecord(await seatWithActivity(trx, ctx, seatId));
  });
}

/** Move a manual seat to another user without it ever returning to the pool. */
export async function transferSeat(
  ctx: LicensingContext,
  seatId: string,
  body: unknown,
): Promise<Seat> {
  const { userId } = (body ?? {}) as { userId?: unknown };
  return inTenant(ctx, async (trx) => {
    const seat = await lockedSeat(trx, ctx, seatId);
    if (seat.source === 'rule')
      throw new AppError('conflict', 'this seat is held through a rule and cannot be transferred', {
        status: 409,
      });
    if (seat.state !== 'active')
      throw new AppError(
        'conflict',
        `only an active seat can be transferred (this one is ${seat.state})`,
        { status: 409 },
      );
    const to = await requireUser(trx, ctx, userId);
    const clash = await trx('seats')
      .where({ tenant_id: ctx.tenantId, license_id: seat.license_id, user_id: to })
      .whereNot('state', 'released')
      .first('seat_id');
    if (clash)
      throw new AppError(
        'conflict',
        'the target user already holds or waits for a seat of this licence',
        { status: 409 },
      );
    const now = ctx.clock.now().toISOString();
    await trx('seats').where({ tenant_id: ctx.tenantId, seat_id: seatId }).update({
      state: 'released',
      released_at: now,
      release_reason: 'transferred',
      updated_at: now,
    });
    const newSeatId = newId();
    await trx('seats').insert(
      manualSeatRow({
        tenantId: ctx.tenantId,
        seatId: newSeatId,
        licenseId: seat.license_id,
        userId: to,
        assignedBy: assigner(ctx),
        now,
        state: 'active',
      }),
    );
    await appendAuditEvent(
      trx,
      ctx.tenantId,
      {
        action: 'seat.transferred',
        actor: ctx.actor,
        target: { type: 'seat', id: newSeatId },
        // One subject per event: the new holder's. The old holder's own release of this
        // seat is not a separate event, so erasing them leaves fromUser here (noted).
        subject: to,
        payload: {
          licenseId: seat.license_id,
          fromSeat: seatId,
          fromUser: seat.user_id,
          toUser: to,
        },
      },
      ctx.clock,
    );
    const moved = { licenseId: seat.license_id, reason: 'transferred' as const, ruleId: null };
    await publishSeatEvents(
      trx,
      ctx.tenantId,
      [
        { ...moved, seatId, userId: seat.user_id, from: 'active', to: 'released' },
        { ...moved, seatId: newSeatId, userId: to, from: null, to: 'active' },
      ],
      new Date(now),
    );
    return seatRecord(await seatWithActivity(trx, ctx, newSeatId));
  });
}
