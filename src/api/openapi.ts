// The OpenAPI 3.1 document of /api/v1 (OpenAPI 3.1 schemas are JSON Schema 2020-12,
// which zod emits). Request schemas are the zod schemas that validate requests; response
// schemas are the zod records the licensing code's output types are inferred from
// (src/licensing/records.ts), so neither side can drift from the document. A test calls
// every operation below and checks the real answers against it.
import { z } from 'zod';
import { ProblemRecord } from '../http/index.js';
import {
  ActivityReportRecord,
  ComplianceSummaryRecord,
  ReclaimItemRecord,
  GroupRecord,
  MAX_SAVINGS_MONTHS,
  SavingsRecord,
  ImportReportRecord,
  LicenseComplianceRecord,
  LicenseInput,
  LicenseRecord,
  LicenseTermRecord,
  LicenseWriteRecord,
  RenewedTermRecord,
  MAX_LIMIT,
  pageSchema,
  ProductInput,
  ProductRecord,
  RuleInput,
  RuleRecord,
  RuleWriteRecord,
  SEAT_STATES,
  SeatChangeRecord,
  SeatDiffRecord,
  SeatRecord,
  UserDetailRecord,
  UserRecord,
  UserSeatsRecord,
} from '../licensing/index.js';
import { TenantPatch, TenantRecord } from '../tenancy/index.js';
import { JOB_NAMES, JobRunRecord, JobStatusRecord } from '../jobs/index.js';
import {
  ConnectionInput,
  ConnectionListRecord,
  ConnectionPatch,
  ConnectionRecord,
} from '../sso/index.js';
import { MeRecord } from './sso-routes.js';
import { AuditEventRecord, AuditVerificationRecord, auditPaths } from './audit-openapi.js';
import {
  CreatedOAuthClientRecord,
  OAuthClientInput,
  OAuthClientListRecord,
  OAuthClientRecord,
} from '../oauth/index.js';
import {
  ActivateMachineInput,
  CheckOutInput,
  IssuedKeyRecord,
  IssueKeyInput,
  LeaseGrantedRecord,
  LeaseQueuedRecord,
  LeaseRecord,
  LicenseKeyRecord,
  MachineRecord,
  TransferMachineInput,
  ValidateInput,
  ValidationRecord,
} from '../keys/index.js';
import {
  CreatedWebhookRecord,
  DeliveryPageRecord,
  MAX_DELIVERIES_LIMIT,
  WebhookInput,
  WebhookListRecord,
  WebhookPatch,
  WebhookRecord,
} from '../notifications/index.js';
import { machineLeasePaths } from './openapi-machines.js';

/** Every response shape, by its name in components.schemas. */
const RESPONSES = {
  Tenant: TenantRecord,
  Product: ProductRecord,
  ProductPage: pageSchema(ProductRecord),
  License: LicenseRecord,
  LicensePage: pageSchema(LicenseRecord),
  LicenseWriteResult: LicenseWriteRecord,
  Rule: RuleRecord,
  RulePage: pageSchema(RuleRecord),
  RuleWriteResult: RuleWriteRecord,
  SeatDiff: SeatDiffRecord,
  SeatChange: SeatChangeRecord,
  Seat: SeatRecord,
  SeatPage: pageSchema(SeatRecord),
  LicenseTerm: LicenseTermRecord,
  LicenseCompliance: LicenseComplianceRecord,
  RenewedTermPage: pageSchema(RenewedTermRecord),
  ComplianceSummary: ComplianceSummaryRecord,
  User: UserRecord,
  UserPage: pageSchema(UserRecord),
  UserDetail: UserDetailRecord,
  UserSeats: UserSeatsRecord,
  Group: GroupRecord,
  GroupPage: pageSchema(GroupRecord),
  ImportReport: ImportReportRecord,
  ActivityReport: ActivityReportRecord,
  ReclaimPreview: pageSchema(ReclaimItemRecord),
  Savings: SavingsRecord,
  JobList: z.object({ items: z.array(JobStatusRecord) }),
  JobRun: JobRunRecord,
  SsoConnection: ConnectionRecord,
  SsoConnectionList: ConnectionListRecord,
  Me: MeRecord,
  OAuthClient: OAuthClientRecord,
  CreatedOAuthClient: CreatedOAuthClientRecord,
  OAuthClientList: OAuthClientListRecord,
  IssuedLicenseKey: IssuedKeyRecord,
  LicenseKey: LicenseKeyRecord,
  LicenseKeyPage: pageSchema(LicenseKeyRecord),
  Validation: ValidationRecord,
  Webhook: WebhookRecord,
  CreatedWebhook: CreatedWebhookRecord,
  WebhookList: WebhookListRecord,
  WebhookDeliveryPage: DeliveryPageRecord,
  AuditEventPage: pageSchema(AuditEventRecord),
  AuditVerification: AuditVerificationRecord,
  Machine: MachineRecord,
  MachinePage: pageSchema(MachineRecord),
  Lease: LeaseRecord,
  LeaseGranted: LeaseGrantedRecord,
  LeaseQueued: LeaseQueuedRecord,
  Problem: ProblemRecord,
} satisfies Record<string, z.ZodType>;
export type ResponseSchemaName = keyof typeof RESPONSES;

