// Version gating (issue 18): maxVersion is a semver version or an x-range, and a version
// is covered when it is not above it (semver 2.0.0 §11 precedence).
import { isMaxVersion, isProductVersion, versionCovered } from '../../src/licensing/versions.js';

describe('maxVersion', () => {
  test.each(['2', '2.x', '2.X', '2.*', '2.3.x', '2.x.x', '2.3.1', '0.9.0', '2.3.1-rc.1'])(
    '%s is a maxVersion',
    (v) => expect(isMaxVersion(v)).toBe(true),
  );
  test.each(['', 'x', '*', '>=2', '^2', '~2.3', '2.3.4.5', 'v2', '02', '2.x.3', 'latest', '1 - 2'])(
    '%j is refused: a ceiling, not a floor or a wildcard',
    (v) => expect(isMaxVersion(v)).toBe(false),
  );
});

describe('a version is covered when it is not above maxVersion (semver §11)', () => {
  test.each([
    ['2.99.0', '2.x', true],
    ['2.0.0', '2', true],
    ['1.4.0', '2.x', true],
    ['3.0.0', '2.x', false],
    ['3.0.0', '2', false],
    ['3.0.0-beta.1', '2.x', false],
    ['2.3.9', '2.3.x', true],
    ['2.4.0', '2.3.x', false],
    ['2.3.1', '2.3.1', true],
    ['2.3.2', '2.3.1', false],
    ['2.3.1-rc.1', '2.3.1', true],
  ])('%s under %s: %s', (version, max, covered) => {
    expect(versionCovered(version, max)).toBe(covered);
  });

  test('no maxVersion covers every version', () => {
    expect(versionCovered('99.0.0', null)).toBe(true);
  });

  test('only full semver versions are asked about', () => {
    expect(isProductVersion('2.3.1')).toBe(true);
    for (const v of ['2', '2.3', '2.x', 'banana', '']) expect(isProductVersion(v)).toBe(false);
  });
});
