// Lint: typescript-eslint's recommended rules on the TypeScript sources; Prettier owns formatting.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'src/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Config is read once in src/config/config.ts; nowhere else may touch the environment.
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'read configuration through src/config/config.ts' },
      ],
    },
  },
  {
    files: [
      'src/config/config.ts',
      'src/main.ts',
      'src/cli/**',
      'src/admin/**',
      'src/database/migrate-cli.ts',
      'test/**',
      'bench/**',
      'scripts/**',
      '*.config.*',
      'prisma.config.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // The conformance suite tests a node from the outside: it may use the protocol core, the
    // SDK, the outbound network helpers and the loopback nameserver, never the node's own code.
    files: ['src/conformance/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!protocol/|sdk/|net/|dev/loopback-nameserver\\.js$)',
              message:
                'the conformance suite may import only src/protocol, src/sdk, src/net and the loopback nameserver',
            },
            {
              regex: '^(@nestjs|@prisma|@electric-sql|pg$|fastify)',
              message: 'the conformance suite uses no server framework',
            },
          ],
        },
      ],
      'no-restricted-properties': 'off',
    },
  },
  {
    // The suite's cases, one folder down: the same rule, counted from there.
    files: ['src/conformance/cases/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./\\.\\./(?!protocol/|sdk/|net/|dev/loopback-nameserver\\.js$)',
              message:
                'the conformance suite may import only src/protocol, src/sdk, src/net and the loopback nameserver',
            },
            {
              regex: '^(@nestjs|@prisma|@electric-sql|pg$|fastify)',
              message: 'the conformance suite uses no server framework',
            },
          ],
        },
      ],
    },
  },
  {
    // The transparency core is shared with clients that may run in a browser (docs/transparency.md).
    files: ['src/protocol/transparency/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', '@nestjs/*', '@prisma/*', 'pg', 'fastify'],
              message: 'keep the transparency core framework-free',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'Buffer', message: 'use Uint8Array (the core also runs in a browser)' },
      ],
    },
  },
  {
    // Attack tests build deliberately ill-typed inputs.
    files: ['**/*.spec.ts', 'test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
