// The licensing API's input shapes, as zod schemas: they validate requests and generate
// the OpenAPI document, so the two can never drift.
import { z } from 'zod';
import { DATE_FORMAT_HINT, parseLicenceDate } from './dates.js';
import { termDatesProblem } from './term.js';
import { isMaxVersion, MAX_VERSION_HINT } from './versions.js';

const isoDate = z
  .string()
  .refine((v) => parseLicenceDate(v) !== null, { message: `must be ${DATE_FORMAT_HINT}` });
const uuid = z.uuid();

export const ProductInput = z
  .object({
    name: z.string().trim().min(1).max(200),
    vendor: z.string().trim().max(200).nullable().optional(),
    features: z.array(z.string().max(200)).max(500).default([]),
    versions: z.array(z.string().max(100)).max(500).default([]),
  })
  .strict();

export const LICENSE_TYPES = [
  'perpetual',
  'subscription',
  'trial',
  'floating',
  'node-locked',
  'site',
] as const;

/** Who may hold a seat, beyond the rule: an empty or absent list restricts nothing. */
export const Restrictions = z
  .object({
    countries: z.array(z.string().length(2)).max(300).optional(),
    departments: z.array(z.string().max(200)).max(500).optional(),
  })
  .strict();

export const Cost = z
  .object({
    unitCost: z.number().min(0).optional(),
    currency: z.string().length(3).optional(),
    pricingModel: z.enum(['per_seat', 'flat', 'usage', 'tiered']).optional(),
    annualCost: z.number().min(0).optional(),
  })
  .strict();

export const FULL_POLICIES = ['waitlist', 'overdeploy'] as const;

/** Users and groups (nested included) whose seats are never reclaimed for inactivity. */
export const ReclaimExempt = z
  .object({
    userIds: z.array(uuid).max(10_000).default([]),
    groupIds: z.array(uuid).max(1_000).default([]),
  })
  .strict();

/** Reclaim policy values a tenant's new licences start with (PATCH /tenant). */
export const ReclaimDefaults = z
  .object({
    inactivityDays: z.number().int().min(1).max(3650).nullable(),
    reclaimGraceDays: z.number().int().min(0).max(3650),
  })
  .strict();
export type ReclaimDefaults = z.infer<typeof ReclaimDefaults>;

export const LicenseInput = z
  .object({
    productId: uuid,
    name: z.string().trim().min(1).max(200),
    type: z.enum(LICENSE_TYPES),
    category: z.string().trim().max(100).nullable().optional(),
    /** null: unlimited. */
    quantity: z.number().int().min(0).max(10_000_000).nullable(),
    startsAt: isoDate.nullable().optional(),
    endsAt: isoDate.nullable().optional(),
    graceDays: z.number().int().min(0).max(3650).default(0),
    autoRenew: z.boolean().default(false),
    renewalLeadDays: z.number().int().min(0).max(3650).default(30),
    maintenanceEndsAt: isoDate.nullable().optional(),
    maxVersion: z
      .string()
      .max(100)
      .refine(isMaxVersion, { error: `maxVersion ${MAX_VERSION_HINT}` })
      .nullable()
      .optional(),
    entitlements: z.array(z.string().max(200)).max(500).default([]),
    restrictions: Restrictions.default({}),
    cost: Cost.default({}),
    fullPolicy: z.enum(FULL_POLICIES).default('waitlist'),
    overdeployLimit: z.number().int().min(0).max(1_000_000).default(0),
    alertThresholds: z.array(z.number().int().min(1).max(1000)).max(10).default([80, 90, 100]),
    /** Days before a fixed term's end at which `license.expiring` is published (issue 14). */
    expiryAlertDays: z
      .array(z.number().int().min(1).max(3650))
      .max(10)
      .refine((days) => new Set(days).size === days.length, {
        message: 'lead times must be distinct',
      })
      .default([30, 7, 1]),
    /** Days without activity for the product before a seat is reclaimed; null: never. */
    inactivityDays: z.number().int().min(1).max(3650).nullable().optional(),
    /** Grace of an inactivity or deprovisioning reclaim, in days (0: at once). */
    reclaimGraceDays: z.number().int().min(0).max(3650).optional(),
    reclaimExempt: ReclaimExempt.default({ userIds: [], groupIds: [] }),
  })
  .strict()
  // An empty term is refused here, once for every writer (API, PATCH merges): an
  // auto-renewing term of no length could never roll forward.
  .superRefine((l, ctx) => {
    const date = (s: string | null | undefined) => (s ? parseLicenceDate(s) : null);
    const problem = termDatesProblem(date(l.startsAt), date(l.endsAt));
    if (problem) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: problem });
  });

export const RuleInput = z
  .object({
    licenseId: uuid,
    groupId: uuid,
    filter: z.string().max(4096).nullable().optional(),
    priority: z.number().int().min(0).max(1_000_000).default(100),
    removalGraceDays: z.number().int().min(0).max(3650).default(0),
    name: z.string().trim().max(200).nullable().optional(),
  })
  .strict();

export type ProductInput = z.infer<typeof ProductInput>;
export type LicenseInput = z.infer<typeof LicenseInput>;
export type RuleInput = z.infer<typeof RuleInput>;
