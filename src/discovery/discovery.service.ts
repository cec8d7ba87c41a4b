import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { ExpiringCache } from '../common/expiring-cache.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import type { DiscoveryMethod } from '../net/domain-discovery.js';
import { parseDomain } from '../protocol/address.js';
import { requireDomainListed, type NodeDocument, type NodeKey } from '../protocol/discovery.js';
import { isApiErrorCode, KeyPearsError } from '../protocol/errors.js';
import { NodeMetrics } from '../metrics/node-metrics.js';
import { DiscoveryCacheRepository, type CachedDiscovery } from './discovery-cache.repository.js';
import { DISCOVERY_CLIENT, type DiscoveryClient } from './discovery.client.js';

/** Lifetime of "this domain has no node" and of a misconfiguration. */
export const NEGATIVE_TTL_SECONDS = 300;
/** How long past its expiry a found answer may be served while refreshes fail. */
export const STALE_WINDOW_SECONDS = 24 * 3600;
/** After a failed refresh, the stale answer is served without retrying for this long. */
export const FAILED_REFRESH_RETRY_SECONDS = 60;
/**
 * How long this process keeps an unexpired answer it read from the database (never past the
 * answer's own expiry), so that a cached resolve or a federation request does not read the
 * same row again. Another replica's refresh is seen within this time.
 */
export const RECENT_ANSWER_MS = 5_000;
const RECENT_ANSWERS = 10_000;
/** A node's document is refetched (unknown key id, keys to confirm) at most this often. */
export const KEY_REFETCH_INTERVAL_SECONDS = 60;
/**
 * A signature is verified only with keys from a copy of the signer's node document fetched
 * within this long (the document's own Cache-Control max-age): the bound on how long a peer
 * keeps accepting a key its node has revoked.
 */
export const KEY_TRUST_SECONDS = 300;

export interface ResolvedDomain {
  domain: string;
  nodeUrl: string;
  document: NodeDocument;
  method: DiscoveryMethod;
  /** Answered from the cache, without network. */
  cached: boolean;
  /** Past its TTL: the last refresh failed and this is the previous answer. */
  stale: boolean;
  fetchedAt: Date;
}

const TRANSIENT = new Set(['discovery_unavailable']);

const errorRecord = (e: KeyPearsError) => JSON.stringify({ code: e.code, message: e.message });

function cachedError(entry: CachedDiscovery): KeyPearsError {
  if (entry.status === 'none') {
    return new KeyPearsError('no_node_for_domain', `${entry.domain} has no KeyPears node`);
  }
  try {
    const { code, message } = JSON.parse(entry.lastError ?? '') as { code: unknown; message: string };
    if (isApiErrorCode(code)) return new KeyPearsError(code, message);
  } catch {
    // not the JSON errorRecord wrote
  }
  return new KeyPearsError('discovery_unavailable', `discovery of ${entry.domain} failed`);
}

export interface ResolveDomainOptions {
  /**
   * Called before a lookup that will go to the network (not for cached answers or lookups
   * already in flight): lets a caller charge the work to whoever asked for it.
   */
  beforeNetwork?: () => Promise<void>;
}

/**
 * Which node serves a domain, with the PostgreSQL cache of docs/discovery.md §4: positive
 * answers for their TTL (60 s to 24 h), negative ones for 5 minutes, the previous answer for up
 * to 24 h when a refresh fails, and a rate-limited refetch of a node's keys after a rotation.
 */
@Injectable()
export class DiscoveryService {
  private readonly logger = new Logger(DiscoveryService.name);
  /** Concurrent lookups of one domain in this process share one network lookup. */
  private readonly inFlight = new Map<string, Promise<ResolvedDomain>>();
  /** Unexpired database answers, for RECENT_ANSWER_MS at most. */
  private readonly recent: ExpiringCache<CachedDiscovery>;

  constructor(
    private readonly cache: DiscoveryCacheRepository,
    private readonly clock: Clock,
    @Inject(DISCOVERY_CLIENT) private readonly client: DiscoveryClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: NodeMetrics,
  ) {
    this.recent = new ExpiringCache(RECENT_ANSWERS, () => clock.now().getTime());
  }

  /** Drops this process's copy of `domain`'s answer (all answers without a domain): the next lookup reads the database. */
  forgetRecent(domain?: string): void {
    if (domain === undefined) this.recent.clear();
    else this.recent.delete(domain);
  }