type JsonSchema = Record<string, unknown>;

/**
 * The schemas of one zod registry, converted together so that a record used inside
 * another (a Licence inside a page) becomes a $ref to its own component.
 */
function componentSchemas(
  named: Record<string, z.ZodType>,
  io: 'input' | 'output',
): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io,
    uri: (id) => `#/components/schemas/${id}`,
  });
  // Each comes with its own $id and $schema; inside the document a component is named by
  // its place, and the dialect is the document's (2020-12 with OpenAPI's vocabulary).
  return Object.fromEntries(
    Object.entries(schemas).map(([name, { $id: _id, $schema: _schema, ...rest }]) => [
      name,
      rest as JsonSchema,
    ]),
  );
}

type InputSchemaName =
  | 'ProductInput'
  | 'LicenseInput'
  | 'RuleInput'
  | 'TenantPatch'
  | 'SsoConnectionInput'
  | 'SsoConnectionPatch'
  | 'OAuthClientInput'
  | 'IssueKeyInput'
  | 'ValidateInput'
  | 'WebhookInput'
  | 'WebhookPatch'
  | 'ActivateMachineInput'
  | 'TransferMachineInput'
  | 'CheckOutInput';
const ref = (name: ResponseSchemaName | InputSchemaName) => ({
  $ref: `#/components/schemas/${name}`,
});
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const answer = (description: string, schema: ResponseSchemaName) => ({
  description,
  ...json(ref(schema)),
});
const problem = {
  description: 'RFC 9457 problem',
  content: { 'application/problem+json': { schema: ref('Problem') } },
};
const problems = (...statuses: number[]) =>
  Object.fromEntries(
    [401, 403, ...statuses].sort((a, b) => a - b).map((s) => [String(s), problem]),
  );
/** What a read by id, a list, and a write can fail with (besides 401/403). */
const READ = problems(404);
const LIST = problems(400);
const WRITE = problems(400, 404, 409, 413, 422);

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

/**
 * The five routes of a resource. With a seat diff (licences, rules), writes answer the
 * record and the seat changes they caused, and take ?dryRun=true (200, nothing committed).
 */
