// Jest runs the TypeScript sources as native ESM (agenda v6 is ESM-only), transformed
// by swc; `tsc --noEmit` does the type-checking separately (see ../shared/STACK.md).
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  globalSetup: '<rootDir>/test/support/global-setup.js',
  // Two cores: two workers keep PGlite instances and the real PostgreSQL from thrashing.
  maxWorkers: 2,
  testTimeout: 60_000,
};
