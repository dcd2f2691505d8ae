// /api/v1/sso/connections (api token) and /api/v1/me (the signed-in user's session):
// thin adapters over src/sso (issue 15).
import { Router, type Response } from 'express';
import { z } from 'zod';
import { principalOf } from '../http/index.js';
import { explainUser, UserSeatsRecord } from '../licensing/index.js';
import { AppError } from '../shared/errors.js';
import type { Clock } from '../shared/clock.js';
import {
  createConnection,
  deleteConnection,
  getConnection,
  listConnections,
  SESSION_COOKIE,
  sessionFromCookie,
  type SsoContext,
  updateConnection,
} from '../sso/index.js';
import { cookieOf } from '../http/index.js';
import { actorOf } from './session-auth.js';

export function ssoConnectionRoutes(sso: SsoContext): Router {
  const router = Router();
  const scope = (res: Response) => {
    return { tenantId: principalOf(res).tenantId, actor: actorOf(res) };
  };
  router.get(
    '/sso/connections',
    async (_req, res) => void res.json(await listConnections(sso, principalOf(res).tenantId)),
  );
  router.post(
    '/sso/connections',
    async (req, res) =>
      void res.status(201).json(await createConnection(sso, scope(res), req.body)),
  );
  router.get(
    '/sso/connections/:id',
    async (req, res) =>
      void res.json(await getConnection(sso, principalOf(res).tenantId, req.params.id)),
  );
  router.patch(
    '/sso/connections/:id',
    async (req, res) =>
      void res.json(await updateConnection(sso, scope(res), req.params.id, req.body)),
  );
  router.delete('/sso/connections/:id', async (req, res) => {
    await deleteConnection(sso, scope(res), req.params.id);
    res.status(204).end();
  });
  return router;
}

/** The answer of GET /api/v1/me (issue 15), its OpenAPI schema too. */
export const MeRecord = z.object({
  user: z.object({ id: z.uuid(), userName: z.string() }),
  isAdmin: z.boolean(),
  seats: UserSeatsRecord.shape.seats,
});
export type Me = z.infer<typeof MeRecord>;

/** GET /api/v1/me: the session's user, whether an admin, and their seats explained. */
export function meRoute(sso: SsoContext, clock: Clock): Router {
  const router = Router();
  router.get('/me', async (req, res) => {
    const session = await sessionFromCookie(sso, cookieOf(req, SESSION_COOKIE));
    if (!session) {
      throw new AppError('unauthenticated', 'sign in first: no live session', {
        status: 401,
        headers: { 'WWW-Authenticate': 'Cookie realm="seatkeeper"' },
      });
    }
    const seats = await explainUser(
      {
        knex: sso.knex,
        tenantId: session.tenantId,
        actor: { type: 'user', id: session.userId },
        clock,
      },
      session.userId,
    );
    const me: Me = {
      user: { id: seats.user.id, userName: seats.user.userName },
      isAdmin: session.isAdmin,
      seats: seats.seats,
    };
    res.set('Cache-Control', 'no-store').json(me);
  });
  return router;
}
