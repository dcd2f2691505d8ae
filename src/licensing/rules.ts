// Rules: "members of group G (nested groups included), optionally matching a SCIM
// filter, get a seat of licence L". Every write reconciles the licences it touches, in
// its own transaction, or rolled back for a dry-run. A rule hangs off its licence: every
// write locks the licence(s) first, then the rule (reconcile.ts, "Lock order").
import type { Knex } from 'knex';
import { filterToSql, groupExists } from '../directory/index.js';
import { AppError } from '../shared/errors.js';
import { audit, licenseRow, write, type WriteResult } from './catalog.js';
import { inTenant, type LicensingContext } from './context.js';
import { RuleInput } from './model.js';
import { page, type Page, type PageRequest } from './paging.js';
import { lockLicences, reconcile } from './reconcile.js';
import { ruleRecord, type Rule } from './records.js';
import { rowById } from './rows.js';
import { isUuid, newId } from '../shared/ids.js';

function checkFilter(filter: string | null | undefined) {
  if (filter) filterToSql(filter, 'User', 'u'); // throws invalid_filter (400)
}

const ruleRow = (db: Knex, ctx: LicensingContext, id: string, forUpdate = false) =>
  rowById(db, ctx.tenantId, 'rule', id, { forUpdate });

/**
 * A rule, locked after its licence and any other licence the write names (`also`). The
 * reconciler holding a licence inserts seats naming its rules, and a licence's deletion
 * deletes them: locking the rule first and its licence second deadlocked against both.
 */
async function lockedRule(
  trx: Knex.Transaction,
  ctx: LicensingContext,
  id: string,
  also: unknown[] = [],
): Promise<Rule> {
  const seen = ruleRecord(await ruleRow(trx, ctx, id));
  const others = also.filter((l): l is string => isUuid(l));
  await lockLicences(trx, ctx.tenantId, [seen.licenseId, ...others]);
  const rule = ruleRecord(await ruleRow(trx, ctx, id, true));
  // Moved to another licence in between: lock that one too (late, so out of order; the
  // transaction's retry covers the deadlock this could cause).
  if (rule.licenseId !== seen.licenseId) await lockLicences(trx, ctx.tenantId, [rule.licenseId]);
  return rule;
}

export const getRule = async (ctx: LicensingContext, id: string) =>
  ruleRecord(await inTenant(ctx, (trx) => ruleRow(trx, ctx, id)));

export async function listRules(ctx: LicensingContext, req: PageRequest): Promise<Page<Rule>> {
  return inTenant(ctx, (trx) =>
    page(trx('license_rules').where({ tenant_id: ctx.tenantId }), 'rule_id', req, ruleRecord),
  );
}

function ruleColumns(input: RuleInput) {
  return {
    license_id: input.licenseId,
    group_id: input.groupId,
    filter: input.filter ?? null,
    priority: input.priority,
    removal_grace_days: input.removalGraceDays,
    name: input.name ?? null,
  };
}

/** A rule names a directory group that exists (it may be deleted later by the IdP). */
async function groupMustExist(trx: Knex.Transaction, ctx: LicensingContext, groupId: string) {
  if (!(await groupExists(trx, ctx.tenantId, groupId)))
    throw new AppError('invalid_input', `group ${groupId} does not exist`, { status: 422 });
}

export async function createRule(
  ctx: LicensingContext,
  body: unknown,
  opts: { dryRun: boolean },
): Promise<WriteResult<Rule>> {
  const input = RuleInput.parse(body);
  checkFilter(input.filter);
  return write(ctx, opts.dryRun, async (trx) => {
    // Locked before the rule is inserted: the insert's foreign-key check would otherwise
    // share-lock it, and two such writers then deadlock upgrading to the reconcile's lock.
    await licenseRow(trx, ctx, input.licenseId, true);
    await groupMustExist(trx, ctx, input.groupId);
    const now = ctx.clock.now().toISOString();
    const [row] = await trx('license_rules')
      .insert({
        tenant_id: ctx.tenantId,
        rule_id: newId(),
        ...ruleColumns(input),
        created_at: now,
        updated_at: now,
      })
      .returning('*');
    await audit(trx, ctx, 'rule.created', 'rule', row.rule_id, input);
    const changes = await reconcile(trx, ctx.tenantId, { licenseIds: [input.licenseId] }, ctx);
    return { result: ruleRecord(row), changes, dryRun: opts.dryRun };
  });
}

export async function updateRule(
  ctx: LicensingContext,
  id: string,
  body: unknown,
  opts: { dryRun: boolean },
): Promise<WriteResult<Rule>> {
  return write(ctx, opts.dryRun, async (trx) => {
    const current = await lockedRule(trx, ctx, id, [(body as { licenseId?: unknown })?.licenseId]);
    const { id: _id, createdAt: _c, updatedAt: _u, ...editable } = current;
    const input = RuleInput.parse({ ...editable, ...(body as object) });
    checkFilter(input.filter);
    if (input.licenseId !== current.licenseId) await licenseRow(trx, ctx, input.licenseId, true);
    if (input.groupId !== current.groupId) await groupMustExist(trx, ctx, input.groupId);
    const [row] = await trx('license_rules')
      .where({ tenant_id: ctx.tenantId, rule_id: id })
      .update({ ...ruleColumns(input), updated_at: ctx.clock.now().toISOString() })
      .returning('*');
    await audit(trx, ctx, 'rule.updated', 'rule', id, input);
    const changes = await reconcile(
      trx,
      ctx.tenantId,
      { licenseIds: [...new Set([current.licenseId, input.licenseId])] },
      ctx,
    );
    return { result: ruleRecord(row), changes, dryRun: opts.dryRun };
  });
}

export async function deleteRule(
  ctx: LicensingContext,
  id: string,
  opts: { dryRun: boolean },
): Promise<WriteResult<null>> {
  return write(ctx, opts.dryRun, async (trx) => {
    const current = await lockedRule(trx, ctx, id);
    await trx('license_rules').where({ tenant_id: ctx.tenantId, rule_id: id }).del();
    await audit(trx, ctx, 'rule.deleted', 'rule', id, {});
    const changes = await reconcile(trx, ctx.tenantId, { licenseIds: [current.licenseId] }, ctx);
    return { result: null, changes, dryRun: opts.dryRun };
  });
}
