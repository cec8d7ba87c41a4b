/**
 * Long polling for a user's exchanges (`GET /api/v1/exchanges/inbox?wait=` and
 * `GET /api/v1/exchanges/{id}?wait=&status=`): the requests waiting for an account's exchanges
 * to change, woken when they do, instead of the client asking again and again.
 *
 * A change is published on the `keypears_exchanges` channel of the database's publish/subscribe
 * (src/database/pubsub.ts), which wakes this process's waiters at once and, on a PostgreSQL
 * server, those of every other replica. Waiters also read again every `RECHECK_MS`, so a lost
 * announcement delays an answer by at most that long and never loses it.
 *
 * Waits are measured on the node's Clock (a test moves them with its own).
 *
 * A waiting request holds no database connection. At most `MAX_WAITERS` requests wait at once
 * per process; beyond that a request is answered at once, as without `wait`.
 */
import { BeforeApplicationShutdown, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { DatabasePubSub } from '../database/pubsub.js';

/** A waiter reads again this often even without a signal. */
export const RECHECK_MS = 5_000;
/** Waiting requests per process. */
export const MAX_WAITERS = 1_000;
const CHANNEL = 'keypears_exchanges';

/** How long a request may wait, and the signal that ends the wait early (the client went away). */
export interface WaitRequest {
  ms: number;
  signal?: AbortSignal;
}

export const NO_WAIT: WaitRequest = { ms: 0 };

@Injectable()
export class ExchangeWaiters implements BeforeApplicationShutdown, OnModuleDestroy {
  private readonly waiters = new Map<string, Set<() => void>>();
  private count = 0;
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly pubsub: DatabasePubSub,
    private readonly clock: Clock,
  ) {
    this.unsubscribe = pubsub.subscribe(CHANNEL, {
      message: (accountId) => this.wake(accountId),
      // Whatever changed while announcements were lost: every waiter reads again.
      resumed: () => {
        for (const accountId of [...this.waiters.keys()]) this.wake(accountId);
      },
    });
  }

  /** Answers every waiting request (with what it reads now), so that shutdown does not wait for them. */
  beforeApplicationShutdown(): void {
    this.closed = true;
    for (const set of this.waiters.values()) for (const wake of set) wake();
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /** Wakes the requests waiting on `accountId`, here and (on a PostgreSQL server) on every replica. */
  changed(accountId: string): Promise<void> {
    return this.pubsub.publish(CHANNEL, accountId);
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
    const deadline = this.clock.now().getTime() + wait.ms;
    for (;;) {
      // Subscribed before reading, so a change between the reading and the wait is not missed.
      const next = wait.ms > 0 ? this.subscribe(accountId) : undefined;
      try {
        const value = await read();
        const left = deadline - this.clock.now().getTime();
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
      until: async (ms, signal) => {
        // Ends at the first of: `ms` of the clock's time, a wake-up, the client going away.
        const ended = new AbortController();
        const end = () => ended.abort();
        signal?.addEventListener('abort', end, { once: true });
        void woken.then(end);
        try {
          await this.clock.sleep(ms, ended.signal);
        } finally {
          signal?.removeEventListener('abort', end);
          end();
        }
      },
    };
  }

  private wake(accountId: string): void {
    const set = this.waiters.get(accountId);
    if (set) for (const wake of [...set]) wake();
  }
}
