// Lint: typescript-eslint's recommended rules on the TypeScript sources, the import rules that
// keep the layering of README's "Project layout", and the one place per program that reads the
// environment. Prettier owns formatting. test/lint-rules.test.ts shows each import rule firing.
import js from '@eslint/js';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), 'src');

const hasModule = (dir) =>
  readdirSync(dir, { withFileTypes: true }).some((e) =>
    e.isDirectory() ? hasModule(path.join(dir, e.name)) : e.name.endsWith('.module.ts'),
  );

/**
 * The server's folders: every folder of src/ that holds a NestJS module (config, database,
 * common, each feature module, admin), found on disk so that a new or renamed module is
 * covered without editing this file, and the generated Prisma client.
 */
export const SERVER_FOLDERS = [
  ...readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'generated' && hasModule(path.join(SRC, e.name)))
    .map((e) => e.name),
  'generated',
].sort();

/** A relative import that climbs into one of `folders` (or, with `files`, names one of src/'s own files). */
const into = (folders, files = []) =>
  `^(\\.\\./)+(${[...folders.map((f) => `${f}/`), ...files.map((f) => `${f}\\.js$`)].join('|')})`;

/** Packages by exact name (`paths`) and scopes (`patterns`: a bare name there would also match a path segment). */
const DATABASE = { names: ['pg', 'prisma'], scopes: ['@prisma/*', '@electric-sql/*'] };
const FRAMEWORK = { names: ['fastify'], scopes: ['@nestjs/*', '@fastify/*'] };

const packages = ({ names, scopes }, message) => ({
  paths: names.map((name) => ({ name, message })),
  patterns: [{ group: scopes, message }],
});

/** Prisma and pg: what only repositories and src/database may import. */
const databaseImports = () => {
  const { paths, patterns } = packages(
    DATABASE,
    'Only *.repository.ts files and src/database/ talk to the database (Prisma, pg): add a repository method and call it.',
  );
  patterns.push({
    regex: `${into(['generated'])}|(^|/)database/(prisma\\.service|pg-pool)\\.js$`,
    message:
      'Only *.repository.ts files and src/database/ use the Prisma client, its row types or the pg pools: add a repository method that returns a domain type.',
  });
  return { paths, patterns };
};

/**
 * The layers below the server, each with what it must not import. They run without a server
 * (the SDK and the CLI on a user's machine), so none of them may import NestJS, Prisma, pg or
 * any server folder; each may use only the layers under it.
 */
const LAYERS = [
  {
    folder: 'protocol',
    role: 'the framework-free core shared by the node, the SDK and the CLI',
    above: ['net', 'sdk', 'cli'],
  },
  { folder: 'net', role: 'outbound networking shared by the node and the CLI', above: ['sdk', 'cli'] },
  { folder: 'sdk', role: 'the client library', above: ['cli'] },
  { folder: 'cli', role: 'the `keypears` command, thin over the SDK', above: [] },
];

const layerImports = ({ folder, role, above }) => {
  const { paths, patterns } = packages(
    { names: [...FRAMEWORK.names, ...DATABASE.names], scopes: [...FRAMEWORK.scopes, ...DATABASE.scopes] },
    `src/${folder} is ${role}: it must not depend on NestJS, Fastify, Prisma or pg.`,
  );
  patterns.push({
    regex: into(SERVER_FOLDERS, ['app\\.module', 'app\\.setup', 'main']),
    message:
      `src/${folder} is ${role}: it must not import the server (src/config, src/database, src/common or a module folder). ` +
      'Settings the CLI reads too live in src/net/settings.ts.',
  });
  if (above.length) {
    patterns.push({
      regex: into(above),
      message: `src/${folder} is ${role}: it may import only the layers under it (protocol, then net, then sdk, then cli).`,
    });
  }
  return { paths, patterns };
};

/**
 * The code the web app runs in a browser: the protocol core, the SDK but for its Node-only files,
 * and the one helper of src/net the SDK's client uses. Besides its layer's rules, none of it may
 * import a node:* module statically or use Buffer; a Node-only fast path is imported at run
 * time and optional (src/protocol/crypto.ts). The bundler refuses the same (scripts/build-web.js).
 */
