// @ts-check
// Lint = code hygiene + the dependency rules of GUIDE.md ("dependencies point one way").
// A wrong import across a deployable boundary fails `npm test` here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** @param {string[]} folders @param {string} why */
const forbid = (folders, why) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        {
          group: folders.flatMap((f) => [`**/${f}`, `**/${f}/**`]),
          message: why,
        },
      ],
    },
  ],
});

export default tseslint.config(
  { ignores: ['node_modules/**', '.annals/**', 'schemas/events/json/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', Buffer: 'readonly', fetch: 'readonly', setImmediate: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-throw-literal': 'error',
    },
  },
  {
    files: ['schemas/**'],
    rules: forbid(['platform', 'write-side', 'projections', 'query-api', 'scripts', 'bench'], 'schemas/ is the published contract and depends on zod only.'),
  },
  {
    files: ['schemas/events/**'],
    rules: forbid(['platform', 'write-side', 'projections', 'query-api', 'scripts', 'bench', 'read-models'], 'schemas/events depends on zod only.'),
  },
  {
    files: ['platform/**'],
    rules: forbid(['write-side', 'projections', 'query-api', 'scripts', 'bench', 'read-models'], 'platform/ imports only schemas/events.'),
  },
  {
    files: ['write-side/**'],
    rules: forbid(['projections', 'query-api', 'scripts', 'bench', 'read-models'], 'write-side never imports projections, query-api or read-model schemas.'),
  },
  {
    files: ['projections/**'],
    rules: forbid(['write-side', 'query-api', 'scripts', 'bench'], 'projections never import write-side or query-api.'),
  },
  {
    files: ['query-api/**'],
    rules: forbid(['write-side', 'projections', 'scripts', 'bench'], 'query-api never imports write-side or projections.'),
  },
  {
    files: ['scripts/replay/**'],
    rules: forbid(['write-side', 'query-api'], 'scripts/replay reuses projections/ and platform/ only.'),
  },
);
