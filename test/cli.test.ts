/**
 * The `keypears` CLI in-process (runCli with argv, environment and captured streams) against
 * a real node: init, register, publish and resolve with --json, the keystore's permissions,
 * and clear failures.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runKeypears, withPassphrase, type CliRun } from './support/cli.js';
import { startTestNode, type TestNode } from './support/test-node.js';

let t: TestNode;
let root: string;

beforeAll(async () => {
  t = await startTestNode({ KEYPEARS_DOMAINS: 'localhost' });
  root = await mkdtemp(path.join(os.tmpdir(), 'kp-cli-'));
});

afterAll(async () => {
  await t?.destroy();
  await rm(root, { recursive: true, force: true });
});

/** The environment of a developer running nodes on this machine. */
const devEnv = () => ({ KEYPEARS_DEV: '1', KEYPEARS_DEV_WELL_KNOWN_PORT: String(t.config.port) });

const cli = (argv: string[], env: Record<string, string> = devEnv()): Promise<CliRun> =>
  runKeypears(argv, withPassphrase({ HOME: root, ...env }));

describe('keypears init, register, publish, resolve', () => {
  let home: string;
  let aliceFingerprint: unknown;

  beforeAll(() => {
    home = path.join(root, 'alice');
  });

  it('init creates identity keys in an owner-only keystore', async () => {
    const run = await cli(['--home', home, '--json', 'init', 'Alice@Localhost', '--node', t.config.publicUrl]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ address: 'alice@localhost', node: t.config.publicUrl });
    expect(run.json.fingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){7}$/);
    aliceFingerprint = run.json.fingerprint;
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(home, 'keystore.json'))).mode & 0o777).toBe(0o600);
  });

  it('init refuses to overwrite an existing identity', async () => {
    const run = await cli(['--home', home, 'init', 'alice@localhost', '--node', t.config.publicUrl]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/already holds an identity/);
  });

  it('register publishes the identity and the first prekeys', async () => {
    const run = await cli(['--home', home, '--json', 'register']);
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({
      address: 'alice@localhost',
      node: t.config.publicUrl,
      oneTimePrekeys: 100,
      pqOneTimePrekeys: 100,
    });
    expect(run.json.fingerprint).toBe(aliceFingerprint);
  });

  it('register again is harmless: the node already knows this key', async () => {
    const run = await cli(['--home', home, '--json', 'register']);
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({ address: 'alice@localhost', oneTimePrekeys: 100 });
  });

  it('publish tops one-time prekeys up to --prekeys', async () => {
    const run = await cli(['--home', home, '--json', 'publish', '--prekeys', '150']);
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({
      oneTimePrekeys: 150,
      pqOneTimePrekeys: 150,
      uploaded: { oneTimePrekeys: 50, pqOneTimePrekeys: 50 },
      signedPrekeyRotated: false,
    });
    const again = await cli(['--home', home, '--json', 'publish', '--prekeys', '150']);
    expect(again.json).toMatchObject({ oneTimePrekeys: 150, uploaded: { oneTimePrekeys: 0, pqOneTimePrekeys: 0 } });
  });

  it('resolve shows the published identity from another home', async () => {
    const run = await cli(['--home', path.join(root, 'someone'), '--json', 'resolve', 'alice@localhost']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({
      address: 'alice@localhost',
      node: t.config.publicUrl,
      fingerprint: aliceFingerprint,
    });
  });

  it('init finds the node by discovery when --node is not given', async () => {
    const run = await cli(['--home', path.join(root, 'bob'), '--json', 'init', 'bob@localhost']);
    expect(run.stderr).toBe('');
    expect(run.json).toMatchObject({ address: 'bob@localhost', node: t.config.publicUrl });
    expect((await cli(['--home', path.join(root, 'bob'), '--json', 'register'])).code).toBe(0);
  });

  it('uses $KEYPEARS_HOME when --home is not given', async () => {
    const env = { ...devEnv(), KEYPEARS_HOME: path.join(root, 'carol') };
    const run = await cli(['--json', 'init', 'carol@localhost', '--node', t.config.publicUrl], env);
    expect(run.code).toBe(0);
    expect((await stat(path.join(root, 'carol', 'keystore.json'))).isFile()).toBe(true);
  });
});

describe('failures and help', () => {
  it('refuses a plain-HTTP node without KEYPEARS_DEV=1', async () => {
    const run = await cli(
      ['--home', path.join(root, 'dan'), '--json', 'init', 'dan@localhost', '--node', t.config.publicUrl],
      {},
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/KEYPEARS_DEV/);
    expect(run.json).toMatchObject({ error: { code: 'insecure_node_url' } });
  });

  it('explains a command run before init', async () => {
    const run = await cli(['--home', path.join(root, 'nobody'), 'publish']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/keypears init/);
  });

  it('reports the node’s error for a taken address', async () => {
    const home = path.join(root, 'impostor');
    expect((await cli(['--home', home, 'init', 'alice@localhost', '--node', t.config.publicUrl])).code).toBe(0);
    const run = await cli(['--home', home, '--json', 'register']);
    expect(run.code).not.toBe(0);
    // A refusal by the node carries its HTTP status in details (docs/cli.md).
    expect(run.json).toEqual({
      error: { code: 'address_taken', message: expect.any(String), details: { status: 409 } },
    });
    expect(run.stderr).toMatch(/already registered/);
  });

  it('prints no details for an error that has none', async () => {
    const run = await cli(['--home', path.join(root, 'nobody'), '--json', 'publish']);
    expect(run.code).toBe(1);
    expect(run.json).toEqual({ error: { code: 'no_keystore', message: expect.any(String) } });
  });

  it('refuses a bad --prekeys value', async () => {
    const run = await cli(['--home', path.join(root, 'alice'), 'publish', '--prekeys', '5000']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/1 to 1000/);
  });

  it('has --help on every command', async () => {
    const commands = [[], ['init'], ['register'], ['publish'], ['resolve'], ['whoami'], ['passphrase'], ['settings']];
    const more = [['exchange', 'list'], ['exchange', 'forget'], ['contacts'], ['contacts', 'accept'], ['verify']];
    for (const argv of [...commands, ...more, ['block'], ['unblock'], ['blocks']]) {
      const run = await cli([...argv, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Usage: keypears/);
    }
  });
});
