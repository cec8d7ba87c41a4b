import { describe, expect, it } from '@jest/globals';
import type { Clock } from '../common/clock.js';
import type { AppConfig } from '../config/config.js';
import type { NodeMetrics } from '../metrics/node-metrics.js';
import type { DiscoveredDomain } from '../net/domain-discovery.js';
import type { DiscoveryCacheRepository } from './discovery-cache.repository.js';
import type { DiscoveryClient } from './discovery.client.js';
import { DiscoveryService } from './discovery.service.js';

const found: DiscoveredDomain = {
  domain: 'b.example',
  nodeUrl: 'https://kp.b.example',
  document: { protocol: 'KeyPears/v1', nodeUrl: 'https://kp.b.example', domains: ['b.example'], keys: [] } as never,
  method: 'dns',
  ttlSeconds: 300,
};

/** A service over an empty cache whose network lookups are counted (and answered when the test says). */
function service() {
  const lookups: Array<() => void> = [];
  const client = {
    discoverDomain: () => new Promise<DiscoveredDomain>((resolve) => lookups.push(() => resolve(found))),
  } as unknown as DiscoveryClient;
  const cache = {
    find: async () => undefined,
    saveFound: async () => undefined,
    deleteExpired: async () => 0,
  } as unknown as DiscoveryCacheRepository;
  const metrics = { discoveryLookup: () => undefined, discoveryResult: () => undefined } as unknown as NodeMetrics;
  const clock = { now: () => new Date(Date.UTC(2026, 0, 1)) } as Clock;
  const discovery = new DiscoveryService(cache, clock, client, { domains: ['a.example'] } as AppConfig, metrics);
  return { discovery, lookups };
}

describe('DiscoveryService, lookups in flight', () => {
  it('shares one network lookup among concurrent resolves of a domain, even when each is charged first', async () => {
    const { discovery, lookups } = service();
    const charged: number[] = [];
    const charge = (n: number) => async () => {
      charged.push(n);
      await new Promise((r) => setImmediate(r)); // a rate-limit counter in the database
    };
    const resolves = [1, 2, 3].map((n) => discovery.resolveDomain('b.example', { beforeNetwork: charge(n) }));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(charged).toEqual([1, 2, 3]);
    expect(lookups).toHaveLength(1);
    lookups[0]();
    for (const answer of await Promise.all(resolves)) expect(answer.nodeUrl).toBe(found.nodeUrl);
  });
});
