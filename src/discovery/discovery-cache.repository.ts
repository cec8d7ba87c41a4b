import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { PG_POOL } from '../database/pg-pool.js';
import { PrismaService } from '../database/prisma.service.js';
import { Prisma } from '../generated/prisma/client.js';
import type { DiscoveryMethod } from '../net/domain-discovery.js';
import type { NodeDocument } from '../protocol/discovery.js';

export type CacheStatus = 'found' | 'none' | 'error';

export interface CachedDiscovery {
  domain: string;
  status: CacheStatus;
  nodeUrl: string | null;
  method: DiscoveryMethod | null;
  document: NodeDocument | null;
  fetchedAt: Date;
  expiresAt: Date;
  staleUntil: Date;
  /** For `error`: `{code, message}` as JSON; for `found`: set while a refresh is failing. */
  lastError: string | null;
  keysRefetchedAt: Date | null;
}

/** The discovery cache (table discovery_cache), shared by every replica of the node. */
@Injectable()
export class DiscoveryCacheRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  /** Read on every remote resolve and federation request: straight to the pool (docs/performance.md). */
  async find(domain: string): Promise<CachedDiscovery | undefined> {
    const { rows } = await this.pool.query<CachedDiscovery>({
      name: 'kp_discovery_cache_read',
      text: `SELECT domain, status, node_url AS "nodeUrl", method, document, fetched_at AS "fetchedAt",
              expires_at AS "expiresAt", stale_until AS "staleUntil", last_error AS "lastError",
              keys_refetched_at AS "keysRefetchedAt"
         FROM discovery_cache WHERE domain = $1`,
      values: [domain],
    });
    return rows[0];
  }

  async saveFound(
    domain: string,
    entry: {
      nodeUrl: string;
      method: DiscoveryMethod;
      document: NodeDocument;
      fetchedAt: Date;
      expiresAt: Date;
      staleUntil: Date;
    },
  ): Promise<void> {
    const data = { status: 'found', ...entry, document: entry.document as object, lastError: null };
    await this.prisma.discoveryCache.upsert({ where: { domain }, create: { domain, ...data }, update: data });
  }

  /** A negative answer (`none`) or a definite misconfiguration (`error`), until `expiresAt`. */
  async saveNegative(
    domain: string,
    entry: { status: 'none' | 'error'; lastError: string | null; fetchedAt: Date; expiresAt: Date },
  ): Promise<void> {
    const data = { ...entry, nodeUrl: null, method: null, document: Prisma.DbNull, staleUntil: entry.expiresAt };
    await this.prisma.discoveryCache.upsert({ where: { domain }, create: { domain, ...data }, update: data });
  }

  /** Keeps serving a found entry after a failed refresh; tries again after `retryAt`. */
  async markStale(domain: string, lastError: string, retryAt: Date): Promise<void> {
    await this.prisma.discoveryCache.updateMany({
      where: { domain, status: 'found' },
      data: { lastError, expiresAt: retryAt },
    });
  }

  /**
   * Claims the right to refetch a node's document: true for at most one caller, across
   * replicas, per `minIntervalMs`.
   */
  async claimKeyRefetch(nodeUrl: string, now: Date, minIntervalMs: number): Promise<boolean> {
    const { count } = await this.prisma.discoveryCache.updateMany({
      where: {
        nodeUrl,
        status: 'found',
        OR: [{ keysRefetchedAt: null }, { keysRefetchedAt: { lte: new Date(now.getTime() - minIntervalMs) } }],
      },
      data: { keysRefetchedAt: now },
    });
    return count > 0;
  }

  /**
   * Stores a node's refetched document on every domain it still lists, and forgets the
   * domains it no longer lists (they will be discovered afresh).
   */
  async replaceNodeDocument(nodeUrl: string, document: NodeDocument, fetchedAt: Date): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.discoveryCache.updateMany({
        where: { nodeUrl, status: 'found', domain: { in: document.domains } },
        data: { document: document as object, fetchedAt },
      }),
      this.prisma.discoveryCache.deleteMany({
        where: { nodeUrl, status: 'found', domain: { notIn: document.domains } },
      }),
    ]);
  }
}
