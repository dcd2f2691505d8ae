// Desired seats = f(directory, rules, licences): for a set of users (or everyone), one seat
// per user and licence they are eligible for, from the rule that decides it. Who is
// eligible, and through which rule, is eligibility.ts's to say; this is its eligible part,
// in the shape the reconciler's plan takes.
import type { Knex } from 'knex';
import { eligibility, type RuleRow } from './eligibility.js';

export type { RuleRow };

export interface DesiredSeat {
  licenseId: string;
  userId: string;
  ruleId: string;
  priority: number;
}

/**
 * Desired seats for the given licences and users (null: all users). `validLicenseIds`
 * are the licences currently in force; rules of other licences grant nothing.
 */
export async function desiredSeats(
  db: Knex,
  tenantId: string,
  rules: RuleRow[],
  validLicenseIds: Iterable<string>,
  userIds: string[] | null,
): Promise<DesiredSeat[]> {
  const decisions = await eligibility(db, tenantId, {
    rules,
    inForce: new Set(validLicenseIds),
    userIds,
    explain: false,
  });
  return decisions
    .filter((d) => d.verdict === 'eligible')
    .map((d) => ({
      licenseId: d.licenseId,
      userId: d.userId,
      ruleId: d.ruleId,
      priority: d.priority,
    }));
}
