/**
 * Two people on one node, through the `keypears` CLI only (in-process): registration, resolving
 * an address of their own domain on their own node (no discovery), an exchange named by id
 * prefixes, contacts pinned at the first completed exchange, verify (digits and QR code,
 * recorded), a changed key stopping resolve, fingerprint and exchange start until accepted,
 * exchange list, block/unblock/blocks.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ed25519Keygen } from '../src/protocol/crypto.js';
import { saveKeystore, unlockKeystore } from '../src/sdk/keystore.js';
import { runKeypears, TEST_PASSPHRASE, withPassphrase } from './support/cli.js';
import { startTestNode, type TestNode } from './support/test-node.js';

let t: TestNode;
let root: string;
let alice: string;
let bob: string;

const env = () => withPassphrase({ HOME: root, KEYPEARS_DEV: '1' });
const kp = (home: string, ...argv: string[]) => runKeypears(['--home', home, '--json', ...argv], env());

beforeAll(async () => {
  t = await startTestNode({ KEYPEARS_DOMAINS: 'localhost', KEYPEARS_DEV: '1' });
  root = await mkdtemp(path.join(os.tmpdir(), 'kp-contacts-'));
  alice = path.join(root, 'alice');
  bob = path.join(root, 'bob');
  for (const [home, address] of [
    [alice, 'alice@localhost'],
    [bob, 'bob@localhost'],
  ]) {
    expect((await kp(home, 'init', address, '--node', t.config.publicUrl)).code).toBe(0);
    expect((await kp(home, 'register')).json).toMatchObject({ address });
  }
}, 60_000);

afterAll(async () => {
  await t?.destroy();
  await rm(root, { recursive: true, force: true });
});

let id: string;

describe('an exchange between two users of one node', () => {
  it('resolves an address of the own domain on the own node, without discovery', async () => {
    const run = await kp(alice, 'resolve', 'bob@localhost');
    expect(run.json).toMatchObject({ address: 'bob@localhost', node: t.config.publicUrl, method: 'own-node' });
  });

  it('completes, with ids named by unique prefixes', async () => {
    const started = await kp(alice, 'exchange', 'start', 'bob@localhost');
    id = started.json.id as string;
    expect((await kp(bob, 'inbox')).json.exchanges).toEqual([expect.objectContaining({ id })]);
    const accepted = await kp(bob, 'exchange', 'accept', `id:${id.slice(0, 6)}`);
    expect(accepted.json).toMatchObject({ id, status: 'confirmed' });
    expect((await kp(alice, 'exchange', 'show', id.slice(0, 8))).json).toMatchObject({ id, status: 'confirmed' });
    const a = await kp(alice, 'exchange', 'secret', id);
    const b = await kp(bob, 'exchange', 'secret', id.slice(0, 5));
    expect(a.json.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(b.json.secret).toBe(a.json.secret);
    const short = await kp(alice, 'exchange', 'secret', id.slice(0, 3));
    expect(short.json).toMatchObject({
      error: { code: 'invalid_argument', message: expect.stringMatching(/at least 4/) },
    });
  });

  it('exchange list shows it, filtered by status', async () => {
    const row = { id, peer: 'bob@localhost', role: 'initiator', status: 'confirmed', forgotten: false };
    expect((await kp(alice, 'exchange', 'list')).json).toEqual({
      exchanges: [expect.objectContaining({ ...row, createdAt: expect.any(Number), usedLastResort: false })],
    });
    expect((await kp(alice, 'exchange', 'list', '--status', 'pending')).json).toEqual({ exchanges: [] });
    expect((await kp(alice, 'exchange', 'list', '--status', 'done')).json).toMatchObject({
      error: { code: 'invalid_argument' },
    });
  });
});

describe('contacts', () => {
  it('pins each peer at the first completed exchange, not verified yet', async () => {
    const whoami = await kp(bob, 'whoami');
    const list = await kp(alice, 'contacts');
    expect(list.json).toEqual({
      contacts: [
        {
          address: 'bob@localhost',
          fingerprint: whoami.json.fingerprint,
          pinnedAt: expect.any(Number),
          verifiedAt: null,
          changedFingerprint: null,
        },
      ],
    });
    expect((await kp(bob, 'contacts')).json.contacts).toEqual([
      expect.objectContaining({ address: 'alice@localhost' }),
    ]);
  });

  it('verify shows the safety number and a QR code, and records the comparison', async () => {
    const fingerprint = await kp(alice, 'fingerprint', 'bob@localhost');
    const human = await runKeypears(['--home', alice, 'verify', 'bob@localhost', '--yes'], env());
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(String(fingerprint.json.safetyNumber));
    expect(human.stdout).toMatch(/[█▀▄]{10}/);
    const run = await kp(bob, 'verify', 'alice@localhost', '--yes');
    expect(run.json).toEqual({
      address: 'alice@localhost',
      safetyNumber: fingerprint.json.safetyNumber,
      fingerprint: expect.any(String),
      verified: true,
      verifiedAt: expect.any(Number),
    });
    const listed = (await kp(alice, 'contacts')).json.contacts as Array<{ verifiedAt: unknown }>;
    expect(listed[0].verifiedAt).toEqual(expect.any(Number));
  });

  it('verify on a terminal asks whether both sides see the same number', async () => {
    const questions: string[] = [];
    const prompt = async (q: string) => (questions.push(q), 'no');
    const run = await runKeypears(['--home', alice, 'verify', 'bob@localhost'], env(), { prompt });
    expect(questions).toEqual(['Does bob@localhost see the same number? (yes/no) ']);
    expect(run.stderr).toMatch(/safety number for alice@localhost and bob@localhost/);
    expect(run.stdout).toMatch(/not recorded/);
  });

  it('a changed key stops resolve, fingerprint and exchange start until it is accepted', async () => {
    // Alice's pinned key for Bob is not the key Bob's node serves (as after Bob's key changed).
    const source = {
      existing: async () => TEST_PASSPHRASE,
      fresh: async () => ({ passphrase: '', allowEmpty: false }),
    };
    const unlocked = await unlockKeystore(alice, source);
    unlocked.ks.contacts!.get('bob@localhost')!.identityKey = ed25519Keygen().publicKey;
    await saveKeystore(alice, unlocked.ks, unlocked.key);

    for (const argv of [
      ['resolve', 'bob@localhost'],
      ['fingerprint', 'bob@localhost'],
      ['exchange', 'start', 'bob@localhost'],
    ]) {
      const run = await kp(alice, ...argv);
      expect(run.code).toBe(1);
      expect(run.json).toEqual({
        error: {
          code: 'safety_number_changed',
          message: expect.stringMatching(/keypears contacts accept bob@localhost/),
          details: {
            address: 'bob@localhost',
            pinnedFingerprint: expect.any(String),
            seenFingerprint: expect.any(String),
          },
        },
      });
    }
    expect((await kp(bob, 'inbox')).json.exchanges).toEqual([]);
    const listed = (await kp(alice, 'contacts')).json.contacts as Array<Record<string, unknown>>;
    expect(listed[0].changedFingerprint).toBe((await kp(bob, 'whoami')).json.fingerprint);

    expect((await kp(alice, 'contacts', 'accept', 'bob@localhost')).json).toMatchObject({
      address: 'bob@localhost',
      verifiedAt: null,
      changedFingerprint: null,
    });
    expect((await kp(alice, 'fingerprint', 'bob@localhost')).code).toBe(0);
    expect((await kp(alice, 'contacts', 'accept', 'bob@localhost')).json).toMatchObject({
      error: { code: 'conflict' },
    });
  });
});

describe('blocks', () => {
  it('block, blocks, unblock: a blocked address cannot start an exchange', async () => {
    expect((await kp(bob, 'blocks')).json).toEqual({ blocks: [] });
    expect((await kp(bob, 'block', 'alice@localhost')).json).toEqual({ blocks: ['alice@localhost'] });
    expect((await kp(alice, 'exchange', 'start', 'bob@localhost')).json).toMatchObject({ error: { code: 'blocked' } });
    expect((await kp(bob, 'blocks')).json).toEqual({ blocks: ['alice@localhost'] });
    expect((await kp(bob, 'unblock', 'alice@localhost')).json).toEqual({ blocks: [] });
  });
});
