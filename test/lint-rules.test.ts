/**
 * The import rules of eslint.config.js, run through ESLint's own API on small sources that
 * exist only in memory (at paths inside the project, so the project's configuration applies):
 * each rule fires on the import it forbids and stays quiet on the ones the layering allows.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';

let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: process.cwd() });
});

/** The messages of the layering rules for `source` as if it were the file at `filePath`. */
async function refusals(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  return result.messages
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-properties')
    .map((m) => m.message);
}

describe('lint: the protocol core stays framework-free', () => {
  it.each([
    ['NestJS', "import { Injectable } from '@nestjs/common';"],
    ['Prisma', "import { PrismaClient } from '@prisma/client';"],
    ['pg', "import pg from 'pg';"],
    ['the generated Prisma client', "import type { Account } from '../generated/prisma/client.js';"],
    ['a server module', "import { DirectoryService } from '../directory/directory.service.js';"],
    ['the server configuration', "import { loadConfig } from '../config/config.js';"],
    ['a layer above it', "import { NodeClient } from '../sdk/client.js';"],
  ])('refuses %s in src/protocol', async (_, source) => {
    const messages = await refusals('src/protocol/probe.ts', `${source}\nexport {};\n`);
    expect(messages).toEqual([expect.stringMatching(/ src\/protocol is the framework-free core/)]);
  });

  it('allows what the core is made of', async () => {
    const source =
      "import { z } from 'zod';\nimport { sha256 } from '@noble/hashes/sha2.js';\nimport { utf8 } from './encoding.js';\n";
    expect(await refusals('src/protocol/probe.ts', source)).toEqual([]);
  });
});

describe('lint: the protocol core and the SDK also run in a browser', () => {
  /** The browser rules' messages: the import rules and the ban on Buffer. */
  async function browserRefusals(filePath: string, source: string): Promise<string[]> {
    const [result] = await eslint.lintText(source, { filePath });
    return result.messages
      .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-globals')
      .map((m) => m.message);
  }

  it.each([
    ['src/protocol/probe.ts', 'protocol'],
    ['src/protocol/transparency/probe.ts', 'protocol'],
    ['src/sdk/probe.ts', 'sdk'],
    ['src/net/capped-body.ts', 'net'],
  ])('refuses a static node: import and Buffer in %s', async (filePath, folder) => {
    const nodeImport = "import { createHash } from 'node:crypto';\nexport const h = createHash;\n";
    expect(await browserRefusals(filePath, nodeImport)).toEqual([
      expect.stringMatching(new RegExp(`src/${folder} also runs in a browser .*no static node:\\* import`)),
    ]);
    const buffer = "export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');\n";
    expect(await browserRefusals(filePath, buffer)).toEqual([
      expect.stringMatching(/this code also runs in a browser/),
    ]);
  });

  it('allows a Node-only fast path imported at run time, and Node-only SDK files', async () => {
    const dynamic = "export const nodeCrypto = await import('node:crypto').catch(() => undefined);\n";
    expect(await browserRefusals('src/protocol/probe.ts', dynamic)).toEqual([]);
    const nodeOnly = "import { readFile } from 'node:fs/promises';\nexport const r = readFile;\n";
    expect(await browserRefusals('src/sdk/keystore.ts', nodeOnly)).toEqual([]);
    expect(await browserRefusals('src/sdk/resolve.ts', nodeOnly)).toEqual([]);
  });

  it.each([
    ['NestJS', "import { Injectable } from '@nestjs/common';", / src\/protocol is the framework-free core/],
    ['a server module', "import { Clock } from '../../common/clock.js';", /must not import the server/],
  ])('keeps the layer rules in src/protocol/transparency: refuses %s', async (_, source, message) => {
    expect(await refusals('src/protocol/transparency/probe.ts', `${source}\nexport {};\n`)).toEqual([
      expect.stringMatching(message),
    ]);
  });
});

describe('lint: the web app runs in a browser', () => {
  it.each([
    [
      'the server',
      "import { WebService } from '../web.service.js';",
      /may import only its own files, src\/protocol and src\/sdk/,
    ],
    ['src/net', "import { safeFetch } from '../../net/safe-fetch.js';", /may import only its own files/],
    ['the CLI', "import { runCli } from '../../cli/program.js';", /may import only its own files/],
    ['NestJS', "import { Injectable } from '@nestjs/common';", /must not depend on NestJS/],
    ['a node: module', "import { readFile } from 'node:fs/promises';", /no node:\* module/],
  ])('refuses %s in src/web/app', async (_, source, message) => {
    expect(await refusals('src/web/app/probe.ts', `${source}\nexport {};\n`)).toEqual([expect.stringMatching(message)]);
  });

  it('allows the protocol core, the SDK and its own files; refuses Buffer', async () => {
    const source =
      "import { parseAddress } from '../../protocol/address.js';\nimport { NodeClient } from '../../sdk/client.js';\nimport { h } from './dom.js';\nexport { parseAddress, NodeClient, h };\n";
    expect(await refusals('src/web/app/probe.ts', source)).toEqual([]);
    const [result] = await eslint.lintText('export const b = Buffer.from([]);\n', { filePath: 'src/web/app/probe.ts' });
    expect(result.messages.map((m) => m.ruleId)).toEqual(['no-restricted-globals']);
  });
});

