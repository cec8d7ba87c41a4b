/**
 * Node-key revocation (docs/discovery.md, "Key rotation and revocation"): after a rotation
 * with no overlap, the revoking node publishes and uses only the new key at once, on every
 * replica; a peer accepts the revoked key no longer than KEY_TRUST_SECONDS, at once when it
 * sees the new key id, and never on a copy of the document it could not confirm.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNode, type RunningNode } from '../src/app.setup.js';
import { DiscoveryService, KEY_TRUST_SECONDS } from '../src/discovery/discovery.service.js';
import { NodeKeysService } from '../src/node-keys/node-keys.service.js';
import { startTestNameserver, type LoopbackNameserver } from './support/dns-server.js';
import { freePort } from './support/free-port.js';
import { MovableClock } from './support/movable-clock.js';
import { startTestNode, type TestNode } from './support/test-node.js';

const clock = new MovableClock(Date.now());
let ns: LoopbackNameserver;
let peer: TestNode;
let revoker: TestNode;

beforeAll(async () => {
  ns = await startTestNameserver();
  const env = { KEYPEARS_DNS_SERVERS: ns.address };
  [peer, revoker] = await Promise.all([
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'peer.test' }, { clock }),
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'rev.test' }, { clock }),
  ]);
  ns.setTxt('_keypears.rev.test', `v=KP1; node=${revoker.config.publicUrl}`);
});

afterAll(async () => {
  await Promise.all([peer?.destroy(), revoker?.destroy()]);
  await ns?.stop();
});

const published = async (url: string) =>
  ((await (await fetch(`${url}/.well-known/keypears.json`)).json()) as { keys: Array<{ keyId: string }> }).keys.map(
    (k) => k.keyId,
  );

describe('at a peer', () => {
  it('accepts a revoked key no longer than KEY_TRUST_SECONDS, and at once no more after seeing the new key', async () => {
    const discovery = peer.node.app.get(DiscoveryService);
    const keys = revoker.node.app.get(NodeKeysService);
    const oldKey = (await keys.currentKey()).keyId;
    expect((await discovery.nodeVerificationKey('rev.test', oldKey)).key.keyId).toBe(oldKey);

    const { current } = await keys.rotate(0);
    expect(await published(revoker.url)).toEqual([current.keyId]);
    // The peer's copy, fetched just now, still lists the old key: accepted within the bound...
    expect((await discovery.nodeVerificationKey('rev.test', oldKey)).key.keyId).toBe(oldKey);
    clock.advance(KEY_TRUST_SECONDS * 1000 + 1000);
    // ...and past it, the copy is confirmed by a refetch, which revokes the key.
    await expect(discovery.nodeVerificationKey('rev.test', oldKey)).rejects.toMatchObject({ code: 'unknown_key' });
    expect((await discovery.nodeVerificationKey('rev.test', current.keyId)).key.keyId).toBe(current.keyId);

    // A second revocation: the first request signed with the new key refetches the document,
    // and the key it revokes is refused from then on, well within the bound.
    clock.advance(61_000);
    const next = await keys.rotate(0);
    expect((await discovery.nodeVerificationKey('rev.test', next.current.keyId)).key.keyId).toBe(next.current.keyId);
    await expect(discovery.nodeVerificationKey('rev.test', current.keyId)).rejects.toMatchObject({
      code: 'unknown_key',
    });
  });

  it('does not verify with a copy it cannot confirm while the revoking node is offline', async () => {
    const discovery = peer.node.app.get(DiscoveryService);
    clock.advance(61_000);
    const key = (await revoker.node.app.get(NodeKeysService).currentKey()).keyId;
    expect((await discovery.nodeVerificationKey('rev.test', key)).key.keyId).toBe(key);
    await revoker.stop();
    try {
      clock.advance(KEY_TRUST_SECONDS * 1000 + 1000);
      await expect(discovery.nodeVerificationKey('rev.test', key)).rejects.toMatchObject({ code: 'unknown_key' });
      // Routing still has its answer for the domain (stale-while-revalidate is for routing).
      expect((await discovery.resolveDomain('rev.test')).nodeUrl).toBe(revoker.config.publicUrl);
    } finally {
      await revoker.restart();
    }
  });
});

describe('at the revoking node', () => {
  const onPostgres = process.env.DATABASE_URL ? it : it.skip;

  // Replicas share a PostgreSQL server; the embedded database serves one process.
  onPostgres('stops publishing and using the revoked key at once, on every replica', async () => {
    const replica: RunningNode = await createNode({ ...revoker.config, port: await freePort() }, { clock });
    try {
      const before = await published(replica.url);
      expect(await published(revoker.url)).toEqual(before);
      const { current } = await revoker.node.app.get(NodeKeysService).rotate(0);
      // The clock stands still: only the announcement can make the replica drop its copy.
      let seen = await published(replica.url);
      for (let i = 0; i < 200 && seen.join() !== current.keyId; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        seen = await published(replica.url);
      }
      expect(seen).toEqual([current.keyId]);
      expect((await replica.app.get(NodeKeysService).currentKey()).keyId).toBe(current.keyId);
    } finally {
      await replica.close();
    }
  });
});