function crud(
  name: string,
  shapes: { input: 'ProductInput' | 'LicenseInput' | 'RuleInput'; record: ResponseSchemaName },
  diff: { write: ResponseSchemaName } | null,
) {
  const page = `${shapes.record}Page` as ResponseSchemaName;
  const extra = diff ? [dryRun] : [];
  const written = diff
    ? answer('The record and the seat changes it caused', diff.write)
    : answer('The record', shapes.record);
  const dryRan = diff
    ? { '200': answer('Dry run: what the write would do; nothing committed', diff.write) }
    : {};
  return {
    [`/${name}`]: {
      get: {
        summary: `List ${name}`,
        parameters: paging,
        responses: { '200': answer('A page', page), ...LIST },
      },
      post: {
        summary: `Create one of ${name}`,
        parameters: extra,
        requestBody: { required: true, ...json(ref(shapes.input)) },
        responses: { '201': written, ...dryRan, ...WRITE },
      },
    },
    [`/${name}/{id}`]: {
      get: {
        summary: `Get one of ${name}`,
        parameters: [id],
        responses: { '200': answer('The record', shapes.record), ...READ },
      },
      patch: {
        summary: `Change one of ${name}`,
        parameters: [id, ...extra],
        requestBody: {
          required: true,
          ...json({ ...ref(shapes.input), description: 'Any subset of the fields' }),
        },
        responses: { '200': written, ...WRITE },
      },
      delete: {
        summary: `Delete one of ${name}`,
        parameters: [id, ...extra],
        responses: diff
          ? { '200': answer('The seat changes the deletion caused', 'SeatDiff'), ...WRITE }
          : { '204': { description: 'Deleted' }, ...WRITE },
      },
    },
  };
}

const ActivityRequest = {
  type: 'object',
  required: ['events'],
  additionalProperties: false,
  properties: {
    events: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['occurredAt'],
        properties: {
          userId: { type: 'string', format: 'uuid' },
          userName: { type: 'string' },
          occurredAt: { type: 'string', format: 'date-time' },
          productId: { type: 'string', format: 'uuid' },
          source: { type: 'string' },
          id: {
            type: 'string',
            description: 'Idempotency key: an event id seen before counts once',
          },
        },
      },
    },
  },
  example: {
    events: [{ userName: 'alice@example.com', occurredAt: '2026-12-07T10:00:00Z', id: 'evt-1' }],
  },
};

