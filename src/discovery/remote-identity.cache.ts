/**
 * Verified public identities of remote addresses, kept in memory for a few seconds so that
 * repeated resolves of one address neither refetch it nor re-verify its signatures. Per
 * process; the staleness this allows is discussed in docs/discovery.md.
 */
import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import type { PublicIdentity } from '../protocol/wire.js';

/** Lifetime when the serving node sends no Cache-Control max-age. */
export const REMOTE_IDENTITY_DEFAULT_TTL_SECONDS = 30;
/** Upper bound on any lifetime, whatever the serving node asks for. */
export const REMOTE_IDENTITY_MAX_TTL_SECONDS = 60;
/** Most entries kept; the oldest is dropped first. */
export const REMOTE_IDENTITY_CACHE_ENTRIES = 10_000;

interface Entry {
  identity: PublicIdentity;
  expiresAtMs: number;
}

export const remoteIdentityTtlSeconds = (maxAgeSeconds: number | undefined): number =>
  Math.min(REMOTE_IDENTITY_MAX_TTL_SECONDS, Math.max(0, maxAgeSeconds ?? REMOTE_IDENTITY_DEFAULT_TTL_SECONDS));

@Injectable()
export class RemoteIdentityCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: Clock) {}

  get(nodeUrl: string, address: string): PublicIdentity | undefined {
    const key = cacheKey(nodeUrl, address);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.clock.now().getTime() >= entry.expiresAtMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.identity;
  }

  /** Keeps `identity` (already verified) for `remoteIdentityTtlSeconds(maxAgeSeconds)`. */
  set(nodeUrl: string, address: string, identity: PublicIdentity, maxAgeSeconds: number | undefined): void {
    const ttlSeconds = remoteIdentityTtlSeconds(maxAgeSeconds);
    const key = cacheKey(nodeUrl, address);
    this.entries.delete(key);
    if (ttlSeconds === 0) return;
    if (this.entries.size >= REMOTE_IDENTITY_CACHE_ENTRIES) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, { identity, expiresAtMs: this.clock.now().getTime() + ttlSeconds * 1000 });
  }
}

const cacheKey = (nodeUrl: string, address: string) => `${nodeUrl} ${address}`;
