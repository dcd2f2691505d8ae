// Machines (node-locked) and leases (floating) over HTTP, thin adapters over src/keys:
// - licensed software, with `Authorization: License <key>`: POST /machines,
//   DELETE /machines/{id}, POST /leases, GET|DELETE /leases/{id},
//   POST /leases/{id}/heartbeat. Mounted before the admin API's token check, each route
//   with its own per-key limit (KEY_LEASE_REQUESTS_PER_MINUTE), apart from validation's:
//   a pool's clients all checking out at once must never be refused for it.
// - the admin side, with an api token: GET /licenses/{id}/machines,
//   POST /machines/{id}/transfer.
import express, { Router, type RequestHandler, type Response } from 'express';
import type { Knex } from 'knex';
import { principalOf, refuseUnsafeText, requireMediaType } from '../http/index.js';
import {
  activateMachine,
  checkIn,
  checkOut,
  deactivateMachine,
  DEFAULT_LEASE_TTL_SECONDS,
  getLease,
  heartbeat,
  listMachines,
  transferMachine,
  type MachineAdminContext,
} from '../keys/index.js';
import { parsePageRequest } from '../licensing/index.js';
import type { Clock } from '../shared/clock.js';
import { perKeyLimiter, presentedKey } from './keys-routes.js';
import { actorOf } from './session-auth.js';

/** Machine and lease requests a minute per key when KEY_LEASE_REQUESTS_PER_MINUTE is unset. */
export const DEFAULT_LEASE_REQUESTS_PER_MINUTE = 1200;

export interface MachineLeaseDeps {
  knex: Knex;
  clock: Clock;
  bodyLimit: number;
  leaseRequestsPerMinute?: number | undefined;
  leaseTtlSeconds?: number | undefined;
}

/** The licence-key side. */
export function machineLeaseRoutes(deps: MachineLeaseDeps): Router {
  const router = Router();
  const JSON_TYPES = ['application/json', 'application/*+json'];
  const leaseDeps = {
    knex: deps.knex,
    clock: deps.clock,
    leaseTtlSeconds: deps.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS,
  };
  const keyed: RequestHandler[] = [
    (req, _res, next) => {
      presentedKey(req);
      next();
    },
    perKeyLimiter(deps.leaseRequestsPerMinute ?? DEFAULT_LEASE_REQUESTS_PER_MINUTE, 'requests'),
    requireMediaType(JSON_TYPES),
    express.json({ limit: deps.bodyLimit, type: JSON_TYPES }),
    refuseUnsafeText,
    (_req, res, next) => {
      // Answers about one key's machines and leases are for that key's holder alone.
      res.set('Cache-Control', 'no-store');
      next();
    },
  ];
  router.post('/machines', ...keyed, async (req, res) => {
    const { created, machine } = await activateMachine(leaseDeps, presentedKey(req), req.body);
    res.status(created ? 201 : 200).json(machine);
  });
  router.delete('/machines/:id', ...keyed, async (req, res) => {
    res.json(await deactivateMachine(leaseDeps, presentedKey(req), req.params.id as string));
  });
  router.post('/leases', ...keyed, async (req, res) => {
    const out = await checkOut(leaseDeps, presentedKey(req), req.body);
    res.status(out.queued ? 202 : 201).json(out.lease);
  });
  router.get('/leases/:id', ...keyed, async (req, res) => {
    res.json(await getLease(leaseDeps, presentedKey(req), req.params.id as string));
  });
  router.delete('/leases/:id', ...keyed, async (req, res) => {
    res.json(await checkIn(leaseDeps, presentedKey(req), req.params.id as string));
  });
  router.post('/leases/:id/heartbeat', ...keyed, async (req, res) => {
    res.json(await heartbeat(leaseDeps, presentedKey(req), req.params.id as string));
  });
  return router;
}

/** The admin side (api token). */
export function machineAdminRoutes(deps: { knex: Knex; clock: Clock }): Router {
  const router = Router();
  const ctx = (res: Response): MachineAdminContext => ({
    knex: deps.knex,
    tenantId: principalOf(res).tenantId,
    actor: actorOf(res),
    clock: deps.clock,
  });
  router.get('/licenses/:id/machines', async (req, res) => {
    res.json(
      await listMachines(
        ctx(res),
        req.params.id,
        parsePageRequest(req.query as Record<string, unknown>),
      ),
    );
  });
  router.post('/machines/:id/transfer', async (req, res) => {
    res.json(await transferMachine(ctx(res), req.params.id, req.body));
  });
  return router;
}
