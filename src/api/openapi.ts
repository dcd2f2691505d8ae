// The OpenAPI 3.1 document of /api/v1, generated from the same zod schemas that validate
// requests (OpenAPI 3.1 schemas are JSON Schema 2020-12, which zod emits).
import { z } from 'zod';
import { LicenseInput, ProductInput, RuleInput } from '../licensing/model.js';
import { MAX_LIMIT } from '../licensing/paging.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const problem = {
  description: 'RFC 9457 problem',
  content: { 'application/problem+json': { schema: ref('Problem') } },
};
const errors = { '400': problem, '401': problem, '403': problem, '404': problem, '409': problem };
const id = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const paging = [
  {
    name: 'limit',
    in: 'query',
    schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 50 },
  },
  { name: 'cursor', in: 'query', schema: { type: 'string' } },
];
const dryRun = {
  name: 'dryRun',
  in: 'query',
  schema: { type: 'boolean', default: false },
  description: 'Return the seat diff and commit nothing',
};
const list = {
  description: 'A page',
  ...json({
    type: 'object',
    required: ['items', 'total', 'nextCursor'],
    properties: {
      items: { type: 'array', items: {} },
      total: { type: 'integer' },
      nextCursor: { type: ['string', 'null'] },
    },
  }),
};
const writeResult = {
  description: 'The resource and the seat changes it caused (or would cause)',
  ...json(ref('WriteResult')),
};

function crud(name: string, input: string, opts: { dryRun: boolean }) {
  const extra = opts.dryRun ? [dryRun] : [];
  const okWrite = opts.dryRun ? writeResult : { description: 'OK', ...json({}) };
  return {
    [`/${name}`]: {
      get: { summary: `List ${name}`, parameters: paging, responses: { '200': list, ...errors } },
      post: {
        summary: `Create one of ${name}`,
        parameters: extra,
        requestBody: { required: true, ...json(ref(input)) },
        responses: { '201': okWrite, '200': okWrite, ...errors },
      },
    },
    [`/${name}/{id}`]: {
      get: {
        summary: `Get one of ${name}`,
        parameters: [id],
        responses: { '200': { description: 'OK', ...json({}) }, ...errors },
      },
      patch: {
        summary: `Change one of ${name}`,
        parameters: [id, ...extra],
        requestBody: {
          required: true,
          ...json({ ...ref(input), description: 'Any subset of the fields' }),
        },
        responses: { '200': okWrite, ...errors },
      },
      delete: {
        summary: `Delete one of ${name}`,
        parameters: [id, ...extra],
        responses: { '200': okWrite, '204': { description: 'Deleted' }, ...errors },
      },
    },
  };
}

export function openApiDocument(serverUrl: string) {
  return {
    openapi: '3.1.0',
    info: { title: 'Seatkeeper admin API', version: '0.1.0' },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    paths: {
      '/tenant': {
        get: {
          summary: "The token's tenant",
          responses: { '200': { description: 'OK', ...json({}) }, ...errors },
        },
      },
      ...crud('products', 'ProductInput', { dryRun: false }),
      ...crud('licenses', 'LicenseInput', { dryRun: true }),
      ...crud('rules', 'RuleInput', { dryRun: true }),
      '/licenses/{id}/seats': {
        get: {
          summary: "A licence's seats",
          parameters: [
            id,
            ...paging,
            {
              name: 'state',
              in: 'query',
              schema: { enum: ['active', 'waitlisted', 'pending_reclaim', 'released'] },
            },
          ],
          responses: { '200': list, ...errors },
        },
      },
      '/licenses/{id}/compliance': {
        get: {
          summary: 'Compliance of one licence',
          parameters: [id],
          responses: { '200': { description: 'OK', ...json({}) }, ...errors },
        },
      },
      '/compliance': {
        get: {
          summary: 'Tenant-wide compliance summary and score',
          responses: { '200': { description: 'OK', ...json({}) }, ...errors },
        },
      },
      '/seats': {
        post: {
          summary: 'Assign a seat by hand',
          requestBody: { required: true, ...json(ref('SeatAssignment')) },
          responses: { '201': { description: 'The seat', ...json({}) }, ...errors },
        },
      },
      '/seats/{id}': {
        delete: {
          summary: 'Release a manual seat',
          parameters: [id],
          responses: { '200': { description: 'The released seat', ...json({}) }, ...errors },
        },
      },
      '/seats/{id}/transfer': {
        post: {
          summary: 'Transfer a manual seat',
          parameters: [id],
          requestBody: { required: true, ...json(ref('SeatTransfer')) },
          responses: { '201': { description: 'The new seat', ...json({}) }, ...errors },
        },
      },
      '/imports/licenses': {
        post: {
          summary: 'Import licences and seat assignments from CSV (all or nothing)',
          parameters: [dryRun],
          requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string' } } } },
          responses: {
            '201': { description: 'Imported', ...json({}) },
            '200': { description: 'Dry run report', ...json({}) },
            '422': problem,
            ...errors,
          },
        },
      },
      '/users': {
        get: {
          summary: 'Directory users (SCIM ids)',
          parameters: paging,
          responses: { '200': list, ...errors },
        },
      },
      '/users/{id}': {
        get: {
          summary: 'A directory user',
          parameters: [id],
          responses: { '200': { description: 'OK', ...json({}) }, ...errors },
        },
      },
      '/users/{id}/seats': {
        get: {
          summary: "A user's seats, why they hold them, and why not",
          parameters: [id],
          responses: { '200': { description: 'OK', ...json({}) }, ...errors },
        },
      },
      '/groups': {
        get: {
          summary: 'Directory groups (SCIM ids)',
          parameters: paging,
          responses: { '200': list, ...errors },
        },
      },
      '/groups/{id}': {
        get: {
          summary: 'A directory group',
          parameters: [id],
          responses: { '200': { description: 'OK', ...json({}) }, ...errors },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (sk_api_...)' },
      },
      schemas: {
        ProductInput: z.toJSONSchema(ProductInput, { io: 'input' }),
        LicenseInput: z.toJSONSchema(LicenseInput, { io: 'input' }),
        RuleInput: z.toJSONSchema(RuleInput, { io: 'input' }),
        SeatAssignment: {
          type: 'object',
          required: ['licenseId', 'userId'],
          properties: {
            licenseId: { type: 'string', format: 'uuid' },
            userId: { type: 'string', format: 'uuid' },
          },
        },
        SeatTransfer: {
          type: 'object',
          required: ['userId'],
          properties: { userId: { type: 'string', format: 'uuid' } },
        },
        WriteResult: {
          type: 'object',
          properties: {
            item: {},
            dryRun: { type: 'boolean' },
            seatChanges: {
              type: 'object',
              properties: { summary: { type: 'object' }, changes: { type: 'array', items: {} } },
            },
          },
        },
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            instance: { type: 'string' },
            code: { type: 'string' },
          },
        },
      },
    },
  };
}
