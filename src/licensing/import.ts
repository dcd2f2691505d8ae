// Importing existing licence records and seat assignments from CSV, all or nothing.
//
// One row per licence, or per seat of a licence: rows naming the same product and
// licence describe one licence (the first row's attributes; later rows may leave them
// blank but not contradict them), and each row with an `assignee` (a SCIM userName)
// gives that user a manual seat. Every row is checked before anything is written, and
// every bad row is reported with its line number. The writes are one transaction;
// with dryRun it is rolled back.
import type { Knex } from 'knex';
import { appendAuditEvents, type AuditEventInput } from '../audit/index.js';
import { insertMany } from '../db/insert-many.js';
import { userIdsByUserName } from '../directory/index.js';
import { AppError } from '../shared/errors.js';
import { MAX_IMPORT_ROWS, readCsvRecords, type CsvSource } from './import-csv.js';
import { textDefect } from '../shared/text.js';
import { write } from './catalog.js';
import type { LicensingContext } from './context.js';
import { DATE_FORMAT_HINT, parseLicenceDate } from './dates.js';
import { LICENSE_TYPES } from './model.js';
import { manualSeatRow, SEAT_INSERT_COLUMNS, type ImportReport } from './records.js';
import { LICENSE_TERM_COLUMNS, termDatesProblem, type LicenseTermRow } from './term.js';
import { roomIn } from './capacity.js';
import { licenceInForce } from './eligibility.js';
import { newId } from '../shared/ids.js';

export const IMPORT_COLUMNS = [
  'product',
  'vendor',
  'license',
  'type',
  'quantity',
  'startsAt',
  'endsAt',
  'category',
  'unitCost',
  'currency',
  'assignee',
] as const;
export { MAX_IMPORT_ROWS };

export interface ImportError {
  line: number;
  message: string;
}

export type { ImportReport };

interface PlannedLicense {
  key: string;
  line: number;
  product: string;
  vendor: string | null;
  name: string;
  type: string;
  quantity: number | null;
  startsAt: string | null;
  endsAt: string | null;
  category: string | null;
  unitCost: number | null;
  currency: string | null;
  assignees: Array<{ line: number; userName: string }>;
}

const blank = (s: string | undefined) => s === undefined || s.trim() === '';

function parseDate(
  value: string,
  line: number,
  column: string,
  errors: ImportError[],
): string | null {
  if (blank(value)) return null;
  const d = parseLicenceDate(value.trim());
  if (!d) {
    errors.push({ line, message: `${column}: "${value}" is not ${DATE_FORMAT_HINT}` });
    return null;
  }
  return d.toISOString();
}