  /**
   * The node serving `domain` and its validated document.
   *
   * @throws KeyPearsError `invalid_domain`, `no_node_for_domain` (404), `discovery_unavailable`
   *   (503), or the misconfiguration or refusal code that explains the failure (502).
   */
  resolveDomain(input: string, options: ResolveDomainOptions = {}): Promise<ResolvedDomain> {
    return this.resolveParsed(parseDomain(input), options, true);
  }

  /** `recentOk`: whether this process's recent copy will do, or the database must be read. */
  private async resolveParsed(
    domain: string,
    options: ResolveDomainOptions,
    recentOk: boolean,
  ): Promise<ResolvedDomain> {
    const entry = (recentOk ? this.recent.get(domain) : undefined) ?? (await this.readEntry(domain));
    const now = this.clock.now();
    if (entry && now < entry.expiresAt) {
      this.metrics.discoveryLookup('cache');
      if (entry.status === 'found') return this.fromCache(entry);
      throw cachedError(entry);
    }
    const joined = this.inFlight.get(domain);
    if (joined) {
      this.metrics.discoveryLookup('joined');
      return joined;
    }
    await options.beforeNetwork?.();
    // Checked again after the await, and set with no await between the check and the set, so
    // that concurrent lookups of one domain share one network lookup.
    let pending = this.inFlight.get(domain);
    this.metrics.discoveryLookup(pending ? 'joined' : 'network');
    if (!pending) {
      pending = this.refresh(domain, entry).finally(() => this.inFlight.delete(domain));
      this.inFlight.set(domain, pending);
    }
    return pending;
  }

  private async readEntry(domain: string): Promise<CachedDiscovery | undefined> {
    const entry = await this.cache.find(domain);
    if (entry) {
      const ttlMs = Math.min(RECENT_ANSWER_MS, entry.expiresAt.getTime() - this.clock.now().getTime());
      this.recent.set(domain, entry, ttlMs);
    }
    return entry;
  }

  private fromCache(entry: CachedDiscovery): ResolvedDomain {
    return {
      domain: entry.domain,
      nodeUrl: entry.nodeUrl!,
      document: entry.document!,
      method: entry.method!,
      cached: true,
      stale: entry.lastError !== null,
      fetchedAt: entry.fetchedAt,
    };
  }

  private async refresh(domain: string, previous: CachedDiscovery | undefined): Promise<ResolvedDomain> {
    // Whatever the outcome, the database's answer changes: read it again next time.
    this.recent.delete(domain);
    try {
      const found = await this.client.discoverDomain(domain);
      const fetchedAt = this.clock.now();
      const expiresAt = new Date(fetchedAt.getTime() + found.ttlSeconds * 1000);
      await this.cache.saveFound(domain, {
        nodeUrl: found.nodeUrl,
        method: found.method,
        document: found.document,
        fetchedAt,
        expiresAt,
        staleUntil: new Date(expiresAt.getTime() + STALE_WINDOW_SECONDS * 1000),
      });
      this.metrics.discoveryResult('found');
      return { ...found, cached: false, stale: false, fetchedAt };
    } catch (e) {
      if (!(e instanceof KeyPearsError)) throw e;
      const now = this.clock.now();
      if (TRANSIENT.has(e.code)) {
        if (previous?.status === 'found' && now < previous.staleUntil) {
          this.logger.warn(`serving the previous answer for ${domain}: ${e.message}`);
          await this.cache.markStale(
            domain,
            errorRecord(e),
            new Date(now.getTime() + FAILED_REFRESH_RETRY_SECONDS * 1000),
          );
          this.metrics.discoveryResult('stale_served');
          return { ...this.fromCache(previous), stale: true };
        }
        this.metrics.discoveryResult('unavailable');
        throw e;
      }
      await this.cache.saveNegative(domain, {
        status: e.code === 'no_node_for_domain' ? 'none' : 'error',
        lastError: e.code === 'no_node_for_domain' ? null : errorRecord(e),
        fetchedAt: now,
        expiresAt: new Date(now.getTime() + NEGATIVE_TTL_SECONDS * 1000),
      });
      this.metrics.discoveryResult(e.code === 'no_node_for_domain' ? 'no_node' : 'misconfigured');
      throw e;
    }
  }

  /**
   * Refetches the document of the node serving `domain` (at most once a minute per node,
   * across replicas) and returns the key `keyId` if the node now lists it.
   */
  async refreshKeysOnUnknownKeyId(domain: string, keyId: string): Promise<NodeKey | undefined> {
    // From the database: another replica may have refetched the document already.
    const resolved = await this.resolveParsed(parseDomain(domain), {}, false);
    const known = resolved.document.keys.find((k) => k.keyId === keyId);
    if (known) return known;
    return (await this.refetchDocument(resolved))?.document.keys.find((k) => k.keyId === keyId);
  }

