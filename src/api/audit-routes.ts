// /api/v1/audit (issue 16): the trail read over HTTP, as the CLI reads it. Pages and
// verification are plain reads; an export is recorded as an `audit.exported` event.
import { Router, type Request } from 'express';
import type { Knex } from 'knex';
import {
  EXPORT_FORMATS,
  exportTenantAudit,
  type ExportFormat,
  listAuditEvents,
  parseActions,
  parseWindow,
  settleAudit,
  type SigningKey,
  verifyTenantChain,
} from '../audit/index.js';
import { principalOf } from '../http/index.js';
import { parsePageRequest } from '../licensing/index.js';
import type { Clock } from '../shared/clock.js';
import { invalidInput } from '../shared/errors.js';
import { actorOf } from './session-auth.js';

/** What each export format is sent as, and its file's extension. */
const MEDIA: Record<ExportFormat, { type: string; ext: string }> = {
  json: { type: 'application/x-ndjson', ext: 'jsonl' },
  csv: { type: 'text/csv; charset=utf-8', ext: 'csv' },
  cef: { type: 'text/plain; charset=utf-8', ext: 'cef' },
};

function formatOf(req: Request): ExportFormat {
  const f = req.query.format ?? 'json';
  if (typeof f !== 'string' || !(EXPORT_FORMATS as readonly string[]).includes(f))
    throw invalidInput(`format must be one of ${EXPORT_FORMATS.join(', ')}`);
  return f as ExportFormat;
}

function subjectOf(req: Request): string | undefined {
  const s = req.query.subject;
  if (s === undefined) return undefined;
  if (typeof s !== 'string' || s === '' || s.length > 256)
    throw invalidInput('subject must be one user id');
  return s;
}

export function auditRoutes(deps: {
  knex: Knex;
  clock: Clock;
  /** The checkpoint key: verify checks the stored checkpoints' signatures with it. */
  signingKey?: SigningKey | undefined;
}): Router {
  const router = Router();

  router.get('/audit/events', async (req, res) => {
    const page = parsePageRequest(req.query as Record<string, unknown>);
    const query = {
      ...parseWindow(req.query),
      actions: parseActions(req.query.action),
      subject: subjectOf(req),
    };
    res.json(
      await listAuditEvents(deps.knex, principalOf(res).tenantId, query, {
        limit: page.limit!,
        cursor: page.cursor,
      }),
    );
  });

  // As `audit verify`: queued events are chained first, so the report covers them;
  // `pending` counts those queued while it ran.
  router.get('/audit/verify', async (_req, res) => {
    const { tenantId } = principalOf(res);
    await settleAudit(deps.knex, { tenantId });
    const key = deps.signingKey;
    const r = await verifyTenantChain(deps.knex, tenantId, {
      publicKeys: new Map(key ? [[key.keyId, key.publicKey]] : []),
    });
    res.json({
      ok: r.ok,
      events: r.events,
      pending: r.pending,
      ...(r.firstBroken ? { brokenAt: r.firstBroken.seq } : {}),
    });
  });

  // Streamed a batch of events at a time, with back-pressure: any size in constant memory.
  router.get('/audit/export', async (req, res) => {
    const format = formatOf(req);
    const window = parseWindow(req.query);
    const { tenantId } = principalOf(res);
    const day = deps.clock.now().toISOString().slice(0, 10);
    // attachment() guesses a type from the file name: the format's own type goes after it.
    res
      .status(200)
      .attachment(`seatkeeper-audit-${tenantId}-${day}.${MEDIA[format].ext}`)
      .set('Content-Type', MEDIA[format].type);
    // HEAD asks what an export would be, not for one: nothing is read, nothing recorded.
    if (req.method === 'HEAD') return void res.end();
    try {
      await exportTenantAudit(deps.knex, {
        tenantId,
        actor: actorOf(res),
        format,
        window,
        out: res,
        clock: deps.clock,
      });
    } catch (err) {
      // A client that hangs up mid-export is not a fault of the service (the access log
      // records it as aborted); anything else goes to the problem handler, which cuts
      // the connection once bytes have gone out, so a partial export never looks whole.
      if (res.destroyed) return;
      throw err;
    }
    res.end();
  });

  return router;
}