/** Read and check the file's rows on their own (no database). */
export async function planImport(source: CsvSource): Promise<{
  plan: PlannedLicense[];
  rows: number;
  errors: ImportError[];
}> {
  const errors: ImportError[] = [];
  const records = await readCsvRecords(source);
  const header = records[0] ? Object.keys(records[0].record) : [];
  for (const required of ['product', 'license', 'type']) {
    if (records.length && !header.includes(required))
      errors.push({ line: 1, message: `missing column "${required}"` });
  }
  const unknown = header.filter((h) => !(IMPORT_COLUMNS as readonly string[]).includes(h));
  if (unknown.length)
    errors.push({
      line: 1,
      message: `unknown column${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`,
    });
  if (errors.length) return { plan: [], rows: records.length, errors };

  const byKey = new Map<string, PlannedLicense>();
  for (const { record: r, info } of records) {
    const line = info.lines;
    const rowErrors: string[] = [];
    for (const [column, value] of Object.entries(r)) {
      const defect = textDefect(value);
      if (defect) rowErrors.push(`${column} holds ${defect}, which cannot be stored`);
    }
    if (blank(r.product)) rowErrors.push('product is required');
    if (blank(r.license)) rowErrors.push('license is required');
    const key = `${(r.product ?? '').toLowerCase()}\u0000${(r.vendor ?? '').toLowerCase()}\u0000${(r.license ?? '').toLowerCase()}`;
    const existing = byKey.get(key);
    // A later row of the same licence may leave its attributes blank.
    const type = blank(r.type) && existing ? existing.type : (r.type ?? '').trim().toLowerCase();
    if (!(LICENSE_TYPES as readonly string[]).includes(type))
      rowErrors.push(`type must be one of ${LICENSE_TYPES.join(', ')} (got "${r.type ?? ''}")`);
    let quantity: number | null = null;
    if (!blank(r.quantity) && r.quantity!.toLowerCase() !== 'unlimited') {
      quantity = Number(r.quantity);
      if (!Number.isInteger(quantity) || quantity < 0)
        rowErrors.push(`quantity must be a whole number or "unlimited" (got "${r.quantity}")`);
    }
    const unitCost = blank(r.unitCost) ? null : Number(r.unitCost);
    if (unitCost !== null && (!Number.isFinite(unitCost) || unitCost < 0))
      rowErrors.push(`unitCost must be a non-negative number (got "${r.unitCost}")`);
    if (!blank(r.currency) && !/^[A-Za-z]{3}$/.test(r.currency!))
      rowErrors.push(`currency must be a 3-letter ISO 4217 code (got "${r.currency}")`);
    const dateErrors: ImportError[] = [];
    const startsAt = parseDate(r.startsAt ?? '', line, 'startsAt', dateErrors);
    const endsAt = parseDate(r.endsAt ?? '', line, 'endsAt', dateErrors);
    rowErrors.push(...dateErrors.map((e) => e.message));
    const term = termDatesProblem(
      startsAt ? new Date(startsAt) : null,
      endsAt ? new Date(endsAt) : null,
    );
    if (term) rowErrors.push(term);
    if (rowErrors.length) {
      errors.push(...rowErrors.map((message) => ({ line, message })));
      continue;
    }
    const row: PlannedLicense = {
      key,
      line,
      product: r.product!,
      vendor: blank(r.vendor) ? null : r.vendor!,
      name: r.license!,
      type,
      quantity,
      startsAt,
      endsAt,
      category: blank(r.category) ? null : r.category!,
      unitCost,
      currency: blank(r.currency) ? null : r.currency!.toUpperCase(),
      assignees: [],
    };
    if (existing) {
      for (const field of [
        'type',
        'quantity',
        'startsAt',
        'endsAt',
        'category',
        'unitCost',
        'currency',
      ] as const) {
        const given = r[field === 'type' ? 'type' : field];
        if (!blank(given) && row[field] !== existing[field]) {
          errors.push({
            line,
            message: `${field} contradicts line ${existing.line} for the same licence`,
          });
        }
      }
    } else {
      byKey.set(key, row);
    }
    const target = existing ?? row;
    if (!blank(r.assignee)) {
      if (target.assignees.some((a) => a.userName.toLowerCase() === r.assignee!.toLowerCase())) {
        errors.push({ line, message: `assignee ${r.assignee} appears twice for this licence` });
      } else {
        target.assignees.push({ line, userName: r.assignee! });
      }
    }
  }
  for (const l of byKey.values()) {
    // A new licence holds no seat yet, and imported licences waitlist when full.
    const room = roomIn({ ...l, full_policy: 'waitlist', overdeploy_limit: 0 }, 0);
    if (l.assignees.length > room.free) {
      errors.push({
        line: l.line,
        message: `licence "${l.name}" has ${l.assignees.length} assignees but a quantity of ${l.quantity}`,
      });
    }
  }
  errors.sort((a, b) => a.line - b.line);
  return { plan: [...byKey.values()], rows: records.length, errors };
}

async function resolveAssignees(
  trx: Knex.Transaction,
  ctx: LicensingContext,
  plan: PlannedLicense[],
  errors: ImportError[],
): Promise<Map<string, string>> {
  const names = plan.flatMap((l) => l.assignees.map((a) => a.userName));
  const ids = await userIdsByUserName(trx, ctx.tenantId, names);
  for (const l of plan)
    for (const a of l.assignees)
      if (!ids.has(a.userName.toLowerCase()))
        errors.push({
          line: a.line,
          message: `assignee ${a.userName} is not a user in the directory`,
        });
  return ids;
}

