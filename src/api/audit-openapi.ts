// The audit routes' part of the OpenAPI document (src/api/openapi.ts composes it): their
// response records and their paths. The helpers come from the document, so the shapes
// of answers and problems stay one.
import { z } from 'zod';
import { AUDIT_ACTIONS, EXPORT_FORMATS } from '../audit/index.js';

/** One event as the JSON export writes it (src/audit/export). */
export const AuditEventRecord = z.object({
  tenantId: z.string(),
  seq: z.number().int().min(1),
  eventId: z.string(),
  occurredAt: z.string(),
  actorType: z.string(),
  actorId: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  payloadDigest: z.string().nullable(),
  payload: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe('null when the event had none or it was erased'),
  erasedAt: z.string().nullable(),
  prevHash: z.string(),
  hash: z.string(),
});

export const AuditVerificationRecord = z.object({
  ok: z.boolean(),
  events: z.number().int().min(0).describe('Chained events checked'),
  pending: z.number().int().min(0).describe('Events queued but not chained yet'),
  brokenAt: z.number().int().min(1).optional().describe('The seq where the chain breaks'),
});

const window = [
  {
    name: 'from',
    in: 'query',
    schema: { type: 'string', format: 'date-time' },
    description: 'Events at or after this instant (ISO 8601 with an offset)',
  },
  {
    name: 'to',
    in: 'query',
    schema: { type: 'string', format: 'date-time' },
    description: 'Events before this instant (exclusive)',
  },
];

export function auditPaths(h: {
  answer: (description: string, schema: 'AuditEventPage' | 'AuditVerification') => object;
  problems: (...statuses: number[]) => object;
  paging: object[];
}) {
  const text = { schema: { type: 'string' } };
  return {
    '/audit/events': {
      get: {
        summary:
          'Chained audit events in chain order (seq), oldest first; queued ones are not listed',
        parameters: [
          ...h.paging,
          {
            name: 'action',
            in: 'query',
            description:
              'Only these actions (exact): repeat the parameter, or separate them with commas',
            style: 'form',
            explode: true,
            schema: { type: 'array', items: { type: 'string', enum: [...AUDIT_ACTIONS] } },
          },
          {
            name: 'subject',
            in: 'query',
            description: 'Only events about this user id (whose personal data they hold)',
            schema: { type: 'string' },
          },
          ...window,
        ],
        responses: { '200': h.answer('A page', 'AuditEventPage'), ...h.problems(400) },
      },
    },
    '/audit/verify': {
      get: {
        summary: "Recompute the tenant's hash chain (queued events are chained first)",
        responses: {
          '200': h.answer('Whether the chain is intact', 'AuditVerification'),
          ...h.problems(),
        },
      },
    },
    '/audit/export': {
      get: {
        summary:
          'Stream the trail as `audit export` writes it; recorded as an audit.exported event',
        parameters: [
          {
            name: 'format',
            in: 'query',
            schema: { type: 'string', enum: [...EXPORT_FORMATS], default: 'json' },
          },
          ...window,
        ],
        responses: {
          '200': {
            description: 'The events, an attachment: JSON lines, CSV or ArcSight CEF',
            content: { 'application/x-ndjson': text, 'text/csv': text, 'text/plain': text },
          },
          ...h.problems(400),
        },
      },
    },
  };
}
