import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Capabilities (src/<name>/) use each other only through their public module, index.ts
// (issue 13); shared, log, config and db are infrastructure any module may use.
const CAPABILITIES = [
  'api',
  'audit',
  'bootstrap',
  'cli',
  'directory',
  'http',
  'jobs',
  'keys',
  'licensing',
  'notifications',
  'oauth',
  'scim',
  'sso',
  'tenancy',
  'web',
];
const throughFacades = {
  regex: `^(\\./|(\\.\\./)+)(${CAPABILITIES.join('|')})/(?!index\\.js$).+`,
  message:
    "import another capability through its index.js, its public surface; what it doesn't export is its own business",
};
// Domain code knows nothing of HTTP: only the doors (api, scim, web), the HTTP plumbing and
// the composition (src/app.ts) speak express.
const noExpress = ['express', 'express-rate-limit', 'helmet', 'supertest'].map((name) => ({
  name,
  message: 'domain code knows nothing of HTTP: put this in src/http, src/api, src/scim or src/web',
}));

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [throughFacades] }] },
  },
  {
    files: [
      'src/{audit,bootstrap,cli,config,db,directory,jobs,keys,licensing,log,oauth,shared,sso,tenancy}/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': ['error', { paths: noExpress, patterns: [throughFacades] }],
    },
  },
  {
    // The CLI and the first-start banner talk to a person on a terminal; tests and
    // benchmarks print their results.
    files: ['src/cli/**', 'src/bootstrap/**', 'bench/**', 'bin/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
);
