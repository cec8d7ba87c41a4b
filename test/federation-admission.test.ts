/**
 * What an unauthenticated federation request can make a node do: nothing outbound until
 * every local check has passed, then discovery charged to the request's source
 * (KEYPEARS_RESOLVE_LIMIT_PER_SOURCE), and the discovery cache emptied of what can no longer
 * be served, negative answers included.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PrismaService } from '../src/database/prisma.service.js';
import { DiscoveryCacheRepository } from '../src/discovery/discovery-cache.repository.js';
import { DiscoveryService, NEGATIVE_TTL_SECONDS } from '../src/discovery/discovery.service.js';
import { ed25519Keygen } from '../src/protocol/crypto.js';
import { utf8 } from '../src/protocol/encoding.js';
import { signRequest } from '../src/protocol/http-signature.js';
import { startTestNameserver, type LoopbackNameserver } from './support/dns-server.js';
import { clockInThisHour, startTestNode, type TestNode } from './support/test-node.js';

const clock = clockInThisHour();
let ns: LoopbackNameserver;
let t: TestNode;

beforeAll(async () => {
  ns = await startTestNameserver();
  t = await startTestNode(
    { KEYPEARS_DNS_SERVERS: ns.address, KEYPEARS_DOMAINS: 'home.test', KEYPEARS_RESOLVE_LIMIT_PER_SOURCE: '3' },
    { clock },
  );
});

afterAll(async () => {
  await t?.destroy();
  await ns?.stop();
});

const PATH = '/api/v1/federation/claim';
const stranger = ed25519Keygen();
let counter = 0;

/** A federation claim for `domain`, signed with a throw-away key; `spoil` breaks it locally. */
function garbageClaim(domain: string, spoil?: 'digest' | 'expired' | 'destination') {
  const body = JSON.stringify({ address: 'x@home.test', requester: `r@${domain}` });
  const covered = {
    'keypears-origin': `http://${domain}:4273`,
    'keypears-destination': spoil === 'destination' ? 'http://elsewhere.test' : t.config.publicUrl,
    'keypears-domain': domain,
  };
  const headers = signRequest({
    method: 'POST',
    targetUri: `${t.config.publicUrl}${PATH}`,
    body: utf8(body),
    keyId: `k${String(counter++).padStart(21, '0')}`,
    secretKey: stranger.secretKey,
    headers: covered,
    now: clock.unixSeconds() - (spoil === 'expired' ? 3600 : 0),
  });
  return fetch(`${t.url}${PATH}`, {
    method: 'POST',
    headers: { ...headers, ...covered, 'content-type': 'application/json' },
    body: spoil === 'digest' ? body.replace('x@', 'y@') : body,
  });
}

const queriesFor = (domain: string) => ns.queries.filter((q) => q.includes(domain)).length;

describe('unsigned or badly signed federation requests', () => {
  it('cause no lookup when a local check fails', async () => {
    for (const spoil of ['digest', 'expired', 'destination'] as const) {
      const res = await garbageClaim(`local-${spoil}.test`, spoil);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(queriesFor(`local-${spoil}.test`)).toBe(0);
    }
    expect(await t.node.app.get(PrismaService).discoveryCache.count()).toBe(0);
  });

  it('charge the discovery of their claimed origin to their source', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await garbageClaim(`g${i}.test`)).status);
    // Three discoveries (no node found), then the source's budget is spent.
    expect(statuses).toEqual([404, 404, 404, 429, 429, 429, 429, 429]);
    expect([0, 1, 2].every((i) => queriesFor(`g${i}.test`) > 0)).toBe(true);
    expect([3, 4, 5, 6, 7].map((i) => queriesFor(`g${i}.test`))).toEqual([0, 0, 0, 0, 0]);
  });

  it('leave negative answers that are deleted once they expire', async () => {
    const prisma = t.node.app.get(PrismaService);
    expect(await prisma.discoveryCache.count()).toBe(3);
    clock.advance((NEGATIVE_TTL_SECONDS + 60) * 1000);
    // The next lookup that goes to the network cleans up first.
    await expect(t.node.app.get(DiscoveryService).resolveDomain('after.test')).rejects.toMatchObject({
      code: 'no_node_for_domain',
    });
    expect((await prisma.discoveryCache.findMany()).map((r) => r.domain)).toEqual(['after.test']);
  });

  it('keep the cache bounded: beyond its size, the answers that end soonest go first', async () => {
    const repository = t.node.app.get(DiscoveryCacheRepository);
    await t.node.app.get(PrismaService).discoveryCache.deleteMany();
    const now = clock.now();
    for (let i = 1; i <= 5; i++) {
      await repository.saveNegative(`bound${i}.test`, {
        status: 'none',
        lastError: null,
        fetchedAt: now,
        expiresAt: new Date(now.getTime() + i * 60_000),
      });
    }
    await repository.deleteExpired(now, 2);
    const left = await t.node.app.get(PrismaService).discoveryCache.findMany({ orderBy: { domain: 'asc' } });
    expect(left.map((r) => r.domain)).toEqual(['bound4.test', 'bound5.test']);
  });
});
