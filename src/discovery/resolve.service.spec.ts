import { describe, expect, it } from '@jest/globals';
import type { Clock } from '../common/clock.js';
import type { AppConfig } from '../config/config.js';
import type { KeysService } from '../keys/keys.service.js';
import type { PublicIdentity } from '../protocol/wire.js';
import type { DiscoveryClient } from './discovery.client.js';
import type { DiscoveryService, ResolvedDomain } from './discovery.service.js';
import { RemoteIdentityCache } from './remote-identity.cache.js';
import { ResolveService } from './resolve.service.js';

const NODE_URL = 'https://kp.b.example';
const identity = { address: 'bob@b.example' } as PublicIdentity;

function resolver(maxAgeSeconds: number | undefined) {
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
    resolveDomain: async (): Promise<Partial<ResolvedDomain>> => ({ nodeUrl: NODE_URL, method: 'dns', cached: true }),
  } as unknown as DiscoveryService;
  const service = new ResolveService(
    discovery,
    {} as KeysService,
    new RemoteIdentityCache(clock as unknown as Clock),
    client,
    { publicUrl: 'https://kp.a.example' } as AppConfig,
  );
  return { clock, fetches, service };
}

describe('ResolveService, remote addresses', () => {
  it('serves a verified identity from memory within its max-age, and refetches after it', async () => {
    const { clock, fetches, service } = resolver(30);
    expect((await service.resolve('Bob@b.example')).identity).toBe(identity);
    clock.ms += 29_000;
    expect((await service.resolve('bob@b.example')).identity).toBe(identity);
    expect(fetches).toEqual([`${NODE_URL} bob@b.example`]);
    clock.ms += 1_000;
    await service.resolve('bob@b.example');
    expect(fetches).toHaveLength(2);
  });

  it('caps the lifetime at 60 s, defaults to 30 s, and does not cache max-age=0', async () => {
    const capped = resolver(3600);
    await capped.service.resolve('bob@b.example');
    capped.clock.ms += 60_000;
    await capped.service.resolve('bob@b.example');
    expect(capped.fetches).toHaveLength(2);

    const unspecified = resolver(undefined);
    await unspecified.service.resolve('bob@b.example');
    unspecified.clock.ms += 29_999;
    await unspecified.service.resolve('bob@b.example');
    expect(unspecified.fetches).toHaveLength(1);
    unspecified.clock.ms += 1;
    await unspecified.service.resolve('bob@b.example');
    expect(unspecified.fetches).toHaveLength(2);

    const uncached = resolver(0);
    await uncached.service.resolve('bob@b.example');
    await uncached.service.resolve('bob@b.example');
    expect(uncached.fetches).toHaveLength(2);
  });
});
