// Version gating (issue 18): a licence's `maxVersion` is a semver version (`2.3.1`) or an
// x-range (`2`, `2.x`, `2.3.x`), and a product version is covered when it is not above
// it. semver does the comparing (`gtr`: greater than every version the range allows), so
// `2.x` covers 2.99.0 and refuses 3.0.0, and a prerelease of 3.0.0 is above `2.x` too.
// Anything else is refused where it enters (licence writes, validation requests), so a
// stored maxVersion always parses.
import semver from 'semver';

// Only these shapes: a full version, or a major (and minor) with the rest left open.
// semver itself would take `>=1 <2`, `^2`, `~2.3` and `*`, which say "at least" or
// "anything" rather than a ceiling.
const X_RANGE = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))?(\.[xX*])?$|^(0|[1-9]\d*)\.[xX*](\.[xX*])?$/;

export const MAX_VERSION_HINT = 'must be a semver version (2.3.1) or an x-range (2, 2.x, 2.3.x)';

/** Whether `s` is a maxVersion a licence may carry. */
export function isMaxVersion(s: string): boolean {
  return semver.valid(s) !== null || X_RANGE.test(s);
}

/** Whether `s` is a product version a validation may ask about (full semver). */
export function isProductVersion(s: string): boolean {
  return semver.valid(s) !== null;
}

/** Whether `version` is covered by `maxVersion` (null: every version is). */
export function versionCovered(version: string, maxVersion: string | null): boolean {
  if (maxVersion === null) return true;
  return !semver.gtr(version, maxVersion, { includePrerelease: true });
}
