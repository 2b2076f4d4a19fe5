// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

/** Workflow code must replay identically for years: no I/O, no Node built-ins, no clock or network. */
const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);
const nonDeterministicModules = [
  'node:*',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/envconfig',
  '@prisma/*',
  'pg',
  'express',
  'nodemailer',
  'pino',
  '**/generated/**',
  '**/lib/*',
  '**/api/*',
  '**/worker/*',
];

/**
 * Imports deterministic code may use. Only `workflows/pilot/blocking.ts` may block with
 * `condition`: every other wait goes through its `blockUntil`, which lets waiting Updates answer.
 */
function deterministicImports({ blocking }) {
  return [
    'error',
    {
      paths: [
        ...nodeBuiltins.map((name) => ({ name, message: 'Node built-ins are not available in workflow code' })),
        ...(blocking
          ? []
          : [
              {
                name: '@temporalio/workflow',
                importNames: ['condition'],
                message: 'block through blockUntil (workflows/pilot/blocking.ts) so waiting Updates can answer',
              },
            ]),
      ],
      patterns: [
        {
          group: nonDeterministicModules,
          message: 'workflow and domain code must stay deterministic (no I/O, clock or network)',
        },
        {
          group: ['**/activities', '**/activities/*'],
          allowTypeImports: true,
          message: 'workflows reach activities only through proxyActivities',
        },
      ],
    },
  ];
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'generated/', '.data/', 'test-artifacts/', 'coverage/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': deterministicImports({ blocking: false }),
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'no process state in deterministic code' },
        { name: 'fetch', message: 'no network in workflow code: use an activity' },
        { name: 'require', message: 'import deterministic modules instead' },
        { name: 'Buffer', message: 'Node built-ins are not available in workflow code' },
        { name: 'setImmediate', message: 'use workflow timers' },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Math.random is seeded in workflows but banned in domain code; use workflow uuid4()',
        },
      ],
    },
  },
  {
    // The e-mail intake has no lifecycle to settle: it waits for its next poll or a request to poll.
    files: ['workflows/pilot/blocking.ts', 'workflows/intake/intake.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': deterministicImports({ blocking: true }) },
  },
  {
    // The API reaches workflows only through their messages, never their implementation.
    files: ['api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '/workflows(/(?!(pilot|intake)/messages$).*)?$',
              message: 'the API imports workflows/pilot/messages, workflows/intake/messages (and domain/) only',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
