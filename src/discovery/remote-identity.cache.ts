/**
 * Verified public identities of remote addresses, kept in memory for a few seconds so that
 * repeated resolves of one address neither refetch it nor re-verify its signatures. Per
 * process; the staleness this allows is discussed in docs/discovery.md.
 */
import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { ExpiringCache } from '../common/expiring-cache.js';
import type { PublicIdentity } from '../protocol/wire.js';

/** Lifetime when the serving node sends no Cache-Control max-age. */
export const REMOTE_IDENTITY_DEFAULT_TTL_SECONDS = 30;
/** Upper bound on any lifetime, whatever the serving node asks for. */
export const REMOTE_IDENTITY_MAX_TTL_SECONDS = 60;
/** Most entries kept; the oldest is dropped first. */
export const REMOTE_IDENTITY_CACHE_ENTRIES = 10_000;

export const remoteIdentityTtlSeconds = (maxAgeSeconds: number | undefined): number =>
  Math.min(REMOTE_IDENTITY_MAX_TTL_SECONDS, Math.max(0, maxAgeSeconds ?? REMOTE_IDENTITY_DEFAULT_TTL_SECONDS));

@Injectable()
export class RemoteIdentityCache {
  private readonly entries: ExpiringCache<PublicIdentity>;

  constructor(clock: Clock) {
    this.entries = new ExpiringCache(REMOTE_IDENTITY_CACHE_ENTRIES, () => clock.now().getTime());
  }

  get(nodeUrl: string, address: string): PublicIdentity | undefined {
    return this.entries.get(cacheKey(nodeUrl, address));
  }

  /** Keeps `identity` (already verified) for `remoteIdentityTtlSeconds(maxAgeSeconds)`. */
  set(nodeUrl: string, address: string, identity: PublicIdentity, maxAgeSeconds: number | undefined): void {
    this.entries.set(cacheKey(nodeUrl, address), identity, remoteIdentityTtlSeconds(maxAgeSeconds) * 1000);
  }
}

const cacheKey = (nodeUrl: string, address: string) => `${nodeUrl} ${address}`;