  /**
   * The node's document fetched again and stored for every domain it lists, or undefined when
   * another refetch of this node happened within KEY_REFETCH_INTERVAL_SECONDS (on any replica)
   * or this one failed.
   */
  private async refetchDocument(
    resolved: ResolvedDomain,
    options: ResolveDomainOptions = {},
  ): Promise<ResolvedDomain | undefined> {
    const now = this.clock.now();
    if (!(await this.cache.claimKeyRefetch(resolved.nodeUrl, now, KEY_REFETCH_INTERVAL_SECONDS * 1000))) {
      return undefined;
    }
    await options.beforeNetwork?.();
    try {
      const { document } = await this.client.fetchNodeDocument(resolved.nodeUrl);
      const fetchedAt = this.clock.now();
      await this.cache.replaceNodeDocument(resolved.nodeUrl, document, fetchedAt);
      // The node may serve other domains too.
      this.recent.clear();
      requireDomainListed(document, resolved.domain);
      return { ...resolved, document, fetchedAt, cached: false, stale: false };
    } catch (e) {
      if (!(e instanceof KeyPearsError)) throw e;
      this.logger.warn(`cannot refetch the document of ${resolved.nodeUrl}: ${e.message}`);
      return undefined;
    }
  }

  /** Whether `resolved`'s keys are recent enough to verify a signature with (KEY_TRUST_SECONDS). */
  private keysConfirmed(resolved: ResolvedDomain): boolean {
    return this.clock.now().getTime() - resolved.fetchedAt.getTime() <= KEY_TRUST_SECONDS * 1000;
  }

  /**
   * The public key a node serving `domain` signs with under `keyId`, valid now
   * (docs/discovery.md, "Key rotation and revocation"): listed, within `notBefore` and
   * `notAfter`, in a copy of the node's document fetched within KEY_TRUST_SECONDS. An unknown
   * key id or an older copy makes the node's document be fetched again (at most once a minute
   * per node); a copy that cannot be confirmed so is not used to verify, whatever the
   * discovery cache keeps serving for routing.
   *
   * @param expectedNode when given, the node that must serve `domain`, checked before the key.
   * @param options `beforeNetwork` is called before any network work the check needs.
   * @throws KeyPearsError `origin_not_authorized` (403) when `domain` is served by a node other
   *   than `expectedNode`, `unknown_key` (401) when the node does not publish such a valid key
   *   or its keys cannot be confirmed, or any `resolveDomain` error.
   */
  async nodeVerificationKey(
    domain: string,
    keyId: string,
    expectedNode?: string,
    options: ResolveDomainOptions = {},
  ): Promise<{ nodeUrl: string; key: NodeKey }> {
    const checkNode = (resolved: ResolvedDomain) => {
      if (expectedNode !== undefined && resolved.nodeUrl !== expectedNode) {
        throw new KeyPearsError('origin_not_authorized', `${domain} is not served by ${expectedNode}`);
      }
      return resolved;
    };
    const usable = (r: ResolvedDomain) => this.keysConfirmed(r) && r.document.keys.some((k) => k.keyId === keyId);
    let resolved = checkNode(await this.resolveDomain(domain, options));
    if (!usable(resolved)) {
      // From the database: another replica may have refetched the document already.
      resolved = checkNode(await this.resolveParsed(resolved.domain, options, false));
      if (!usable(resolved)) resolved = (await this.refetchDocument(resolved, options)) ?? resolved;
    }
    if (!this.keysConfirmed(resolved)) {
      throw new KeyPearsError(
        'unknown_key',
        `the keys of ${resolved.nodeUrl} could not be confirmed within the last ${KEY_TRUST_SECONDS} s`,
      );
    }
    const nowSeconds = Math.floor(this.clock.now().getTime() / 1000);
    const key = resolved.document.keys.find((k) => k.keyId === keyId);
    if (!key || nowSeconds < key.notBefore || (key.notAfter !== null && nowSeconds >= key.notAfter)) {
      throw new KeyPearsError('unknown_key', `${resolved.nodeUrl} publishes no valid key ${JSON.stringify(keyId)}`);
    }
    return { nodeUrl: resolved.nodeUrl, key };
  }

  /** True when this node itself serves `domain` (canonical). */
  isLocalDomain(domain: string): boolean {
    return this.config.domains.includes(domain);
  }
}
