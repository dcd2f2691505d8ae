// Products and licences (rules: rules.ts): each write is one transaction with its audit event and
// the reconcile it causes. With `dryRun`, the same transaction runs and is rolled back,
// so the diff it returns is exactly what the write would have done. Licence writes lock
// the licence before anything that hangs off it (reconcile.ts, "Lock order").
import type { Knex } from 'knex';
import { appendAuditEvent, type AuditAction } from '../audit/index.js';
import { reclaimDefaultsOf } from '../tenancy/index.js';
import { AppError } from '../shared/errors.js';
import { inTenant, type LicensingContext } from './context.js';
import { LicenseInput, ProductInput } from './model.js';
import { reconcile, type SeatChange } from './reconcile.js';
import { page, type Page, type PageRequest } from './paging.js';
import { licenseRecord, productRecord, type License, type Product } from './records.js';
import { rowById } from './rows.js';
import { termOfRow, termWhenAutoRenewStops } from './term.js';
import { newId } from '../shared/ids.js';

class DryRun extends Error {
  constructor(readonly result: unknown) {
    super('dry run');
  }
}

/**
 * Run a write; with dryRun, roll it back and return what it would have done. Either way
 * the transaction is re-run on a deadlock or serialisation failure (src/db/retry.ts).
 */
export async function write<T>(
  ctx: LicensingContext,
  dryRun: boolean,
  fn: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  if (!dryRun) return inTenant(ctx, fn);
  try {
    await inTenant(ctx, async (trx) => {
      throw new DryRun(await fn(trx));
    });
  } catch (err) {
    if (err instanceof DryRun) return err.result as T;
    throw err;
  }
  throw new Error('unreachable');
}

export async function audit(
  trx: Knex.Transaction,
  ctx: LicensingContext,
  action: AuditAction,
  type: string,
  id: string,
  payload: Record<string, unknown>,
) {
  await appendAuditEvent(
    trx,
    ctx.tenantId,
    { action, actor: ctx.actor, target: { type, id }, payload },
    ctx.clock,
  );
}

// ---- products ----

export async function createProduct(ctx: LicensingContext, body: unknown): Promise<Product> {
  const input = ProductInput.parse(body);
  return inTenant(ctx, async (trx) => {
    const now = ctx.clock.now().toISOString();
    const [row] = await trx('products')
      .insert({
        tenant_id: ctx.tenantId,
        product_id: newId(),
        name: input.name,
        vendor: input.vendor ?? null,
        features: JSON.stringify(input.features),
        versions: JSON.stringify(input.versions),
        created_at: now,
        updated_at: now,
      })
      .returning('*');
    await audit(trx, ctx, 'product.created', 'product', row.product_id, input);
    return productRecord(row);
  });
}

const productRow = (db: Knex, ctx: LicensingContext, id: string, forUpdate = false) =>
  rowById(db, ctx.tenantId, 'product', id, { forUpdate });

export const getProduct = async (ctx: LicensingContext, id: string) =>
  productRecord(await inTenant(ctx, (trx) => productRow(trx, ctx, id)));

export async function listProducts(
  ctx: LicensingContext,
  req: PageRequest,
): Promise<Page<Product>> {
  return inTenant(ctx, (trx) =>
    page(trx('products').where({ tenant_id: ctx.tenantId }), 'product_id', req, productRecord),
  );
}

export async function updateProduct(
  ctx: LicensingContext,
  id: string,
  body: unknown,
): Promise<Product> {
  return inTenant(ctx, async (trx) => {
    const row = await productRow(trx, ctx, id, true);
    const merged = ProductInput.parse({
      ...productInputOf(productRecord(row)),
      ...(body as object),
    });
    const [updated] = await trx('products')
      .where({ tenant_id: ctx.tenantId, product_id: id })
      .update({
        name: merged.name,
        vendor: merged.vendor ?? null,
        features: JSON.stringify(merged.features),
        versions: JSON.stringify(merged.versions),
        updated_at: ctx.clock.now().toISOString(),
      })
      .returning('*');
    await audit(trx, ctx, 'product.updated', 'product', id, merged);
    return productRecord(updated);
  });
}