const paths = {
  ...auditPaths({ answer, problems, paging }),
  '/activity': {
    post: {
      summary: 'Record user activity (at most 1,000 events; idempotent on each event id)',
      requestBody: { required: true, ...json(ActivityRequest) },
      responses: { '200': answer('What was recorded', 'ActivityReport'), ...problems(400, 413) },
    },
  },
  '/jobs': {
    get: {
      summary:
        "Each scheduled job's last run and result for this tenant, its last failure, its next run",
      responses: { '200': answer('The jobs', 'JobList'), ...problems() },
    },
  },
  '/jobs/{name}/run': {
    post: {
      summary:
        'Run a job now for this tenant only, within the request (also with JOBS_ENABLED=false)',
      parameters: [
        {
          name: 'name',
          in: 'path',
          required: true,
          schema: { type: 'string', enum: [...JOB_NAMES] },
        },
      ],
      responses: { '200': answer('What the run did', 'JobRun'), ...problems(404) },
    },
  },
  '/reclamation/preview': {
    get: {
      summary: 'What the next inactivity scan would do; commits nothing',
      parameters: [
        ...paging,
        { name: 'licenseId', in: 'query', schema: { type: 'string', format: 'uuid' } },
      ],
      responses: { '200': answer('A page of seats', 'ReclaimPreview'), ...problems(400, 404) },
    },
  },
  '/savings': {
    get: {
      summary: 'Money saved by reclaiming seats, and still to save, per licence and month (UTC)',
      parameters: [
        {
          name: 'from',
          in: 'query',
          required: true,
          schema: { type: 'string', format: 'date' },
          description: 'First day, YYYY-MM-DD',
        },
        {
          name: 'to',
          in: 'query',
          required: true,
          schema: { type: 'string', format: 'date' },
          description: `Day after the last (exclusive), YYYY-MM-DD; at most ${MAX_SAVINGS_MONTHS} months after from`,
        },
        { name: 'licenseId', in: 'query', schema: { type: 'string', format: 'uuid' } },
      ],
      responses: {
        '200': answer('Savings by licence and month', 'Savings'),
        ...problems(400, 404),
      },
    },
  },
  '/tenant': {
    get: {
      summary: "The token's tenant",
      responses: { '200': answer('The tenant', 'Tenant'), ...problems() },
    },
    patch: {
      summary: "Change the tenant's settings: the reclaim policy new licences start with",
      requestBody: { required: true, ...json(ref('TenantPatch')) },
      responses: { '200': answer('The tenant', 'Tenant'), ...problems(400) },
    },
  },
  ...crud('products', { input: 'ProductInput', record: 'Product' }, null),
  ...crud(
    'licenses',
    { input: 'LicenseInput', record: 'License' },
    { write: 'LicenseWriteResult' },
  ),
  ...crud('rules', { input: 'RuleInput', record: 'Rule' }, { write: 'RuleWriteResult' }),
  '/licenses/{id}/seats': {
    get: {
      summary: "A licence's seats",
      parameters: [
        id,
        ...paging,
        { name: 'state', in: 'query', schema: { type: 'string', enum: SEAT_STATES } },
      ],
      responses: { '200': answer('A page', 'SeatPage'), ...problems(400, 404) },
    },
  },
  '/licenses/{id}/terms': {
    get: {
      summary:
        'The renewals stored for an auto-renewing licence (subscription-renewal job), oldest first',
      parameters: [id, ...paging],
      responses: { '200': answer('A page', 'RenewedTermPage'), ...problems(400, 404) },
    },
  },
  '/licenses/{id}/compliance': {
    get: {
      summary: 'Compliance of one licence: use against purchase, and where its term stands',
      parameters: [id],
      responses: { '200': answer('Its compliance', 'LicenseCompliance'), ...READ },
    },
  },
  '/compliance': {
    get: {
      summary: 'Tenant-wide compliance summary and score',
      responses: { '200': answer('The summary', 'ComplianceSummary'), ...problems() },
    },
  },
  '/seats': {
    post: {
      summary: 'Assign a seat by hand (a full pool, or a licence not in force, queues it)',
      requestBody: { required: true, ...json({ $ref: '#/components/schemas/SeatAssignment' }) },
      responses: { '201': answer('The seat', 'Seat'), ...WRITE },
    },
  },
  '/seats/{id}': {
    delete: {
      summary: 'Release a manual seat',
      parameters: [id],
      responses: { '200': answer('The released seat', 'Seat'), ...WRITE },
    },
  },
  '/seats/{id}/transfer': {
    post: {
      summary: 'Transfer a manual seat',
      parameters: [id],
      requestBody: { required: true, ...json({ $ref: '#/components/schemas/SeatTransfer' }) },
      responses: { '201': answer('The new seat', 'Seat'), ...WRITE },
    },
  },
  '/imports/licenses': {
    post: {
      summary: 'Import licences and seat assignments from CSV (all or nothing)',
      parameters: [dryRun],
      requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string' } } } },
      responses: {
        '201': answer('Imported', 'ImportReport'),
        '200': answer('Dry run report', 'ImportReport'),
        ...WRITE,
      },
    },
  },
  '/users': {
    get: {
      summary: 'Directory users (SCIM ids)',
      parameters: paging,
      responses: { '200': answer('A page', 'UserPage'), ...LIST },
    },
  },
  '/users/{id}': {
    get: {
      summary: 'A directory user',
      parameters: [id],
      responses: { '200': answer('The user and their groups', 'UserDetail'), ...READ },
    },
  },
  '/users/{id}/seats': {
    get: {
      summary: "A user's seats, why they hold them, and why not",
      parameters: [id],
      responses: { '200': answer('The explanation', 'UserSeats'), ...READ },
    },
  },
  '/groups': {
    get: {
      summary: 'Directory groups (SCIM ids)',
      parameters: paging,
      responses: { '200': answer('A page', 'GroupPage'), ...LIST },
    },
  },
  '/groups/{id}': {
    get: {
      summary: 'A directory group',
      parameters: [id],
      responses: { '200': answer('The group', 'Group'), ...READ },
    },
  },
  '/sso/connections': {
    get: {
      summary: "The tenant's SSO connections (secrets never shown)",
      responses: { '200': answer('Every connection', 'SsoConnectionList'), ...problems() },
    },
    post: {
      summary: 'Add an OIDC or SAML connection; answers what to give the identity provider',
      requestBody: { required: true, ...json(ref('SsoConnectionInput')) },
      responses: { '201': answer('The connection', 'SsoConnection'), ...WRITE },
    },
  },
  '/sso/connections/{id}': {
    get: {
      summary: 'One SSO connection',
      parameters: [id],
      responses: { '200': answer('The connection', 'SsoConnection'), ...READ },
    },
    patch: {
      summary: 'Change an SSO connection (not its type); a secret given replaces the stored one',
      parameters: [id],
      requestBody: { required: true, ...json(ref('SsoConnectionPatch')) },
      responses: { '200': answer('The connection', 'SsoConnection'), ...WRITE },
    },
    delete: {
      summary: 'Delete an SSO connection',
      parameters: [id],
      responses: { '204': { description: 'Deleted' }, ...WRITE },
    },
  },
  '/oauth/clients': {
    get: {
      summary: "The tenant's OAuth 2.0 clients (client credentials; secrets never shown)",
      responses: { '200': answer('Every client', 'OAuthClientList'), ...problems() },
    },
    post: {
      summary: 'Create an OAuth 2.0 client for POST /oauth/token; its secret is shown only now',
      requestBody: { required: true, ...json(ref('OAuthClientInput')) },
      responses: { '201': answer('The client and its secret', 'CreatedOAuthClient'), ...WRITE },
    },
  },
  '/oauth/clients/{id}': {
    delete: {
      summary: 'Revoke an OAuth 2.0 client: its tokens stop working at once',
      parameters: [id],
      responses: { '200': answer('The revoked client', 'OAuthClient'), ...WRITE },
    },
  },
  '/licenses/{id}/keys': {
    get: {
      summary: "The licence's keys (never their text)",
      parameters: [id, ...paging],
      responses: { '200': answer('A page', 'LicenseKeyPage'), ...problems(400, 404) },
    },
    post: {
      summary:
        'Issue a signed licence key (compact JWS, EdDSA); its text is shown only now. 409 once the licence has ended',
      parameters: [id],
      requestBody: { required: false, ...json(ref('IssueKeyInput')) },
      responses: { '201': answer('The key', 'IssuedLicenseKey'), ...WRITE },
    },
  },
  '/keys/{id}': {
    delete: {
      summary: 'Revoke a licence key: validation answers `revoked` from now on',
      parameters: [id],
      responses: { '200': answer('The revoked key', 'LicenseKey'), ...WRITE },
    },
  },
  '/licenses/{id}/suspend': {
    post: {
      summary: 'Suspend a licence: its keys validate as `suspended` until it is resumed',
      parameters: [id],
      responses: { '200': answer('The licence', 'License'), ...problems(404) },
    },
  },
  '/licenses/{id}/resume': {
    post: {
      summary: 'Resume a suspended licence',
      parameters: [id],
      responses: { '200': answer('The licence', 'License'), ...problems(404) },
    },
  },
  '/validate': {
    post: {
      summary:
        'Validate a licence key (Authorization: License <key>) and, optionally, a version, entitlements, a machine’s fingerprint (an active machine of the licence) and a lease (an active lease of the licence). Rate-limited per key (KEY_VALIDATIONS_PER_MINUTE, default 60; machines and leases have their own limit)',
      security: [{ licenseKey: [] }],
      requestBody: { required: false, ...json(ref('ValidateInput')) },
      responses: {
        '200': answer('Whether the key is valid, and why not', 'Validation'),
        '400': problem,
        '401': { ...problem, description: 'RFC 9457 problem, code invalid_key' },
        '415': problem,
        '429': { ...problem, description: 'RFC 9457 problem; Retry-After says when to retry' },
      },
    },
  },
  '/webhooks': {
    get: {
      summary: "The tenant's webhook endpoints (secrets never shown)",
      responses: { '200': answer('Every endpoint', 'WebhookList'), ...problems() },
    },
    post: {
      summary:
        'Subscribe an endpoint to event types; its Standard Webhooks signing secret is shown only now',
      requestBody: { required: true, ...json(ref('WebhookInput')) },
      responses: {
        '201': {
          ...answer('The endpoint and its secret', 'CreatedWebhook'),
          headers: { Location: { schema: { type: 'string' } } },
        },
        ...WRITE,
      },
    },
  },
  '/webhooks/{id}': {
    get: {
      summary: 'One webhook endpoint',
      parameters: [id],
      responses: { '200': answer('The endpoint', 'Webhook'), ...READ },
    },
    patch: {
      summary: "Change an endpoint's URL, event types, description, or disable it",
      parameters: [id],
      requestBody: { required: true, ...json(ref('WebhookPatch')) },
      responses: { '200': answer('The endpoint', 'Webhook'), ...WRITE },
    },
    delete: {
      summary: 'Delete an endpoint, its pending deliveries and its log',
      parameters: [id],
      responses: { '204': { description: 'Deleted' }, ...WRITE },
    },
  },
  '/webhooks/{id}/rotate-secret': {
    post: {
      summary:
        'A new signing secret, shown only now; for 24 h requests carry signatures by both the new and the old',
      parameters: [id],
      responses: { '200': answer('The endpoint and its new secret', 'CreatedWebhook'), ...WRITE },
    },
  },
  '/webhooks/{id}/deliveries': {
    get: {
      summary: "An endpoint's delivery attempts, newest first",
      parameters: [
        id,
        {
          name: 'limit',
          in: 'query',
          schema: { type: 'integer', minimum: 1, maximum: MAX_DELIVERIES_LIMIT, default: 50 },
        },
        { name: 'cursor', in: 'query', schema: { type: 'string' } },
      ],
      responses: { '200': answer('A page of attempts', 'WebhookDeliveryPage'), ...READ, ...LIST },
    },
  },
  ...machineLeasePaths({ answer, ref, json, problem, problems, id, paging }),
  '/me': {
    get: {
      summary: 'The signed-in user (session cookie), whether an admin, and their seats explained',
      security: [{ session: [] }],
      responses: {
        '200': answer('The signed-in user', 'Me'),
        '401': problem,
      },
    },
  },
};

