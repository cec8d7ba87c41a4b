import { describe, expect, it } from '@jest/globals';
import type { Clock } from '../common/clock.js';
import type { RateLimitService } from '../common/rate-limit/rate-limit.service.js';
import type { DirectoryService } from '../directory/directory.service.js';
import { parseAddress } from '../protocol/address.js';
import { KeyPearsError } from '../protocol/errors.js';
import type { AppConfig } from '../config/config.js';
import type { PublicIdentity } from '../protocol/wire.js';
import type { DiscoveryClient } from './discovery.client.js';
import type { DiscoveryService, ResolvedDomain } from './discovery.service.js';
import { RemoteIdentityCache } from './remote-identity.cache.js';
import { OutboundBudget } from './outbound-budget.js';
import { ResolveService } from './resolve.service.js';
import type { PeerLogService } from '../kt-peers/peer-log.service.js';

const NODE_URL = 'https://kp.b.example';
const SOURCE = '192.0.2.1';
const identity = { address: 'bob@b.example' } as PublicIdentity;

function resolver(maxAgeSeconds: number | undefined, limit = 1000) {
  const clock = { ms: Date.UTC(2026, 0, 1), now: () => new Date(clock.ms) };
  const fetches: string[] = [];
  const client = {
    fetchRemoteIdentity: async (nodeUrl: string, address: string) => {
      fetches.push(`${nodeUrl} ${address}`);
      return { identity, maxAgeSeconds };
    },
  } as unknown as DiscoveryClient;
  const discovery = {
    isLocalDomain: () => false,
    resolveDomain: async (): Promise<Partial<ResolvedDomain>> => ({
      nodeUrl: NODE_URL,
      method: 'dns',
      cached: true,
      document: {} as ResolvedDomain['document'],
    }),
  } as unknown as DiscoveryService;
  const charges: string[] = [];
  const rateLimits = {
    consume: async (bucket: string) => {
      charges.push(bucket);
      if (charges.length > limit) throw new KeyPearsError('rate_limited', 'too many', { retryAfterSeconds: 60 });
    },
  } as unknown as RateLimitService;
  const config = { publicUrl: 'https://kp.a.example', resolveLimitPerSource: limit } as AppConfig;
  const service = new ResolveService(
    discovery,
    {} as DirectoryService,
    new RemoteIdentityCache(clock as unknown as Clock),
    client,
    new OutboundBudget(rateLimits, config),
    config,
    // Transparency is checked by its own tests (test/services/peer-logs.test.ts).
    { knownSize: async () => 0, verifyForRelay: async () => undefined } as unknown as PeerLogService,
  );
  return { clock, fetches, charges, service };
}

describe('ResolveService, remote addresses', () => {
  it('serves a verified identity from memory within its max-age, and refetches after it', async () => {
    const { clock, fetches, service } = resolver(30);
    expect((await service.resolve(parseAddress('Bob@b.example'), SOURCE)).identity).toBe(identity);
    clock.ms += 29_000;
    expect((await service.resolve(parseAddress('bob@b.example'), SOURCE)).identity).toBe(identity);
    expect(fetches).toEqual([`${NODE_URL} bob@b.example`]);
    clock.ms += 1_000;
    await service.resolve(parseAddress('bob@b.example'), SOURCE);
    expect(fetches).toHaveLength(2);
  });

  it('caps the lifetime at 60 s, defaults to 30 s, and does not cache max-age=0', async () => {
    const capped = resolver(3600);
    await capped.service.resolve(parseAddress('bob@b.example'), SOURCE);
    capped.clock.ms += 60_000;
    await capped.service.resolve(parseAddress('bob@b.example'), SOURCE);
    expect(capped.fetches).toHaveLength(2);

    const unspecified = resolver(undefined);
    await unspecified.service.resolve(parseAddress('bob@b.example'), SOURCE);
    unspecified.clock.ms += 29_999;
    await unspecified.service.resolve(parseAddress('bob@b.example'), SOURCE);
    expect(unspecified.fetches).toHaveLength(1);
    unspecified.clock.ms += 1;
    await unspecified.service.resolve(parseAddress('bob@b.example'), SOURCE);
    expect(unspecified.fetches).toHaveLength(2);

    const uncached = resolver(0);
    await uncached.service.resolve(parseAddress('bob@b.example'), SOURCE);
    await uncached.service.resolve(parseAddress('bob@b.example'), SOURCE);
    expect(uncached.fetches).toHaveLength(2);
  });

  it('charges remote fetches to the asking address, not cached answers, and stops at the limit', async () => {
    const { fetches, charges, service } = resolver(30, 2);
    await service.resolve(parseAddress('bob@b.example'), SOURCE);
    await service.resolve(parseAddress('bob@b.example'), SOURCE);
    expect(charges).toEqual([`resolve:source:${SOURCE}`]);
    await service.resolve(parseAddress('carol@b.example'), SOURCE);
    await expect(service.resolve(parseAddress('dave@b.example'), SOURCE)).rejects.toMatchObject({
      code: 'rate_limited',
    });
    expect(fetches).toEqual([`${NODE_URL} bob@b.example`, `${NODE_URL} carol@b.example`]);
  });
});
