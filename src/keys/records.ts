// The shapes keys answer with and take (zod: validated at the edge, and the OpenAPI
// document's schemas, so neither side can drift).
import { z } from 'zod';

const id = z.uuid();
const instant = z.iso.datetime();

/** The longest offline grace a key may grant: 90 days. */
export const MAX_OFFLINE_GRACE_S = 90 * 86_400;
/** What a key grants when the request does not say: 7 days without reaching the service. */
export const DEFAULT_OFFLINE_GRACE_S = 7 * 86_400;

export const IssueKeyInput = z
  .object({
    offlineGraceSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_OFFLINE_GRACE_S)
      .default(DEFAULT_OFFLINE_GRACE_S)
      .describe('How long the software may run without validating online (the lic claim)'),
  })
  .strict();

export const IssuedKeyRecord = z.object({
  id,
  key: z.string().describe('The compact JWS; shown only now'),
  expiresAt: instant.nullable().describe('The key’s exp; null when it has none'),
});
export type IssuedKey = z.infer<typeof IssuedKeyRecord>;

export const LicenseKeyRecord = z.object({
  id,
  licenseId: id,
  kid: z.string().describe('RFC 7638 thumbprint of the key that signed it'),
  issuedAt: instant,
  expiresAt: instant.nullable(),
  revokedAt: instant.nullable(),
});
export type LicenseKey = z.infer<typeof LicenseKeyRecord>;

export const VALIDATION_CODES = [
  'valid',
  'expired',
  'not_started',
  'revoked',
  'suspended',
  'entitlement_missing',
  'version_not_covered',
  'fingerprint_mismatch',
  'too_many_machines',
  'no_lease',
  'lease_expired',
] as const;
export type ValidationCode = (typeof VALIDATION_CODES)[number];

export const ValidationRecord = z.object({
  valid: z.boolean(),
  code: z.enum(VALIDATION_CODES),
});
export type Validation = z.infer<typeof ValidationRecord>;

export const ValidateInput = z
  .object({
    version: z.string().max(100).optional().describe('The product version asking (semver)'),
    entitlements: z.array(z.string().max(200)).max(500).optional(),
    fingerprint: z
      .string()
      .min(1)
      .max(1000)
      .optional()
      .describe('When given, it must be an active machine of the licence'),
    lease: z
      .string()
      .max(1000)
      .optional()
      .describe('A lease id: it must be an active lease of the licence'),
  })
  .strict();

const fingerprint = z
  .string()
  .min(1)
  .max(1000)
  .describe('Whatever identifies the machine; only its SHA-256 digest is stored');

export const ActivateMachineInput = z
  .object({ fingerprint, name: z.string().min(1).max(200).optional() })
  .strict();

export const TransferMachineInput = z.object({ licenseId: id }).strict();

export const MachineRecord = z.object({
  id,
  licenseId: id,
  name: z.string().nullable(),
  activatedAt: instant,
  deactivatedAt: instant.nullable(),
});
export type Machine = z.infer<typeof MachineRecord>;

export const CheckOutInput = z
  .object({
    userName: z.string().min(1).max(256).optional().describe('Who uses the seat, for activity'),
    fingerprint: fingerprint.optional(),
  })
  .strict();

export const LEASE_STATUSES = ['active', 'queued', 'released', 'expired'] as const;
export type LeaseStatus = (typeof LEASE_STATUSES)[number];

export const LeaseGrantedRecord = z.object({
  id,
  expiresAt: instant.describe('Heartbeat before this, or the lease is culled'),
});
export const LeaseQueuedRecord = z.object({
  queued: z.literal(true),
  position: z.number().int().min(1).describe('1 is served next'),
  id,
});
export const LeaseRecord = z.object({
  id,
  status: z.enum(LEASE_STATUSES),
  position: z.number().int().min(1).optional().describe('While queued'),
  expiresAt: instant
    .optional()
    .describe('While active or queued: heartbeat before this, or it is culled'),
});
export type Lease = z.infer<typeof LeaseRecord>;

export const JwksRecord = z.object({
  keys: z.array(
    z.object({
      kty: z.literal('OKP'),
      crv: z.literal('Ed25519'),
      x: z.string(),
      kid: z.string(),
      alg: z.literal('EdDSA'),
      use: z.literal('sig'),
    }),
  ),
});