const productInputOf = (p: Product) => ({
  name: p.name,
  vendor: p.vendor,
  features: p.features,
  versions: p.versions,
});

export async function deleteProduct(ctx: LicensingContext, id: string): Promise<void> {
  await inTenant(ctx, async (trx) => {
    await productRow(trx, ctx, id, true);
    const licence = await trx('licenses')
      .where({ tenant_id: ctx.tenantId, product_id: id })
      .first('license_id');
    if (licence)
      throw new AppError('conflict', 'the product still has licences: delete them first', {
        status: 409,
      });
    await trx('products').where({ tenant_id: ctx.tenantId, product_id: id }).del();
    await audit(trx, ctx, 'product.deleted', 'product', id, {});
  });
}

// ---- licences ----

function licenseColumns(input: LicenseInput) {
  return {
    product_id: input.productId,
    name: input.name,
    type: input.type,
    category: input.category ?? null,
    quantity: input.quantity,
    starts_at: input.startsAt ?? null,
    ends_at: input.endsAt ?? null,
    grace_days: input.graceDays,
    auto_renew: input.autoRenew,
    renewal_lead_days: input.renewalLeadDays,
    maintenance_ends_at: input.maintenanceEndsAt ?? null,
    max_version: input.maxVersion ?? null,
    entitlements: JSON.stringify(input.entitlements),
    restrictions: JSON.stringify(input.restrictions),
    cost: JSON.stringify(input.cost),
    full_policy: input.fullPolicy,
    overdeploy_limit: input.overdeployLimit,
    alert_thresholds: JSON.stringify(input.alertThresholds),
    // Largest first: the order alerts come due in.
    expiry_alert_days: JSON.stringify([...input.expiryAlertDays].sort((a, b) => b - a)),
    ...(input.inactivityDays !== undefined ? { inactivity_days: input.inactivityDays } : {}),
    ...(input.reclaimGraceDays !== undefined ? { reclaim_grace_days: input.reclaimGraceDays } : {}),
    reclaim_exempt: JSON.stringify(input.reclaimExempt),
  };
}

export const licenseRow = (db: Knex, ctx: LicensingContext, id: string, forUpdate = false) =>
  rowById(db, ctx.tenantId, 'licence', id, { forUpdate });

export const getLicense = async (ctx: LicensingContext, id: string) =>
  licenseRecord(await inTenant(ctx, (trx) => licenseRow(trx, ctx, id)));

export async function listLicenses(
  ctx: LicensingContext,
  req: PageRequest,
): Promise<Page<License>> {
  return inTenant(ctx, (trx) =>
    page(
      trx('licenses').where({ tenant_id: ctx.tenantId }).whereNull('deleted_at'),
      'license_id',
      req,
      licenseRecord,
    ),
  );
}

export interface WriteResult<T> {
  result: T;
  changes: SeatChange[];
  dryRun: boolean;
}

export async function createLicense(
  ctx: LicensingContext,
  body: unknown,
  opts: { dryRun: boolean },
): Promise<WriteResult<License>> {
  const given = LicenseInput.parse(body);
  return write(ctx, opts.dryRun, async (trx) => {
    await productRow(trx, ctx, given.productId);
    // The reclaim policy a licence does not state is the tenant's default (PATCH /tenant).
    const defaults = await reclaimDefaultsOf(trx, ctx.tenantId);
    const input = {
      ...given,
      inactivityDays:
        given.inactivityDays === undefined ? defaults.inactivityDays : given.inactivityDays,
      reclaimGraceDays: given.reclaimGraceDays ?? defaults.reclaimGraceDays,
    };
    const now = ctx.clock.now().toISOString();
    const [row] = await trx('licenses')
      .insert({
        tenant_id: ctx.tenantId,
        license_id: newId(),
        ...licenseColumns(input),
        created_at: now,
        updated_at: now,
      })
      .returning('*');
    await audit(trx, ctx, 'license.created', 'license', row.license_id, input);
    return { result: licenseRecord(row), changes: [], dryRun: opts.dryRun };
  });
}

