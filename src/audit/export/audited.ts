// An export through the admin API (issue 16): whoever takes a copy of the trail leaves an
// `audit.exported` event first, so the copy cannot exist without its record, and the
// copy itself shows it. Queued events are chained first, as `audit export` does.
import type { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { withTenant } from '../../db/tenant-scope.js';
import type { Clock } from '../../shared/clock.js';
import { appendAuditEvent } from '../append.js';
import { settleAudit } from '../settle.js';
import type { Actor } from '../types.js';
import { exportAudit, type ExportFormat } from './index.js';

export async function exportTenantAudit(
  knex: Knex,
  opts: {
    tenantId: string;
    actor: Actor;
    format: ExportFormat;
    window: { from?: Date | undefined; to?: Date | undefined };
    out: Writable;
    clock?: Clock;
  },
): Promise<number> {
  await withTenant(knex, opts.tenantId, (trx) =>
    appendAuditEvent(
      trx,
      opts.tenantId,
      {
        action: 'audit.exported',
        actor: opts.actor,
        payload: {
          format: opts.format,
          from: opts.window.from?.toISOString() ?? null,
          to: opts.window.to?.toISOString() ?? null,
        },
      },
      opts.clock,
    ),
  );
  await settleAudit(knex, { tenantId: opts.tenantId });
  return exportAudit(knex, {
    format: opts.format,
    tenantId: opts.tenantId,
    window: opts.window,
    out: opts.out,
  });
}
