/**
 * `npm run admin -- kt status|verify|export` against a node's database: the head and whether it
 * is advertised, the full check of the log, and the evidence (a tlog-proof that verifies with
 * the protocol core alone).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openCheckpoint, parseTlogProof } from '../src/protocol/transparency/checkpoint.js';
import { decodeEntry } from '../src/protocol/transparency/entry.js';
import { leafHash, verifyInclusion } from '../src/protocol/transparency/merkle.js';
import { adminFor } from './support/admin.js';
import { startTestNode, type TestNode } from './support/test-node.js';
import { registerUser } from './support/test-users.js';

let t: TestNode;

beforeAll(async () => {
  t = await startTestNode({ KEYPEARS_DOMAINS: 'kt.test', KEYPEARS_REGISTRATION: 'open' });
  await registerUser(t, 'alice@kt.test', 1);
  await registerUser(t, 'bob@kt.test', 1);
  // The embedded database admits one process at a time: the commands run with the node stopped.
  await t.stop();
}, 180_000);

afterAll(async () => {
  await t?.destroy();
});

const admin = (args: string[]) =>
  adminFor(t, args, { env: { KEYPEARS_PUBLIC_URL: t.config.publicUrl, KEYPEARS_DEV: '1' } });

describe('admin kt', () => {
  it('status shows the advertised log of three entries', async () => {
    const { code, stdout } = await admin(['kt', 'status', '--json']);
    expect(code).toBe(0);
    const status = JSON.parse(stdout);
    expect(status).toMatchObject({
      generation: 1,
      size: 3,
      importEnd: 1,
      advertised: true,
      unlogged: 0,
      originMatchesConfig: true,
    });
    expect(openCheckpoint(status.checkpoint, status.logKey).checkpoint.size).toBe(3);
  });

  it('verify finds the log consistent', async () => {
    const { code, stdout } = await admin(['kt', 'verify', '--json']);
    expect(JSON.parse(stdout)).toEqual({ ok: true, size: 3, checkpoints: 3, accounts: 2, problems: [] });
    expect(code).toBe(0);
  });

  it('export gives a tlog-proof of an entry that verifies offline, and the keys on request', async () => {
    const { code, stdout } = await admin(['kt', 'export', '--address', 'bob@kt.test']);
    expect(code).toBe(0);
    const evidence = JSON.parse(stdout);
    expect(evidence.secretKeys).toBeUndefined();
    const proof = parseTlogProof(evidence.entry.tlogProof);
    const { checkpoint } = openCheckpoint(proof.checkpoint, evidence.logKey);
    expect(decodeEntry(proof.extra!).kind).toBe('register');
    expect(
      verifyInclusion(proof.index, checkpoint.size, leafHash(proof.extra!), proof.inclusion, checkpoint.root),
    ).toBe(true);
    const withKeys = JSON.parse((await admin(['kt', 'export', '--secret-keys'])).stdout);
    expect(Object.keys(withKeys.secretKeys)).toEqual(['log', 'vrf']);
  });

  it('export of an address without an entry fails with a clear error', async () => {
    const { code, stderr } = await admin(['kt', 'export', '--address', 'nobody@kt.test']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/nobody@kt.test has no entry in this log \(not_found\)/);
  });
});
