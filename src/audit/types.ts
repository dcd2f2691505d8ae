import type { AuditAction } from './actions.js';

export type ActorType = 'system' | 'cli' | 'token' | 'user' | 'job';

export interface Actor {
  type: ActorType;
  id?: string | undefined;
}

export interface AuditEventInput {
  /** One of the catalogue (src/audit/actions.ts), e.g. `tenant.created`, `token.revoked`. */
  action: AuditAction;
  actor: Actor;
  target?: { type: string; id: string } | undefined;
  /** The person whose personal data the payload holds (a user id), for erasure. */
  subject?: string | undefined;
  /** Details of the change. Erasable; the chain covers only its salted digest. */
  payload?: Record<string, unknown> | undefined;
}

/** An event as stored and exported. */
export interface AuditRecord {
  tenantId: string;
  seq: number;
  eventId: string;
  occurredAt: string;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  payloadDigest: string | null;
  /** null when the event had no payload or it was erased. */
  payload: Record<string, unknown> | null;
  erasedAt: string | null;
  prevHash: string;
  hash: string;
}