export async function importLicences(
  ctx: LicensingContext,
  csv: CsvSource,
  opts: { dryRun: boolean; onProgress?: (done: number, total: number) => void },
): Promise<ImportReport> {
  const { plan, rows, errors } = await planImport(csv);
  const fail = (errs: ImportError[]) =>
    new AppError(
      'invalid_import',
      `${errs.length} problem${errs.length > 1 ? 's' : ''} in the file; nothing was imported`,
      { status: 422, detail: { errors: errs } },
    );
  if (errors.length) throw fail(errors);
  return write(ctx, opts.dryRun, async (trx) => {
    const dbErrors: ImportError[] = [];
    const userIds = await resolveAssignees(trx, ctx, plan, dbErrors);
    const existing = await trx('licenses as l')
      .join('products as p', function () {
        this.on('p.tenant_id', 'l.tenant_id').andOn('p.product_id', 'l.product_id');
      })
      .where('l.tenant_id', ctx.tenantId)
      .whereNull('l.deleted_at')
      .select('p.name as product', 'p.vendor', 'l.name');
    const taken = new Set(
      existing.map(
        (e: { product: string; vendor: string | null; name: string }) =>
          `${e.product.toLowerCase()}\u0000${(e.vendor ?? '').toLowerCase()}\u0000${e.name.toLowerCase()}`,
      ),
    );
    for (const l of plan)
      if (taken.has(l.key))
        dbErrors.push({
          line: l.line,
          message: `licence "${l.name}" of ${l.product} already exists`,
        });
    if (dbErrors.length) throw fail(dbErrors.sort((a, b) => a.line - b.line));

    const now = ctx.clock.now().toISOString();
    const products = new Map<string, string>();
    for (const p of await trx('products')
      .where({ tenant_id: ctx.tenantId })
      .select('product_id', 'name', 'vendor')) {
      products.set(
        `${String(p.name).toLowerCase()}\u0000${String(p.vendor ?? '').toLowerCase()}`,
        p.product_id,
      );
    }
    let newProducts = 0;
    let seats = 0;
    const events: AuditEventInput[] = [];
    for (const [i, l] of plan.entries()) {
      const pkey = `${l.product.toLowerCase()}\u0000${(l.vendor ?? '').toLowerCase()}`;
      let productId = products.get(pkey);
      if (!productId) {
        productId = newId();
        products.set(pkey, productId);
        newProducts += 1;
        await trx('products').insert({
          tenant_id: ctx.tenantId,
          product_id: productId,
          name: l.product,
          vendor: l.vendor,
          created_at: now,
          updated_at: now,
        });
        events.push({
          action: 'product.created',
          actor: ctx.actor,
          target: { type: 'product', id: productId },
          payload: { name: l.product, vendor: l.vendor, source: 'import' },
        });
      }
      const licenseId = newId();
      const [stored] = (await trx('licenses')
        .insert({
          tenant_id: ctx.tenantId,
          license_id: licenseId,
          product_id: productId,
          name: l.name,
          type: l.type,
          category: l.category,
          quantity: l.quantity,
          starts_at: l.startsAt,
          ends_at: l.endsAt,
          cost: JSON.stringify({
            ...(l.unitCost !== null ? { unitCost: l.unitCost } : {}),
            ...(l.currency ? { currency: l.currency } : {}),
          }),
          created_at: now,
          updated_at: now,
        })
        .returning(LICENSE_TERM_COLUMNS)) as Array<LicenseTermRow & { deleted_at: Date | null }>;
      // The one rule for who may hold a seat: a licence not in force (not started yet,
      // or expired) seats nobody, so its imported assignees wait in line.
      const state = licenceInForce(stored!, ctx.clock.now()) ? 'active' : 'waitlisted';
      events.push({
        action: 'license.created',
        actor: ctx.actor,
        target: { type: 'license', id: licenseId },
        payload: { name: l.name, type: l.type, quantity: l.quantity, source: 'import' },
      });
      const seatRows = l.assignees.map((a) =>
        manualSeatRow({
          tenantId: ctx.tenantId,
          seatId: newId(),
          licenseId,
          userId: userIds.get(a.userName.toLowerCase())!,
          assignedBy: 'import',
          now,
          state,
        }),
      );
      await insertMany(trx, 'seats', SEAT_INSERT_COLUMNS, seatRows);
      for (const s of seatRows)
        events.push({
          action: 'seat.assigned',
          actor: ctx.actor,
          target: { type: 'seat', id: s.seat_id },
          subject: s.user_id,
          payload: { licenseId, userId: s.user_id, state, source: 'import' },
        });
      seats += seatRows.length;
      opts.onProgress?.(i + 1, plan.length);
    }
    await appendAuditEvents(trx, ctx.tenantId, events, ctx.clock);
    return { dryRun: opts.dryRun, rows, products: newProducts, licenses: plan.length, seats };
  });
}
