/**
 * `npm run admin -- node-key rotate`: the operator rotates the node signing key; the node
 * document then lists the new key as current and the old one until the overlap ends.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseOverlap } from '../src/admin/node-key.command.js';
import { MovableClock } from './support/movable-clock.js';
import { adminOn } from './support/admin-command.js';
import { startTestNode, type TestNode } from './support/test-node.js';

/** The node's and the operator commands' clock. */
const clock = new MovableClock(Date.now());
let t: TestNode;

beforeAll(async () => {
  t = await startTestNode({ KEYPEARS_DOMAINS: 'rot.test' }, { clock });
});
afterAll(async () => {
  await t?.destroy();
});

const admin = (args: string[]) => adminOn(t, args, { KEYPEARS_DOMAINS: 'rot.test' }, clock);

const document = async () =>
  (await (await fetch(`${t.url}/.well-known/keypears.json`)).json()) as {
    keys: Array<{ keyId: string; notBefore: number; notAfter: number | null }>;
  };

describe('admin node-key', () => {
  it('rotates with an overlap; the node publishes both keys', async () => {
    const before = await document();
    expect(before.keys).toHaveLength(1);
    // The embedded database admits one process at a time: stop the node while the command runs.
    await t.stop();
    const { code, stdout, stderr } = await admin(['node-key', 'rotate', '--overlap', '2h', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as {
      current: { keyId: string };
      retired: Array<{ keyId: string; notAfter: number }>;
    };
    expect(out.retired.map((k) => k.keyId)).toEqual([before.keys[0].keyId]);
    expect(out.retired[0].notAfter).toBe(clock.unixSeconds() + 7200);

    const listed = await admin(['node-key', 'list']);
    expect(listed.stdout).toContain(`${out.current.keyId}  from`);
    expect(listed.stdout).toContain('(current)');

    await t.restart();
    const after = await document();
    expect(after.keys.map((k) => k.keyId)).toEqual([out.current.keyId, before.keys[0].keyId]);
    expect(after.keys[0].notAfter).toBeNull();
  });

  it('refuses a malformed overlap', async () => {
    expect(() => parseOverlap('7 days')).toThrow(/duration/);
    expect(() => parseOverlap('400d')).toThrow(/365d/);
    expect(parseOverlap('0s')).toBe(0);
    expect(parseOverlap('7d')).toBe(604_800);
    await t.stop();
    const { code, stderr } = await admin(['node-key', 'rotate', '--overlap', 'soon']);
    expect(code).not.toBe(0);
    expect(stderr).toContain('duration');
    await t.restart();
  });
});
