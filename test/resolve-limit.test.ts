/**
 * The public resolve API makes the node do outbound work (DNS, node documents, identity
 * fetches) for anyone who asks; that work is rate-limited per source address, while answers
 * served from the caches are not.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestNameserver, type LoopbackNameserver } from './support/dns-server.js';
import { expectErrorResponse } from './support/expect-error.js';
import { clockInThisHour, startTestNode, type TestNode } from './support/test-node.js';
import { registerUser } from './support/test-users.js';

/** Node a's clock: ten seconds into an hour, moved only by the test. */
const clock = clockInThisHour();
let ns: LoopbackNameserver;
let a: TestNode;
let b: TestNode;

const resolve = (address: string) => fetch(`${a.url}/api/v1/resolve/${encodeURIComponent(address)}`);

beforeAll(async () => {
  ns = await startTestNameserver();
  const env = { KEYPEARS_DNS_SERVERS: ns.address };
  [a, b] = await Promise.all([
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'a.test', KEYPEARS_RESOLVE_LIMIT_PER_SOURCE: '4' }, { clock }),
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'b.test' }),
  ]);
  await registerUser(b, 'bob@b.test');
  await registerUser(b, 'carol@b.test');
  ns.setTxt('_keypears.b.test', `v=KP1; node=${b.config.publicUrl}`);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
  await ns?.stop();
});

describe('resolve rate limit', () => {
  it('charges network work, serves cached answers freely, and answers 429 past the limit', async () => {
    // Discovery of b.test and bob's identity: two charges; the repeats come from the caches.
    for (let i = 0; i < 5; i++) expect((await resolve('bob@b.test')).status).toBe(200);
    // carol: one more identity fetch (discovery is cached); nx.test: one DNS lookup.
    expect((await resolve('carol@b.test')).status).toBe(200);
    expect((await resolve('x@nx.test')).status).toBe(404);
    // Both limits are spent: new outbound work is refused, cached answers still flow.
    const refused = await resolve('y@other.test');
    expect(refused.headers.get('retry-after')).toBe('50');
    await expectErrorResponse(refused, 429, 'rate_limited');
    expect((await resolve('bob@b.test')).status).toBe(200);
    expect((await resolve('alice@a.test')).status).toBe(404); // local lookups are not charged
    // The budget is per minute: the next one allows new work again.
    clock.advance(49_000);
    await expectErrorResponse(await resolve('y@other.test'), 429, 'rate_limited');
    clock.advance(1000);
    expect((await resolve('y@other.test')).status).toBe(404);
  });
});
