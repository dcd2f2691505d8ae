// What a seat costs. A licence's cost states a unit cost per seat per year, or only the
// annual cost of the whole pool (compliance.ts reads the same fields for the annual cost).
// Money is rounded to the cent where it is shown.

export interface LicenceCost {
  unitCost?: number;
  annualCost?: number;
  currency?: string;
}

export interface Money {
  amount: number;
  currency: string | null;
}

const cents = (n: number) => Math.round(n * 100) / 100;

/** One seat's cost per month, or null when the licence states no cost to derive it from. */
export function seatMonthlyCost(cost: LicenceCost, quantity: number | null): Money | null {
  const perYear =
    cost.unitCost ??
    (cost.annualCost !== undefined && quantity ? cost.annualCost / quantity : undefined);
  return perYear === undefined
    ? null
    : { amount: cents(perYear / 12), currency: cost.currency ?? null };
}
