// /api/v1 licensing routes: thin adapters over src/licensing. `?dryRun=true` on a licence
// or rule write returns the seat diff and commits nothing.
import { Router, type Request, type Response } from 'express';
import { boundedBody, principalOf, requireUtf8Body, unsupportedMediaType } from '../http/index.js';
import { actorOf } from './session-auth.js';
import type { Knex } from 'knex';
import type { Clock } from '../shared/clock.js';
import { invalidInput } from '../shared/errors.js';
import {
  assignSeat,
  catalog,
  complianceOf,
  complianceSummary,
  explainUser,
  getDirectoryGroup,
  getDirectoryUser,
  importLicences,
  listRenewedTerms,
  type LicensingContext,
  listDirectoryGroups,
  listDirectoryUsers,
  listSeats,
  parsePageRequest,
  releaseSeat,
  rules,
  type SeatDiff,
  transferSeat,
  type WriteResult,
  ingestActivity,
  previewReclamation,
  savings,
} from '../licensing/index.js';

function dryRunOf(req: Request): boolean {
  const v = req.query.dryRun;
  if (v === undefined || v === 'false') return false;
  if (v === 'true' || v === '') return true;
  throw invalidInput('dryRun must be true or false');
}

/** A write's answer: the resource, plus the seat diff it caused (or would cause). */
function sendWrite<T>(res: Response, status: number, w: WriteResult<T>) {
  const summary: SeatDiff['seatChanges']['summary'] = {
    granted: w.changes.filter((c) => c.to === 'active' && c.from !== 'pending_reclaim').length,
    waitlisted: w.changes.filter((c) => c.to === 'waitlisted').length,
    revoked: w.changes.filter((c) => c.to === 'released').length,
    pendingReclaim: w.changes.filter((c) => c.to === 'pending_reclaim').length,
    restored: w.changes.filter((c) => c.from === 'pending_reclaim' && c.to === 'active').length,
  };
  const body: SeatDiff & { item?: T } = {
    ...(w.result === null ? {} : { item: w.result }),
    dryRun: w.dryRun,
    seatChanges: { summary, changes: w.changes },
  };
  res.status(w.dryRun ? 200 : status).json(body);
}