const BROWSER_PATHS = [
  { layer: LAYERS[0], files: ['src/protocol/**/*.ts'] },
  { layer: LAYERS[1], files: ['src/net/capped-body.ts'] },
  { layer: LAYERS[2], files: ['src/sdk/**/*.ts'] },
];
/** SDK files that only a program on Node uses: the keystore file, discovery by DNS. */
const NODE_ONLY_SDK = ['src/sdk/keystore.ts', 'src/sdk/resolve.ts'];

/**
 * The web app (src/web/app), bundled for browsers by scripts/build-web.js: it may import the
 * protocol core, the SDK, its own files and browser-safe packages, and nothing of the server.
 */
const webAppImports = () => {
  const { paths, patterns } = packages(
    { names: [...FRAMEWORK.names, ...DATABASE.names], scopes: [...FRAMEWORK.scopes, ...DATABASE.scopes] },
    'src/web/app runs in a browser: it must not depend on NestJS, Fastify, Prisma or pg.',
  );
  patterns.push(
    {
      regex: '^\\.\\./(?!\\.\\./(protocol|sdk)/)',
      message: 'src/web/app runs in a browser: it may import only its own files, src/protocol and src/sdk',
    },
    { group: ['node:*'], message: 'src/web/app runs in a browser: no node:* module' },
  );
  return { paths, patterns };
};

const browserImports = (layer) => {
  const { paths, patterns } = layerImports(layer);
  patterns.push({
    group: ['node:*'],
    message: `src/${layer.folder} also runs in a browser (the web app): no static node:* import; load a Node-only fast path at run time, as src/protocol/crypto.ts does`,
  });
  return { paths, patterns };
};

/** The SDK's rules, and no node:* module: the keystore format is also written by a browser client. */
const keystoreFormatImports = () => {
  const { paths, patterns } = layerImports(LAYERS[2]);
  patterns.push({
    group: ['node:*', './keystore.js'],
    message: 'keep the keystore format free of files and node:*: a browser stores the same document',
  });
  return { paths, patterns };
};

const restrict = (options) => ['error', options];

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'src/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Each program reads the environment once, where it starts, and passes it on: the node's
      // configuration is src/config/config.ts, the settings the CLI shares src/net/settings.ts.
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'only a program’s entry point reads process.env; take the Env record or the AppConfig it built',
        },
      ],
    },
  },
  {
    files: [
      'src/main.ts',
      'src/cli/main.ts',
      'src/admin/admin-cli.ts',
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
    files: ['src/**/*.ts'],
    ignores: ['src/database/**', 'src/**/*.repository.ts', 'src/**/*.spec.ts'],
    rules: { 'no-restricted-imports': restrict(databaseImports()) },
  },

  ...LAYERS.map((layer) => ({
    files: [`src/${layer.folder}/**/*.ts`],
    rules: { 'no-restricted-imports': restrict(layerImports(layer)) },
  })),
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
  // The protocol core and the SDK run in the web app too (docs/web.md): their layer's rules, and
  // no node:* module or Buffer either.
  ...BROWSER_PATHS.map(({ layer, files }) => ({
    files,
    ignores: ['**/*.spec.ts', ...NODE_ONLY_SDK],
    rules: {
      'no-restricted-imports': restrict(browserImports(layer)),
      'no-restricted-globals': [
        'error',
        { name: 'Buffer', message: 'use Uint8Array and src/protocol/encoding.ts (this code also runs in a browser)' },
      ],
    },
  })),
  {
    // The keystore format without its file (docs/keystore.md): a browser client stores the same
    // document, so no node:* module and no Buffer; the file and the prompt are elsewhere.
    files: ['src/sdk/keystore-format.ts'],
    rules: {
      'no-restricted-imports': restrict(keystoreFormatImports()),
      'no-restricted-globals': [
        'error',
        { name: 'Buffer', message: 'use Uint8Array (a browser stores this format too)' },
      ],
    },
  },
  {
    files: ['src/web/app/**/*.ts'],
    languageOptions: { globals: globals.browser },
    rules: {
      'no-restricted-imports': restrict(webAppImports()),
      'no-restricted-globals': ['error', { name: 'Buffer', message: 'use Uint8Array: the web app runs in a browser' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'the web app runs in a browser: there is no environment' },
      ],
    },
  },
  {
    // Attack tests build deliberately ill-typed inputs.
    files: ['**/*.spec.ts', 'test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
