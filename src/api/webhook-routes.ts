// /api/v1/webhooks (issue 14): thin adapters over src/notifications. The secret is in
// the creation's answer only; nothing else ever shows it.
import { Router, type Response } from 'express';
import type { Knex } from 'knex';
import { principalOf } from '../http/index.js';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  rotateWebhookSecret,
  updateWebhook,
  type WebhookScope,
  type WebhookSettings,
} from '../notifications/index.js';
import type { Clock } from '../shared/clock.js';
import { actorOf } from './session-auth.js';

export function webhookRoutes(deps: {
  knex: Knex;
  clock: Clock;
  webhooks: WebhookSettings;
  /** The public origin (PUBLIC_URL) for the Location header, never the Host header. */
  publicUrl: () => string;
}): Router {
  const router = Router();
  const scope = (res: Response): WebhookScope => ({
    knex: deps.knex,
    tenantId: principalOf(res).tenantId,
    actor: actorOf(res),
    clock: deps.clock,
    settings: deps.webhooks,
  });
  const tenantOf = (res: Response) => principalOf(res).tenantId;

  router.post('/webhooks', async (req, res) => {
    const created = await createWebhook(scope(res), req.body);
    res
      .status(201)
      .set({
        'Cache-Control': 'no-store',
        Location: `${deps.publicUrl()}${req.baseUrl}/webhooks/${created.id}`,
      })
      .json(created);
  });
  router.get(
    '/webhooks',
    async (_req, res) => void res.json(await listWebhooks(deps.knex, tenantOf(res))),
  );
  router.get(
    '/webhooks/:id',
    async (req, res) => void res.json(await getWebhook(deps.knex, tenantOf(res), req.params.id)),
  );
  router.patch(
    '/webhooks/:id',
    async (req, res) => void res.json(await updateWebhook(scope(res), req.params.id, req.body)),
  );
  router.post('/webhooks/:id/rotate-secret', async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await rotateWebhookSecret(scope(res), req.params.id));
  });
  router.delete('/webhooks/:id', async (req, res) => {
    await deleteWebhook(scope(res), req.params.id);
    res.status(204).end();
  });
  router.get('/webhooks/:id/deliveries', async (req, res) => {
    res.json(
      await listDeliveries(
        deps.knex,
        tenantOf(res),
        req.params.id,
        req.query as Record<string, unknown>,
      ),
    );
  });
  return router;
}
