/**
 * Long polling for a user's exchanges (`GET /api/v1/exchanges/inbox?wait=` and
 * `GET /api/v1/exchanges/{id}?wait=&status=`): a request waits until the account's exchanges
 * change, instead of the client asking again and again.
 *
 * A change made by this process wakes its waiters at once. On a PostgreSQL server the change
 * is also announced with NOTIFY on the `keypears_exchanges` channel, and every process LISTENs
 * on one connection of its own, so a waiter on one replica wakes for a change made on another.
 * (The embedded database serves one process, which needs no announcement.) Waiters also read
 * again every `RECHECK_MS`, so a lost notification (a dropped listening connection, which is
 * reopened) delays an answer by at most that long and never loses it.
 *
 * A waiting request holds no database connection. At most `MAX_WAITERS` requests wait at once
 * per process; beyond that a request is answered at once, as without `wait`.
 */
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DATABASE_CONNECTION, type DatabaseConnection } from '../database/database-connection.js';
import { PG_POOL } from '../database/pg-pool.js';

/** A waiter reads again this often even without a signal. */
export const RECHECK_MS = 5_000;
/** Waiting requests per process. */
export const MAX_WAITERS = 1_000;
const CHANNEL = 'keypears_exchanges';
const LISTEN_RETRY_MIN_MS = 1_000;
const LISTEN_RETRY_MAX_MS = 30_000;

/** How long a request may wait, and the signal that ends the wait early (the client went away). */
export interface WaitRequest {
  ms: number;
  signal?: AbortSignal;
}

export const NO_WAIT: WaitRequest = { ms: 0 };

@Injectable()
export class ExchangeSignals implements OnApplicationBootstrap, BeforeApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger(ExchangeSignals.name);
  private readonly waiters = new Map<string, Set<() => void>>();
  private count = 0;
  private closed = false;
  /** Tells this process's own notifications apart from other replicas'. */
  private readonly instance = randomBytes(6).toString('base64url');
  private listener: pg.Client | undefined;
  private retryMs = LISTEN_RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(DATABASE_CONNECTION) private readonly connection: DatabaseConnection,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.connection.embedded) void this.listen();
  }

  /** Answers every waiting request (with what it reads now), so that shutdown does not wait for them. */
  beforeApplicationShutdown(): void {
    this.closed = true;
    for (const set of this.waiters.values()) for (const wake of set) wake();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
  }

  /** Wakes the requests waiting on `accountId`, here and (on a PostgreSQL server) on every replica. */
  async changed(accountId: string): Promise<void> {
    this.wake(accountId);
    if (this.connection.embedded) return;
    await this.pool
      .query({
        name: 'kp_exchange_notify',
        text: 'SELECT pg_notify($1, $2)',
        values: [CHANNEL, `${this.instance}:${accountId}`],
      })
      .catch((e: unknown) => this.logger.warn(`cannot announce an exchange change: ${(e as Error).message}`));
  }

  /**
   * Reads with `read` until `ready` says the answer is worth sending, the wait is over, or the
   * client went away; then answers the last reading. Every reading after the first follows a
   * change signal for `accountId` or `RECHECK_MS` of quiet.
   */
  async waitFor<T>(
    accountId: string,
    read: () => Promise<T>,
    ready: (value: T) => boolean,
    wait: WaitRequest,
  ): Promise<T> {
    const deadline = Date.now() + wait.ms;
    for (;;) {
      // Subscribed before reading, so a change between the reading and the wait is not missed.
      const next = wait.ms > 0 ? this.subscribe(accountId) : undefined;
      try {
        const value = await read();
        const left = deadline - Date.now();
        if (ready(value) || left <= 0 || !next || wait.signal?.aborted) return value;
        await next.until(Math.min(left, RECHECK_MS), wait.signal);
      } finally {
        next?.cancel();
      }
    }
  }

  /** Requests waiting now (for tests and diagnostics). */
  get waiting(): number {
    return this.count;
  }

  private subscribe(
    accountId: string,
  ): { until(ms: number, signal?: AbortSignal): Promise<void>; cancel(): void } | undefined {
    if (this.closed || this.count >= MAX_WAITERS) return undefined;
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    let set = this.waiters.get(accountId);
    if (!set) this.waiters.set(accountId, (set = new Set()));
    set.add(wake);
    this.count++;
    let cancelled = false;
    const cancel = () => {
      if (cancelled) return;
      cancelled = true;
      this.count--;
      set.delete(wake);
      if (set.size === 0 && this.waiters.get(accountId) === set) this.waiters.delete(accountId);
    };
    return {
      cancel,
      until: (ms, signal) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(done, ms);
          signal?.addEventListener('abort', done, { once: true });
          void woken.then(done);
          function done() {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            resolve();
          }
        }),
    };
  }

  private wake(accountId: string): void {
    const set = this.waiters.get(accountId);
    if (set) for (const wake of [...set]) wake();
  }

  /** One LISTEN connection per process, reopened with backoff when it drops. */
  private async listen(): Promise<void> {
    if (this.closed) return;
    const { connectionString, connectionTimeoutMillis } = this.connection.poolConfig;
    const client = new pg.Client({ connectionString, connectionTimeoutMillis });
    const reopen = (why: string) => {
      if (this.listener !== client || this.closed) return;
      this.listener = undefined;
      this.logger.warn(`exchange notifications stopped (${why}); reconnecting in ${this.retryMs} ms`);
      void client.end().catch(() => {});
      this.retryTimer = setTimeout(() => void this.listen(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, LISTEN_RETRY_MAX_MS);
    };
    this.listener = client;
    client.on('error', (e) => reopen(e.message));
    client.on('end', () => reopen('connection closed'));
    client.on('notification', (n) => this.onNotification(n.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.retryMs = LISTEN_RETRY_MIN_MS;
      // Whatever changed while not listening: every waiter reads again.
      for (const accountId of [...this.waiters.keys()]) this.wake(accountId);
    } catch (e) {
      reopen((e as Error).message);
    }
  }

  private onNotification(payload: string | undefined): void {
    if (!payload) return;
    const separator = payload.indexOf(':');
    if (separator < 0 || payload.slice(0, separator) === this.instance) return;
    this.wake(payload.slice(separator + 1));
  }
}
