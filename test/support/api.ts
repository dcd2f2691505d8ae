// An admin API client for tests: supertest with a tenant's API token.
import request from 'supertest';
import type { Express } from 'express';

export function apiClient(app: Express, token: string) {
  const auth = (r: request.Test) => r.set('Authorization', `Bearer ${token}`);
  return {
    get: (path: string) => auth(request(app).get(`/api/v1${path}`)),
    delete: (path: string) => auth(request(app).delete(`/api/v1${path}`)),
    post: (path: string, body: unknown) =>
      auth(request(app).post(`/api/v1${path}`)).send(body as object),
    patch: (path: string, body: unknown) =>
      auth(request(app).patch(`/api/v1${path}`)).send(body as object),
    postCsv: (path: string, csv: string) =>
      auth(request(app).post(`/api/v1${path}`))
        .set('Content-Type', 'text/csv')
        .send(csv),
  };
}

export type ApiClient = ReturnType<typeof apiClient>;