export function licensingRoutes(deps: { knex: Knex; clock: Clock; bodyLimit: number }): Router {
  const router = Router();
  const ctx = (res: Response): LicensingContext => {
    const p = principalOf(res);
    return {
      knex: deps.knex,
      tenantId: p.tenantId,
      actor: actorOf(res),
      clock: deps.clock,
    };
  };
  const pageOf = (req: Request) => parsePageRequest(req.query as Record<string, unknown>);

  router.get(
    '/products',
    async (req, res) => void res.json(await catalog.listProducts(ctx(res), pageOf(req))),
  );
  router.post(
    '/products',
    async (req, res) => void res.status(201).json(await catalog.createProduct(ctx(res), req.body)),
  );
  router.get(
    '/products/:id',
    async (req, res) => void res.json(await catalog.getProduct(ctx(res), req.params.id)),
  );
  router.patch(
    '/products/:id',
    async (req, res) =>
      void res.json(await catalog.updateProduct(ctx(res), req.params.id, req.body)),
  );
  router.delete('/products/:id', async (req, res) => {
    await catalog.deleteProduct(ctx(res), req.params.id);
    res.status(204).end();
  });

  router.get(
    '/licenses',
    async (req, res) => void res.json(await catalog.listLicenses(ctx(res), pageOf(req))),
  );
  router.post('/licenses', async (req, res) =>
    sendWrite(res, 201, await catalog.createLicense(ctx(res), req.body, { dryRun: dryRunOf(req) })),
  );
  router.get(
    '/licenses/:id',
    async (req, res) => void res.json(await catalog.getLicense(ctx(res), req.params.id)),
  );
  router.patch('/licenses/:id', async (req, res) =>
    sendWrite(
      res,
      200,
      await catalog.updateLicense(ctx(res), req.params.id, req.body, { dryRun: dryRunOf(req) }),
    ),
  );
  router.delete('/licenses/:id', async (req, res) =>
    sendWrite(
      res,
      200,
      await catalog.deleteLicense(ctx(res), req.params.id, { dryRun: dryRunOf(req) }),
    ),
  );
  router.get('/licenses/:id/seats', async (req, res) => {
    const state = req.query.state === undefined ? undefined : String(req.query.state);
    res.json(await listSeats(ctx(res), req.params.id, state, pageOf(req)));
  });
  router.get(
    '/licenses/:id/terms',
    async (req, res) => void res.json(await listRenewedTerms(ctx(res), req.params.id, pageOf(req))),
  );
  router.get(
    '/licenses/:id/compliance',
    async (req, res) => void res.json(await complianceOf(ctx(res), req.params.id)),
  );
  router.get('/compliance', async (_req, res) => void res.json(await complianceSummary(ctx(res))));

  // Reclamation (issue 14): activity in, and what the inactivity scan would do.
  router.post(
    '/activity',
    async (req, res) => void res.json(await ingestActivity(ctx(res), req.body)),
  );
  router.get(
    '/savings',
    async (req, res) =>
      void res.json(
        await savings(ctx(res), {
          from: req.query.from,
          to: req.query.to,
          licenseId: req.query.licenseId,
        }),
      ),
  );
  router.get('/reclamation/preview', async (req, res) => {
    const licenseId = typeof req.query.licenseId === 'string' ? req.query.licenseId : undefined;
    res.json(await previewReclamation(ctx(res), { licenseId, page: pageOf(req) }));
  });

  router.get(
    '/rules',
    async (req, res) => void res.json(await rules.listRules(ctx(res), pageOf(req))),
  );
  router.post('/rules', async (req, res) =>
    sendWrite(res, 201, await rules.createRule(ctx(res), req.body, { dryRun: dryRunOf(req) })),
  );
  router.get(
    '/rules/:id',
    async (req, res) => void res.json(await rules.getRule(ctx(res), req.params.id)),
  );
  router.patch('/rules/:id', async (req, res) =>
    sendWrite(
      res,
      200,
      await rules.updateRule(ctx(res), req.params.id, req.body, { dryRun: dryRunOf(req) }),
    ),
  );
  router.delete('/rules/:id', async (req, res) =>
    sendWrite(res, 200, await rules.deleteRule(ctx(res), req.params.id, { dryRun: dryRunOf(req) })),
  );

  router.post(
    '/seats',
    async (req, res) => void res.status(201).json(await assignSeat(ctx(res), req.body)),
  );
  router.delete(
    '/seats/:id',
    async (req, res) => void res.json(await releaseSeat(ctx(res), req.params.id)),
  );
  router.post(
    '/seats/:id/transfer',
    async (req, res) =>
      void res.status(201).json(await transferSeat(ctx(res), req.params.id, req.body)),
  );

  // CSV import of existing licences and seats: all or nothing, ?dryRun=true to check only.
  // The body is parsed as it arrives, within BODY_LIMIT_BYTES like every other body.
  router.post('/imports/licenses', async (req, res) => {
    // The door takes JSON for every other write; this route takes CSV alone.
    if (!req.is(['text/csv', 'text/plain']))
      throw unsupportedMediaType(['text/csv', 'text/plain'], req.method);
    requireUtf8Body(req);
    const dryRun = dryRunOf(req);
    res
      .status(dryRun ? 200 : 201)
      .json(await importLicences(ctx(res), boundedBody(req, deps.bodyLimit), { dryRun }));
  });

  router.get(
    '/users',
    async (req, res) => void res.json(await listDirectoryUsers(ctx(res), pageOf(req))),
  );
  router.get(
    '/users/:id',
    async (req, res) => void res.json(await getDirectoryUser(ctx(res), req.params.id)),
  );
  router.get(
    '/users/:id/seats',
    async (req, res) => void res.json(await explainUser(ctx(res), req.params.id)),
  );
  router.get(
    '/groups',
    async (req, res) => void res.json(await listDirectoryGroups(ctx(res), pageOf(req))),
  );
  router.get(
    '/groups/:id',
    async (req, res) => void res.json(await getDirectoryGroup(ctx(res), req.params.id)),
  );
  return router;
}