describe('lint: the keystore format also runs in a browser', () => {
  it.each([
    ['a node: module', "import { readFile } from 'node:fs/promises';", /a browser stores the same document/],
    ['the keystore file', "import { saveKeystore } from './keystore.js';", /a browser stores the same document/],
    ['the CLI', "import { runCli } from '../cli/program.js';", /only the layers under it/],
  ])('refuses %s in src/sdk/keystore-format.ts', async (_, source, message) => {
    expect(await refusals('src/sdk/keystore-format.ts', `${source}\nexport {};\n`)).toEqual([
      expect.stringMatching(message),
    ]);
  });

  it('refuses Buffer in src/sdk/keystore-format.ts', async () => {
    const [result] = await eslint.lintText('export const b = Buffer.from([]);\n', {
      filePath: 'src/sdk/keystore-format.ts',
    });
    expect(result.messages.map((m) => m.ruleId)).toContain('no-restricted-globals');
  });
});

describe('lint: only repositories and src/database talk to the database', () => {
  it.each([
    ['Prisma', "import { Prisma } from '@prisma/client';"],
    ['pg', "import pg from 'pg';"],
    ['the Prisma service', "import { PrismaService } from '../database/prisma.service.js';"],
    ['the pg pool', "import { PG_POOL } from '../database/pg-pool.js';"],
    ['a Prisma row type', "import type { Account } from '../generated/prisma/client.js';"],
  ])('refuses %s in a controller and in a service', async (_, source) => {
    for (const file of ['src/directory/probe.controller.ts', 'src/directory/probe.service.ts']) {
      const messages = await refusals(file, `${source}\nexport {};\n`);
      expect({ file, messages }).toEqual({ file, messages: [expect.stringMatching(/ Only \*\.repository\.ts files/)] });
    }
  });

  it('allows them in a repository, in src/database and in tests', async () => {
    const source =
      "import pg from 'pg';\nimport { PrismaService } from '../database/prisma.service.js';\nexport { pg, PrismaService };\n";
    for (const file of [
      'src/directory/probe.repository.ts',
      'src/database/probe.ts',
      'src/directory/probe.spec.ts',
      'test/probe.test.ts',
    ]) {
      expect({ file, messages: await refusals(file, source) }).toEqual({ file, messages: [] });
    }
  });
});

describe('lint: the CLI runs without the server', () => {
  it.each([
    ['src/cli/commands/probe.ts', "import { parseDevFlag } from '../../config/config.js';"],
    ['src/cli/probe.ts', "import { loadConfig } from '../config/config.js';"],
    ['src/cli/commands/probe.ts', "import { openDatabase } from '../../database/database-connection.js';"],
    ['src/cli/probe.ts', "import { createNode } from '../app.setup.js';"],
    ['src/sdk/probe.ts', "import { APP_CONFIG } from '../config/config.js';"],
    ['src/net/probe.ts', "import { Clock } from '../common/clock.js';"],
  ])('refuses a server import in %s', async (file, source) => {
    const messages = await refusals(file, `${source}\nexport {};\n`);
    expect(messages).toEqual([expect.stringMatching(/must not import the server .*src\/net\/settings\.ts/)]);
  });

  it('refuses NestJS in the CLI, and the CLI in the SDK', async () => {
    expect(await refusals('src/cli/probe.ts', "import { Injectable } from '@nestjs/common';\nexport {};\n")).toEqual([
      expect.stringMatching(/ src\/cli .*must not depend on NestJS/),
    ]);
    expect(await refusals('src/sdk/probe.ts', "import { runCli } from '../cli/program.js';\nexport {};\n")).toEqual([
      expect.stringMatching(/only the layers under it/),
    ]);
  });

  it('allows the shared settings, the SDK and the CLI’s own modules', async () => {
    const source =
      "import { parseDevFlag } from '../../net/settings.js';\nimport { NodeClient } from '../../sdk/client.js';\n" +
      "import type { CommandIo } from '../command-io.js';\nimport { NODE_VERSION } from '../../version.js';\n";
    expect(await refusals('src/cli/commands/probe.ts', source)).toEqual([]);
  });

  it('lets only a program’s entry point read process.env', async () => {
    const source = 'export const dev = process.env.KEYPEARS_DEV;\n';
    expect(await refusals('src/cli/commands/probe.ts', source)).toEqual([expect.stringMatching(/entry point/)]);
    expect(await refusals('src/cli/main.ts', source)).toEqual([]);
  });
});