// Static: built once, on first use.
let schemas: Record<string, JsonSchema> | undefined;
function allSchemas() {
  schemas ??= {
    ...componentSchemas(
      {
        ProductInput,
        LicenseInput,
        RuleInput,
        TenantPatch,
        SsoConnectionInput: ConnectionInput,
        SsoConnectionPatch: ConnectionPatch,
        OAuthClientInput,
        IssueKeyInput,
        ValidateInput,
        WebhookInput,
        WebhookPatch,
        ActivateMachineInput,
        TransferMachineInput,
        CheckOutInput,
      },
      'input',
    ),
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
    ...componentSchemas(RESPONSES, 'output'),
  };
  return schemas;
}

// Each documented path as a pattern ({id} matches one segment), with its methods.
const ROUTES = Object.entries(paths).map(([path, ops]) => ({
  pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
  methods: Object.keys(ops).map((m) => m.toUpperCase()),
}));

/**
 * The methods the API has for a path, from this document (empty: no such path). The
 * 405's Allow header (RFC 9110 §15.5.6) reads it: what is documented is what exists
 * (test/e2e/openapi-responses.test.ts calls every documented operation).
 */
export function allowedMethods(path: string): string[] {
  const found = new Set<string>();
  for (const r of ROUTES) if (r.pattern.test(path)) for (const m of r.methods) found.add(m);
  if (found.has('GET')) found.add('HEAD');
  return [...found].sort();
}

export function openApiDocument(serverUrl: string) {
  return {
    openapi: '3.1.0',
    info: { title: 'Seatkeeper admin API', version: '0.1.0' },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API token (sk_api_...), or an access token from POST /oauth/token (scopes api:read, api:write)',
        },
        licenseKey: {
          type: 'http',
          scheme: 'License',
          description: 'A licence key from POST /licenses/{id}/keys',
        },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'sk_session',
          description: 'The session a single sign-on opened (/sso/...)',
        },
      },
      schemas: allSchemas(),
    },
  };
}
