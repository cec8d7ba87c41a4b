/**
 * Claims racing for the same one-time prekeys: 200 parallel signed HTTP claims against 50
 * one-time prekeys of each kind hand out each key exactly once. On a PostgreSQL server the
 * claims are spread over two node replicas sharing the database; the embedded database has a
 * single owner, so there one node serves them all.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNode, type RunningNode } from '../src/app.setup.js';
import { NodeClient } from '../src/sdk/client.js';
import { startTestNode, type TestNode } from './support/test-node.js';
import { registerUser, type TestUser } from './support/test-users.js';

const CLAIMS = 200;
const ONE_TIME_PREKEYS = 50;

let t: TestNode;
let replica: RunningNode | undefined;
let target: TestUser;
let requester: TestUser;

beforeAll(async () => {
  t = await startTestNode({
    KEYPEARS_DOMAINS: 'a.example',
    KEYPEARS_CLAIM_LIMIT_PER_PAIR: '1000',
    KEYPEARS_CLAIM_LIMIT_PER_SOURCE: '1000',
  });
  if (!t.database.embedded) replica = await createNode({ ...t.config, port: 0 });
  target = await registerUser(t, 'bob@a.example', ONE_TIME_PREKEYS);
  requester = await registerUser(t, 'alice@a.example', 0);
});

afterAll(async () => {
  await replica?.close();
  await t?.destroy();
});

/** A client that signs for the node's public URL but talks to `origin` (a replica behind a balancer). */
function clientVia(origin: string): NodeClient {
  return new NodeClient({
    baseUrl: t.config.publicUrl,
    allowInsecureHttp: true,
    signer: { address: requester.ks.address, secretKey: requester.ks.identitySecretKey },
    fetch: (input, init) => fetch(String(input).replace(t.config.publicUrl, origin), init),
  });
}

describe('concurrent claims', () => {
  it(`hand out ${ONE_TIME_PREKEYS} distinct one-time keys and ${CLAIMS - ONE_TIME_PREKEYS} last-resort answers`, async () => {
    const clients = [clientVia(t.url), ...(replica ? [clientVia(replica.url)] : [])];
    const bundles = await Promise.all(
      Array.from({ length: CLAIMS }, (_, i) => clients[i % clients.length].claim('bob@a.example')),
    );

    const withOneTime = bundles.filter((b) => !b.usedLastResort);
    const lastResort = bundles.filter((b) => b.usedLastResort);
    expect(withOneTime).toHaveLength(ONE_TIME_PREKEYS);
    expect(lastResort).toHaveLength(CLAIMS - ONE_TIME_PREKEYS);
    // Both kinds are consumed together: a bundle has both one-time keys or neither.
    expect(withOneTime.every((b) => b.oneTimePrekey && b.pqOneTimePrekey)).toBe(true);
    expect(lastResort.every((b) => !b.oneTimePrekey && !b.pqOneTimePrekey)).toBe(true);

    const xIds = withOneTime.map((b) => b.oneTimePrekey!.id);
    const pqIds = withOneTime.map((b) => b.pqOneTimePrekey!.id);
    expect(new Set(xIds).size).toBe(ONE_TIME_PREKEYS);
    expect(new Set(pqIds).size).toBe(ONE_TIME_PREKEYS);
    expect(new Set(xIds)).toEqual(new Set(target.ks.oneTimePrekeys.keys()));
    expect(new Set(pqIds)).toEqual(new Set(target.ks.pqOneTimePrekeys.keys()));
    expect(new Set(lastResort.map((b) => b.pqLastResort.id))).toEqual(new Set([target.ks.pqLastResortKeys[0].id]));

    expect(await target.client.getAccount()).toMatchObject({ oneTimePrekeys: 0, pqOneTimePrekeys: 0 });
  });
});
