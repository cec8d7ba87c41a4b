/**
 * Running the `keypears` CLI in tests: in-process (runCli with argv, an environment and
 * captured streams), or one command function with a CommandIo. Keystores made here are
 * sealed with a cheap scrypt cost (the format records it; reading takes whatever the file
 * says) so that a test's many commands do not each spend half a second deriving a key.
 */
import { expect } from '@jest/globals';
import type { CommandIo, Prompt } from '../../src/cli/command-io.js';
import { runCli } from '../../src/cli/program.js';
import { NodeClient } from '../../src/sdk/client.js';
import { buildRegistration, createKeystore } from '../../src/sdk/identity.js';
import {
  newKeystoreKey,
  saveKeystore,
  type Keystore,
  type KeystoreKey,
  type ScryptParams,
} from '../../src/sdk/keystore.js';
import type { TestNode } from './test-node.js';
import { nowSeconds, topUp } from './test-users.js';
import { CHEAP_SCRYPT } from './sample-keystore.js';

export const TEST_SCRYPT: ScryptParams = CHEAP_SCRYPT;
export const TEST_PASSPHRASE = 'correct horse battery staple';

/** A key for sealing test keystores under TEST_PASSPHRASE. */
export const testKeystoreKey = (): Promise<KeystoreKey> => newKeystoreKey(TEST_PASSPHRASE, { params: TEST_SCRYPT });

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The one JSON object printed with --json (else `{}`). */
  json: Record<string, unknown>;
}

/**
 * Runs `keypears argv` in-process. `env` is the whole environment (add KEYPEARS_PASSPHRASE
 * yourself, or use `withPassphrase`); `prompt` plays the terminal.
 */
export async function runKeypears(
  argv: string[],
  env: Record<string, string>,
  opts: { prompt?: Prompt } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    scrypt: TEST_SCRYPT,
    ...(opts.prompt ? { prompt: opts.prompt } : {}),
  });
  let json: Record<string, unknown> = {};
  if (argv.includes('--json') && !argv.includes('--help')) {
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    json = JSON.parse(lines[0]) as Record<string, unknown>;
  }
  return { code, stdout, stderr, json };
}

/** `env` with KEYPEARS_PASSPHRASE set to TEST_PASSPHRASE. */
export const withPassphrase = (env: Record<string, string>): Record<string, string> => ({
  KEYPEARS_PASSPHRASE: TEST_PASSPHRASE,
  ...env,
});

/** A CommandIo for calling one command function directly (--json, no progress, warnings dropped). */
export function commandIo(home: string, env: Record<string, string>): CommandIo {
  return {
    home,
    json: true,
    env: withPassphrase(env),
    progress: () => undefined,
    warn: () => undefined,
    scrypt: TEST_SCRYPT,
  };
}

/**
 * Registers `address` on `t` with `prekeys` one-time prekeys of each kind, as `keypears init`,
 * `register` and `publish` leave it, and, given `dir`, saves its keystore there (sealed under
 * TEST_PASSPHRASE).
 */
export async function registerTestHome(t: TestNode, address: string, dir?: string, prekeys = 3): Promise<Keystore> {
  const ks = createKeystore(address, t.config.publicUrl, nowSeconds());
  const client = new NodeClient({
    baseUrl: ks.node,
    allowInsecureHttp: true,
    signer: { address: ks.address, secretKey: ks.identitySecretKey },
  });
  const key = dir === undefined ? undefined : await testKeystoreKey();
  if (dir !== undefined) await saveKeystore(dir, ks, key!);
  await client.register(buildRegistration(ks, nowSeconds()));
  ks.registeredAt = nowSeconds();
  await topUp({ ks, client }, prekeys);
  if (dir !== undefined) await saveKeystore(dir, ks, key!);
  return ks;
}
