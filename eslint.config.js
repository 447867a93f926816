// Lint rules, and the layering of the code base enforced as rules (see README, "Layers").
// A file's folder says where it runs; these zones make a wrong import a lint error.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nodeBuiltins = [
  'node:*',
  'fs',
  'path',
  'os',
  'child_process',
  'crypto',
  'http',
  'https',
  'net',
  'url',
  'stream',
  'events',
  'util',
  'worker_threads',
];

/** Product code never reaches into the tests: a helper both need lives in main/ and the tests import it. */
const noTestCode = {
  group: ['**/test/**'],
  message:
    'main/ and renderer/ never import test/**: move what both need into main/, or the test-only part into test/.',
};

/** Each zone lists what its files must not import. */
export const layerZones = [
  {
    name: 'common',
    files: ['main/common/**/*.{ts,tsx}'],
    forbidden: [
      { group: nodeBuiltins, message: 'main/common runs everywhere: no Node built-ins. Move this to main/core.' },
      { group: ['electron', 'electron/*'], message: 'main/common must not import electron.' },
      {
        group: ['**/core/**', '**/electron/**', '**/preload/**', '**/renderer/**'],
        message: 'main/common imports nothing from other layers.',
      },
      noTestCode,
    ],
  },
  {
    name: 'core',
    files: ['main/core/**/*.{ts,tsx}', 'main/serve.ts', 'main/cli/**/*.ts'],
    forbidden: [
      {
        group: ['electron', 'electron/*'],
        message: 'main/core runs without Electron (agent-room serve): no electron import. Put it in main/electron.',
      },
      {
        group: ['**/electron/**', '**/preload/**', '**/renderer/**'],
        message: 'main/core must not import electron, preload or renderer code.',
      },
      noTestCode,
    ],
  },
  {
    name: 'electron',
    files: ['main/electron/**/*.{ts,tsx}'],
    forbidden: [noTestCode],
  },
  {
    name: 'preload',
    files: ['main/preload/**/*.{ts,tsx}'],
    forbidden: [
      {
        group: ['**/core/**', '**/renderer/**', '**/electron/**'],
        message: 'The preload only bridges the contract in main/common.',
      },
      noTestCode,
    ],
  },
  {
    name: 'renderer',
    files: ['renderer/**/*.{ts,tsx}'],
    forbidden: [
      { group: ['electron', 'electron/*'], message: 'The renderer is sandboxed: no electron. Use the transport.' },
      { group: nodeBuiltins, message: 'The renderer runs in a browser: no Node built-ins.' },
      {
        group: ['**/main/core/**', '**/main/electron/**', '**/main/preload/**', '**/main/serve*'],
        message: 'The renderer imports only main/common from main.',
      },
      noTestCode,
    ],
  },
];

const electronOnlyHere = {
  files: ['**/*.{ts,tsx,js}'],
  ignores: [
    'main/electron/**',
    'main/preload/**',
    'test/support/electron-mock.ts',
    'test/support/placeholder-core.ts',
    'test/unit/electron-*.test.ts',
    'test/unit/tray-*.test.ts',
  ],
  rules: {},
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'out/**',
      'release/**',
      'resources/bin/**',
      'test/fixtures/**',
      'coverage/**',
      'test-results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  { files: ['renderer/**/*.{ts,tsx}'], languageOptions: { globals: { ...globals.browser } } },
  // Small enough to read: a file at most 350 lines (aim for 300), a function at most 80 lines of code.
  {
    files: ['main/**/*.{ts,tsx}', 'renderer/**/*.{ts,tsx}'],
    rules: {
      'max-lines': ['error', { max: 350 }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  // electron may be imported only in main/electron and main/preload (and the shared test mock).
  {
    ...electronOnlyHere,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['electron', 'electron/*'],
              message: 'electron is imported only in main/electron and main/preload.',
            },
          ],
        },
      ],
    },
  },
  ...layerZones
    .filter((z) => z.forbidden.length > 0)
    .map((z) => ({
      files: z.files,
      rules: {
        'no-restricted-imports': [
          'error',
          { patterns: z.forbidden.map((f) => ({ group: f.group, message: f.message })) },
        ],
      },
    })),
);
