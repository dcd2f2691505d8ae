// A SCIM client for tests: supertest against the app, with a tenant's SCIM token.
import request from 'supertest';
import type { Express } from 'express';

export const SCIM = 'application/scim+json';
export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

export function scimClient(app: Express, token: string) {
  const auth = (r: request.Test) => r.set('Authorization', `Bearer ${token}`).set('Accept', SCIM);
  const withBody = (r: request.Test, body: unknown) =>
    auth(r).set('Content-Type', SCIM).send(JSON.stringify(body));
  return {
    get: (path: string) => auth(request(app).get(`/scim/v2${path}`)),
    delete: (path: string) => auth(request(app).delete(`/scim/v2${path}`)),
    post: (path: string, body: unknown) => withBody(request(app).post(`/scim/v2${path}`), body),
    put: (path: string, body: unknown) => withBody(request(app).put(`/scim/v2${path}`), body),
    patch: (path: string, body: unknown) => withBody(request(app).patch(`/scim/v2${path}`), body),
    patchOps: (path: string, Operations: unknown[]) =>
      withBody(request(app).patch(`/scim/v2${path}`), { schemas: [PATCH], Operations }),
  };
}

export type ScimClient = ReturnType<typeof scimClient>;

let n = 0;
export const userBody = (
  userName = `user${++n}@example.com`,
  extra: Record<string, unknown> = {},
) => ({
  schemas: [USER],
  userName,
  name: { givenName: 'Test', familyName: `User ${n}` },
  emails: [{ value: userName, type: 'work', primary: true }],
  active: true,
  ...extra,
});
