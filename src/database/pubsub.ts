/**
 * Publish/subscribe between the processes that share the node's database: a payload published
 * on a channel reaches every subscriber of that channel, in this process at once and, on a
 * PostgreSQL server, in every other process through NOTIFY, which each process receives on one
 * LISTEN connection of its own. (The embedded database serves one process, which needs no
 * announcement.) A dropped listening connection is reopened with backoff; subscribers are told
 * when listening resumes, since payloads published meanwhile were lost.
 *
 * Delivery is at most once and best effort: a subscriber that must not miss a change also
 * looks again on its own from time to time.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DATABASE_CONNECTION, type DatabaseConnection } from './database-connection.js';
import { PG_POOL } from './pg-pool.js';

export interface Subscriber {
  /** A payload published on the channel, by this process or another one. */
  message(payload: string): void;
  /** Listening started again after a gap: payloads published meanwhile were not delivered. */
  resumed?(): void;
}

/** Channel names go into `LISTEN <channel>` as identifiers. */
const CHANNEL_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const LISTEN_RETRY_MIN_MS = 1_000;
const LISTEN_RETRY_MAX_MS = 30_000;

@Injectable()
export class DatabasePubSub implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DatabasePubSub.name);
  private readonly channels = new Map<string, Set<Subscriber>>();
  /** Tells this process's own notifications apart from other processes'. */
  private readonly instance = randomBytes(6).toString('base64url');
  private started = false;
  private closed = false;
  private listener: pg.Client | undefined;
  private retryMs = LISTEN_RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(DATABASE_CONNECTION) private readonly connection: DatabaseConnection,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  /** Listening starts with the application, on the channels subscribed by then. */
  onApplicationBootstrap(): void {
    this.started = true;
    if (this.crossProcess && this.channels.size > 0) void this.listen();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
  }

  /** Subscribes to `channel`; the returned function unsubscribes. */
  subscribe(channel: string, subscriber: Subscriber): () => void {
    if (!CHANNEL_RE.test(channel)) throw new Error(`invalid channel name ${JSON.stringify(channel)}`);
    let set = this.channels.get(channel);
    if (!set) {
      this.channels.set(channel, (set = new Set()));
      if (this.crossProcess && this.started) {
        if (this.listener) void this.listener.query(`LISTEN ${channel}`).catch(() => {});
        else if (!this.retryTimer) void this.listen();
      }
    }
    set.add(subscriber);
    return () => void set.delete(subscriber);
  }

  /**
   * Delivers `payload` to this process's subscribers of `channel`, then announces it to the
   * other processes. A failed announcement is logged, not thrown: the change itself is made.
   */
  async publish(channel: string, payload: string): Promise<void> {
    this.deliver(channel, payload);
    if (!this.crossProcess) return;
    await this.pool
      .query({ name: 'kp_notify', text: 'SELECT pg_notify($1, $2)', values: [channel, `${this.instance}:${payload}`] })
      .catch((e: unknown) => this.logger.warn(`cannot announce on ${channel}: ${(e as Error).message}`));
  }

  private get crossProcess(): boolean {
    return !this.connection.embedded && !this.closed;
  }

  private deliver(channel: string, payload: string): void {
    for (const subscriber of [...(this.channels.get(channel) ?? [])]) subscriber.message(payload);
  }

  /** One LISTEN connection per process, reopened with backoff when it drops. */
  private async listen(): Promise<void> {
    this.retryTimer = undefined;
    if (this.closed) return;
    const { connectionString, connectionTimeoutMillis } = this.connection.poolConfig;
    const client = new pg.Client({ connectionString, connectionTimeoutMillis });
    const reopen = (why: string) => {
      if (this.listener !== client || this.closed) return;
      this.listener = undefined;
      this.logger.warn(`database notifications stopped (${why}); reconnecting in ${this.retryMs} ms`);
      void client.end().catch(() => {});
      this.retryTimer = setTimeout(() => void this.listen(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, LISTEN_RETRY_MAX_MS);
    };
    this.listener = client;
    client.on('error', (e) => reopen(e.message));
    client.on('end', () => reopen('connection closed'));
    client.on('notification', (n) => this.onNotification(n.channel, n.payload));
    try {
      await client.connect();
      for (const channel of [...this.channels.keys()]) await client.query(`LISTEN ${channel}`);
      this.retryMs = LISTEN_RETRY_MIN_MS;
      // Whatever was published while not listening is lost: every subscriber looks again.
      for (const set of [...this.channels.values()]) for (const subscriber of [...set]) subscriber.resumed?.();
    } catch (e) {
      reopen((e as Error).message);
    }
  }

  private onNotification(channel: string, payload: string | undefined): void {
    if (!payload) return;
    const separator = payload.indexOf(':');
    if (separator < 0 || payload.slice(0, separator) === this.instance) return;
    this.deliver(channel, payload.slice(separator + 1));
  }
}
