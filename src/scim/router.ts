// /scim/v2 (RFC 7644 §3): thin adapters from HTTP to the SCIM services. The tenant is the
// SCIM token's; every error is a SCIM error.
import express, { Router, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import type { DirectoryHooks } from '../directory/index.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../shared/clock.js';
import {
  type AccessTokenVerifier,
  type AuthFailureGuard,
  principalOf,
  refuseUnsafeText,
  requireMediaType,
  requireToken,
} from '../http/index.js';
import type { TokenCache } from '../tenancy/index.js';
import { handleBulk } from './bulk.js';
import type { ScimContext } from './context.js';
import {
  resourceTypes,
  schemas,
  SCIM_BODY_LIMIT_BYTES,
  serviceProviderConfig,
} from './discovery.js';
import { scimError, scimErrorHandler } from './errors.js';
import { noneMatch } from './etag.js';
import {
  createGroup,
  getGroup,
  listGroups,
  patchGroup,
  removeGroup,
  replaceGroup,
} from './groups.js';
import { parseListQuery, type ListQuery } from './list-query.js';
import { project, wants, parseAttributeList } from './projection.js';
import { LIST_RESPONSE, SEARCH_REQUEST, type ResourceKind } from './schemas.js';
import { searchAll } from './search.js';
import { createUser, getUser, listUsers, patchUser, removeUser, replaceUser } from './users.js';

export interface ScimDeps {
  knex: Knex;
  logger: Logger;
  clock: Clock;
  hooks: DirectoryHooks;
  tokens?: TokenCache;
  /** The public origin (PUBLIC_URL); default http://localhost. */
  publicUrl?: () => string;
  authGuard?: AuthFailureGuard | undefined;
  /** OAuth 2.0 access tokens with the scim scope, accepted beside SCIM tokens (issue 15). */
  accessTokens?: AccessTokenVerifier | undefined;
}

// RFC 7644 §3.1: SCIM bodies are application/scim+json; plain application/json is accepted too.
const SCIM_TYPES = ['application/scim+json', 'application/json'];

export function listResponse(
  resources: unknown[],
  total: number,
  query: Pick<ListQuery, 'startIndex' | 'cursor'>,
  nextCursor?: string,
) {
  return {
    schemas: [LIST_RESPONSE],
    totalResults: total,
    itemsPerPage: resources.length,
    ...(query.cursor === undefined
      ? { startIndex: query.startIndex }
      : nextCursor
        ? { nextCursor }
        : {}),
    Resources: resources,
  };
}

function send(res: Response, status: number, body: unknown, etag?: string) {
  if (etag) res.set('ETag', etag);
  res.status(status).type('application/scim+json').send(JSON.stringify(body));
}

const version = (resource: Record<string, unknown>) =>
  (resource.meta as { version: string }).version;

export function scimRouter(deps: ScimDeps): Router {
  const router = Router();
  router.use(requireToken(deps.knex, 'scim', deps.tokens, deps.authGuard, deps.accessTokens));
  router.use(requireMediaType(SCIM_TYPES));
  router.use(express.json({ limit: SCIM_BODY_LIMIT_BYTES, type: SCIM_TYPES, strict: false }));
  router.use(refuseUnsafeText);

  // Absolute base of /scim/v2 for meta.location and $ref: the configured public origin,
  // never the Host or X-Forwarded-Host a client sent (issue 12).
  const origin = deps.publicUrl ?? (() => 'http://localhost');
  const base = (req: Request) => `${origin()}${req.baseUrl}`;
  const ctx = (req: Request, res: Response): ScimContext => {
    const p = principalOf(res);
    return {
      knex: deps.knex,
      tenantId: p.tenantId,
      actor: { type: 'token', id: p.tokenId },
      clock: deps.clock,
      base: base(req),
      hooks: deps.hooks,
    };
  };
  const projectionOf = (req: Request) => ({
    attributes: parseAttributeList(req.query.attributes),
    excludedAttributes: parseAttributeList(req.query.excludedAttributes),
  });
  const bodyOf = (req: Request) => {
    if (!req.is(SCIM_TYPES))
      throw scimError(
        415,
        undefined,
        'send application/scim+json (or application/json)',
        'unsupported_media_type',
      );
    return req.body as unknown;
  };

  router.get('/ServiceProviderConfig', (req, res) =>
    send(res, 200, serviceProviderConfig(base(req))),
  );
  router.get('/ResourceTypes', (req, res) => {
    const all = resourceTypes(base(req));
    send(res, 200, listResponse(all, all.length, { startIndex: 1 }));
  });
  router.get('/ResourceTypes/:id', (req, res) => {
    const found = resourceTypes(base(req)).find((t) => t.id === req.params.id);
    if (!found)
      throw scimError(404, undefined, `ResourceType ${req.params.id} not found`, 'not_found');
    send(res, 200, found);
  });
  router.get('/Schemas', (req, res) => {
    const all = schemas(base(req));
    send(res, 200, listResponse(all, all.length, { startIndex: 1 }));
  });
  router.get('/Schemas/:id', (req, res) => {
    const found = schemas(base(req)).find(
      (s) => String(s.id).toLowerCase() === req.params.id.toLowerCase(),
    );
    if (!found) throw scimError(404, undefined, `Schema ${req.params.id} not found`, 'not_found');
    send(res, 200, found);
  });

  const resources = (kind: ResourceKind) => {
    const path = `/${kind}s`;
    const list = kind === 'User' ? listUsers : listGroups;
    const search = async (c: ScimContext, query: ListQuery, res: Response) => {
      const page = await list(c, query);
      send(res, 200, listResponse(page.resources, page.total, query, page.nextCursor));
    };
    router.get(path, (req, res) =>
      search(ctx(req, res), parseListQuery(req.query as Record<string, unknown>), res),
    );
    router.post(`${path}/.search`, (req, res) =>
      search(ctx(req, res), searchQuery(bodyOf(req)), res),
    );
    router.post(path, async (req, res) => {
      const c = ctx(req, res);
      const created =
        kind === 'User' ? await createUser(c, bodyOf(req)) : await createGroup(c, bodyOf(req));
      res.set('Location', String((created.meta as { location: string }).location));
      send(
        res,
        201,
        project(created, kind, projectionOf(req).attributes, projectionOf(req).excludedAttributes),
        version(created),
      );
    });
    router.get(`${path}/:id`, async (req, res) => {
      const c = ctx(req, res);
      const { attributes, excludedAttributes } = projectionOf(req);
      const { row, resource } =
        kind === 'User'
          ? await getUser(c, req.params.id)
          : await getGroup(c, req.params.id, {
              members: wants('members', 'Group', attributes, excludedAttributes),
            });
      if (noneMatch(req.get('if-none-match'), Number(row.version))) {
        res.set('ETag', version(resource)).status(304).end();
        return;
      }
      send(res, 200, project(resource, kind, attributes, excludedAttributes), version(resource));
    });
    router.put(`${path}/:id`, async (req, res) => {
      const c = ctx(req, res);
      const updated =
        kind === 'User'
          ? await replaceUser(c, req.params.id, bodyOf(req), req.get('if-match'))
          : await replaceGroup(c, req.params.id, bodyOf(req), req.get('if-match'));
      const { attributes, excludedAttributes } = projectionOf(req);
      send(res, 200, project(updated, kind, attributes, excludedAttributes), version(updated));
    });
    router.patch(`${path}/:id`, async (req, res) => {
      const c = ctx(req, res);
      const { attributes, excludedAttributes } = projectionOf(req);
      if (kind === 'User') {
        const updated = await patchUser(c, req.params.id, bodyOf(req), req.get('if-match'));
        send(res, 200, project(updated, kind, attributes, excludedAttributes), version(updated));
        return;
      }
      const { row } = await patchGroup(c, req.params.id, bodyOf(req), req.get('if-match'));
      if (!attributes && !excludedAttributes) {
        res.set('ETag', `W/"${row.version}"`).status(204).end();
        return;
      }
      const { resource } = await getGroup(c, req.params.id, {
        members: wants('members', 'Group', attributes, excludedAttributes),
      });
      send(res, 200, project(resource, kind, attributes, excludedAttributes), version(resource));
    });
    router.delete(`${path}/:id`, async (req, res) => {
      const c = ctx(req, res);
      if (kind === 'User') await removeUser(c, req.params.id, req.get('if-match'));
      else await removeGroup(c, req.params.id, req.get('if-match'));
      res.status(204).end();
    });
  };
  resources('User');
  resources('Group');

  router.post('/.search', async (req, res) => {
    const query = searchQuery(bodyOf(req));
    const page = await searchAll(ctx(req, res), query);
    send(res, 200, listResponse(page.resources, page.total, query));
  });
  router.post('/Bulk', async (req, res) => {
    const out = await handleBulk(ctx(req, res), bodyOf(req));
    send(res, 200, out);
  });

  router.use((req) => {
    throw scimError(
      404,
      undefined,
      `no SCIM endpoint ${req.method} ${req.baseUrl}${req.path}`,
      'not_found',
    );
  });
  router.use(scimErrorHandler(deps.logger));
  return router;
}

/** POST .search body (RFC 7644 §3.4.3): the same parameters as the query string, in JSON. */
function searchQuery(body: unknown): ListQuery {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw scimError(400, 'invalidSyntax', 'the body must be a SearchRequest');
  const b = body as Record<string, unknown>;
  if (
    !Array.isArray(b.schemas) ||
    !b.schemas.some((s) => String(s).toLowerCase() === SEARCH_REQUEST.toLowerCase())
  ) {
    throw scimError(400, 'invalidSyntax', `the body must declare the schema ${SEARCH_REQUEST}`);
  }
  return parseListQuery(b);
}
