import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { DatabasePubSub } from '../database/pubsub.js';
import { ed25519Keygen, ed25519Sign, sha256 } from '../protocol/crypto.js';
import { DISCOVERY_VERSION, type NodeDocument, type NodeKey } from '../protocol/discovery.js';
import { toB64u } from '../protocol/encoding.js';
import { MAX_BATCH_BYTES, MAX_BATCH_MESSAGES } from '../protocol/exchange-api.js';
import { KeyPearsError } from '../protocol/errors.js';
import { NODE_VERSION } from '../version.js';
import { NodeKeyRepository, type StoredNodeKey } from './node-key.repository.js';

/** The key this node signs with now. */
export interface SigningKey {
  keyId: string;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Default time a rotated-out key stays published and valid for verification. */
export const DEFAULT_OVERLAP_SECONDS = 7 * 24 * 3600;
/**
 * How long the key list is reused from memory before the database is asked again. A rotation
 * is announced to every replica at once (NODE_KEYS_CHANNEL); this bounds the time a replica
 * that missed the announcement (its notification connection down) keeps the old list.
 */
const KEY_CACHE_MS = 30_000;
/** Announces a change of the node keys to every process sharing the database. */
export const NODE_KEYS_CHANNEL = 'keypears_node_keys';

/** A key id derived from the public key: stable, unique in practice, safe in headers. */
export const nodeKeyId = (publicKey: Uint8Array): string => toB64u(sha256(publicKey)).slice(0, 22);

const unix = (d: Date): number => Math.floor(d.getTime() / 1000);

const published = (k: StoredNodeKey): NodeKey => ({
  keyId: k.keyId,
  alg: 'ed25519',
  publicKey: toB64u(k.publicKey),
  notBefore: unix(k.notBefore),
  notAfter: k.notAfter ? unix(k.notAfter) : null,
});

/**
 * The node's Ed25519 signing keys (docs/discovery.md §1, docs/operators.md "The node signing key"): created on first start, kept in the database (shared by replicas),
 * rotated by the operator with an overlap during which the old key is still published.
 */
@Injectable()
export class NodeKeysService implements OnModuleInit, OnModuleDestroy {
  private cache: { keys: StoredNodeKey[]; at: number } | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly repository: NodeKeyRepository,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly pubsub: DatabasePubSub,
  ) {
    // A rotation anywhere (another replica, the admin command) drops this process's copy.
    this.unsubscribe = pubsub.subscribe(NODE_KEYS_CHANNEL, {
      message: () => (this.cache = undefined),
      resumed: () => (this.cache = undefined),
    });
  }

  async onModuleInit(): Promise<void> {
    await this.ensureCurrentKey();
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /** Creates the first key if there is none; safe when several replicas start at once. */
  async ensureCurrentKey(): Promise<void> {
    await this.repository.insertIfNoCurrentKey(this.generate(this.clock.now()));
    this.cache = undefined;
  }

  private generate(notBefore: Date): StoredNodeKey {
    const { publicKey, secretKey } = ed25519Keygen();
    return { keyId: nodeKeyId(publicKey), publicKey, secretKey, notBefore, notAfter: null };
  }

  /**
   * Unexpired keys, newest first: cached until a rotation is announced, for 30 s at most. A key
   * past its end is dropped from the cached list at once, whatever the cache's age.
   */
  private async keys(): Promise<StoredNodeKey[]> {
    const now = this.clock.now();
    if (this.cache && now.getTime() - this.cache.at < KEY_CACHE_MS) {
      return this.cache.keys.filter((k) => k.notAfter === null || k.notAfter > now);
    }
    const keys = await this.repository.listUnexpired(now);
    this.cache = { keys, at: now.getTime() };
    return keys;
  }

  /**
   * The key to sign with now: the newest key without an end.
   *
   * @throws KeyPearsError `internal_error` if there is none (start-up creates one).
   */
  async currentKey(): Promise<SigningKey> {
    const now = this.clock.now();
    const current = (await this.keys()).find((k) => k.notAfter === null && k.notBefore <= now);
    if (!current) throw new KeyPearsError('internal_error', 'the node has no current signing key');
    return { keyId: current.keyId, publicKey: current.publicKey, secretKey: current.secretKey };
  }

  /** Signs `message` with the current key. */
  async sign(message: Uint8Array): Promise<{ keyId: string; signature: Uint8Array }> {
    const key = await this.currentKey();
    return { keyId: key.keyId, signature: ed25519Sign(message, key.secretKey) };
  }

  /** The keys as published in the node document. */
  async publishedKeys(): Promise<NodeKey[]> {
    return (await this.keys()).map(published);
  }

  /** This node's document (`/.well-known/keypears.json`). */
  async nodeDocument(): Promise<NodeDocument> {
    return {
      protocol: DISCOVERY_VERSION,
      node: this.config.publicUrl,
      domains: this.config.domains,
      keys: await this.publishedKeys(),
      software: { name: 'keypears-node', version: NODE_VERSION },
      batch: { maxMessages: MAX_BATCH_MESSAGES, maxBytes: MAX_BATCH_BYTES },
    };
  }

  /**
   * Starts signing with a new key; the previous one stays published and valid for
   * `overlapSeconds` so peers holding a cached document keep verifying.
   */
  async rotate(overlapSeconds = DEFAULT_OVERLAP_SECONDS): Promise<{ current: NodeKey; retired: NodeKey[] }> {
    if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > 365 * 86_400) {
      throw new KeyPearsError('invalid_request', 'overlap must be between 0 seconds and 365 days');
    }
    const now = this.clock.now();
    const next = this.generate(now);
    const retired = await this.repository.rotate(next, new Date(now.getTime() + overlapSeconds * 1000));
    this.cache = undefined;
    await this.pubsub.publish(NODE_KEYS_CHANNEL, 'rotated');
    return { current: published(next), retired: retired.map(published) };
  }
}
