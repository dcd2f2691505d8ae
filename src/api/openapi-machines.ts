// The OpenAPI paths of machines (node-locked) and leases (floating), kept apart from
// openapi.ts (which hands in its helpers: no import back, so no cycle).
type Answer = 'Machine' | 'MachinePage' | 'Lease' | 'LeaseGranted' | 'LeaseQueued';
type Input = 'ActivateMachineInput' | 'TransferMachineInput' | 'CheckOutInput';

export interface PathHelpers {
  answer: (description: string, schema: Answer) => object;
  ref: (name: Input) => object;
  json: (schema: object) => object;
  problem: object;
  problems: (...statuses: number[]) => Record<string, object>;
  id: object;
  paging: object[];
}

export function machineLeasePaths(h: PathHelpers) {
  const keyed = { security: [{ licenseKey: [] }] };
  // What every licence-key route can answer besides its own: a bad key (401), a licence
  // that cannot be used (403, its validation code), the per-key limit (429).
  const keyProblems = {
    ...h.problems(404),
    '401': { ...h.problem, description: 'RFC 9457 problem, code invalid_key' },
    '429': {
      ...h.problem,
      description: 'RFC 9457 problem; KEY_LEASE_REQUESTS_PER_MINUTE per key; Retry-After',
    },
  };
  return {
    '/machines': {
      post: {
        ...keyed,
        summary:
          'Activate this machine for the key’s licence (node-locked). Idempotent: an active fingerprint answers 200 with its machine. 409 too_many_machines at the licence’s quantity',
        requestBody: { required: true, ...h.json(h.ref('ActivateMachineInput')) },
        responses: {
          '200': h.answer('The machine, already active', 'Machine'),
          '201': h.answer('The machine, activated now', 'Machine'),
          ...keyProblems,
          '400': h.problem,
          '409': h.problem,
          '415': h.problem,
        },
      },
    },
    '/machines/{id}': {
      delete: {
        ...keyed,
        summary: 'Deactivate a machine of the key’s licence (twice is a no-op)',
        parameters: [h.id],
        responses: { '200': h.answer('The deactivated machine', 'Machine'), ...keyProblems },
      },
    },
    '/machines/{id}/transfer': {
      post: {
        summary:
          'Move an active machine to another licence of its product (audited). 409 too_many_machines, machine_exists or product_mismatch',
        parameters: [h.id],
        requestBody: { required: true, ...h.json(h.ref('TransferMachineInput')) },
        responses: {
          '200': h.answer('The machine', 'Machine'),
          ...h.problems(400, 404, 409, 415),
        },
      },
    },
    '/licenses/{id}/machines': {
      get: {
        summary: 'The licence’s machines, active and deactivated',
        parameters: [h.id, ...h.paging],
        responses: { '200': h.answer('A page', 'MachinePage'), ...h.problems(400, 404) },
      },
    },
    '/leases': {
      post: {
        ...keyed,
        summary:
          'Check a lease out of the licence’s pool (its quantity; null: unlimited). 201 while there is room, else 202 with a place in the queue, served in arrival order as leases free. The same fingerprint gets its live lease back',
        requestBody: { required: false, ...h.json(h.ref('CheckOutInput')) },
        responses: {
          '201': h.answer('The lease; heartbeat before expiresAt', 'LeaseGranted'),
          '202': h.answer(
            'Queued: poll GET /leases/{id} and heartbeat to keep the place',
            'LeaseQueued',
          ),
          ...keyProblems,
          '400': h.problem,
          '415': h.problem,
        },
      },
    },
    '/leases/{id}': {
      get: {
        ...keyed,
        summary: 'A lease of the key’s licence, with its queue position while queued',
        parameters: [h.id],
        responses: { '200': h.answer('The lease', 'Lease'), ...keyProblems },
      },
      delete: {
        ...keyed,
        summary: 'Check the lease in (or leave the queue); the next in line is served at once',
        parameters: [h.id],
        responses: { '200': h.answer('The lease', 'Lease'), ...keyProblems },
      },
    },
    '/leases/{id}/heartbeat': {
      post: {
        ...keyed,
        summary:
          'Keep a lease (or a queued request) alive for another LEASE_TTL_SECONDS. 409 lease_expired or lease_released once it ended',
        parameters: [h.id],
        responses: {
          '200': h.answer('The lease, expiresAt later', 'Lease'),
          ...keyProblems,
          '409': h.problem,
        },
      },
    },
  };
}