export async function updateLicense(
  ctx: LicensingContext,
  id: string,
  body: unknown,
  opts: { dryRun: boolean },
): Promise<WriteResult<License>> {
  return write(ctx, opts.dryRun, async (trx) => {
    const currentRow = await licenseRow(trx, ctx, id, true);
    const current = licenseRecord(currentRow);
    const { id: _id, createdAt: _c, updatedAt: _u, suspendedAt: _s, ...editable } = current;
    const change = (typeof body === 'object' && body !== null ? body : {}) as Record<
      string,
      unknown
    >;
    // Switching auto-renew off keeps the term running now (unless new dates are given):
    // the licence runs out when what was paid for does, not at the first term's end.
    if (current.autoRenew && change.autoRenew === false && !('endsAt' in change)) {
      const kept = termWhenAutoRenewStops(termOfRow(currentRow), ctx.clock.now());
      if (!('startsAt' in change)) editable.startsAt = kept.startsAt?.toISOString() ?? null;
      editable.endsAt = kept.endsAt?.toISOString() ?? null;
    }
    const input = LicenseInput.parse({ ...editable, ...change });
    if (input.productId !== current.productId) await productRow(trx, ctx, input.productId);
    // New dates start a new schedule: renewals stored under the old one stay in
    // license_terms as history, but no longer decide the current term.
    const sameInstant = (a: string | null | undefined, b: string | null) =>
      (a ? new Date(a).getTime() : null) === (b ? new Date(b).getTime() : null);
    const redated =
      !sameInstant(input.startsAt, current.startsAt) || !sameInstant(input.endsAt, current.endsAt);
    const [row] = await trx('licenses')
      .where({ tenant_id: ctx.tenantId, license_id: id })
      .update({
        ...licenseColumns(input),
        ...(redated ? { renewed_term_starts_at: null, renewed_term_ends_at: null } : {}),
        updated_at: ctx.clock.now().toISOString(),
      })
      .returning('*');
    await audit(trx, ctx, 'license.updated', 'license', id, input);
    // A new quantity, validity window or restriction changes who may hold a seat.
    const changes = await reconcile(trx, ctx.tenantId, { licenseIds: [id] }, ctx);
    return { result: licenseRecord(row), changes, dryRun: opts.dryRun };
  });
}

export async function deleteLicense(
  ctx: LicensingContext,
  id: string,
  opts: { dryRun: boolean },
): Promise<WriteResult<null>> {
  return write(ctx, opts.dryRun, async (trx) => {
    await licenseRow(trx, ctx, id, true);
    // Rules go with the licence; seats are released (their history stays).
    await trx('license_rules').where({ tenant_id: ctx.tenantId, license_id: id }).del();
    await trx('licenses')
      .where({ tenant_id: ctx.tenantId, license_id: id })
      .update({ deleted_at: ctx.clock.now().toISOString() });
    const changes = await reconcile(trx, ctx.tenantId, { licenseIds: [id] }, ctx);
    const manual = await trx('seats')
      .where({ tenant_id: ctx.tenantId, license_id: id })
      .whereNot('state', 'released')
      .count({ n: '*' });
    if (Number(manual[0]!.n) > 0) {
      throw new AppError(
        'conflict',
        'the licence still has manually assigned seats: release them first',
        { status: 409 },
      );
    }
    await audit(trx, ctx, 'license.deleted', 'license', id, {});
    return { result: null, changes, dryRun: opts.dryRun };
  });
}
