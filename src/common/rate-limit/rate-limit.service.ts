/**
 * Fixed-window rate limits kept in PostgreSQL, so that every replica of a node counts against
 * the same budget. A window is `[k * windowSeconds, (k + 1) * windowSeconds)` in Unix time.
 */
import { Injectable, Logger } from '@nestjs/common';
import { KeyPearsError } from '../../protocol/errors.js';
import { CleanupWhenDue } from '../cleanup-when-due.js';
import { NodeMetrics } from '../../metrics/node-metrics.js';
import { Clock } from '../clock.js';
import { RateLimitRepository, type RateLimitHit } from './rate-limit.repository.js';

export interface RateLimit {
  /** Hits allowed per window. */
  limit: number;
  windowSeconds: number;
}

/** A bucket and its limit, for `consumeAll`. */
export interface RateLimitedBucket extends RateLimit {
  bucket: string;
  /** What is counted, for the error message ("too many <what>"). */
  what: string;
}

/** Windows older than this are deleted; it must exceed the longest window in use. */
const RETENTION_SECONDS = 86_400;
const CLEANUP_INTERVAL_MS = 60_000;

@Injectable()
export class RateLimitService {
  // Stale counters only cost space; the limit itself must keep working.
  private readonly cleanup = new CleanupWhenDue(
    CLEANUP_INTERVAL_MS,
    'rate-limit cleanup',
    new Logger(RateLimitService.name),
  );

  constructor(
    private readonly repository: RateLimitRepository,
    private readonly clock: Clock,
    private readonly metrics: NodeMetrics,
  ) {}

  /**
   * Counts one hit against `bucket`.
   *
   * @throws KeyPearsError `rate_limited` with `retryAfterSeconds` (until the window ends) when
   *   the window's budget is spent.
   */
  consume(bucket: string, limit: RateLimit, what = 'requests'): Promise<void> {
    return this.consumeAll([{ bucket, ...limit, what }]);
  }

  /**
   * Counts one hit against each bucket, all in one database statement; every hit is counted,
   * also when a bucket turns out to be over its limit.
   *
   * @param buckets distinct buckets.
   * @throws KeyPearsError `rate_limited` when any window's budget is spent, naming the first such
   *   bucket, with `retryAfterSeconds` until the last of the spent windows ends.
   */
  consumeAll(buckets: readonly RateLimitedBucket[]): Promise<void> {
    return this.consumeAllWith(buckets, (hits) => this.repository.increment(hits));
  }

  /**
   * `consumeAll`, with the counting done by `count` (for a caller that counts in a statement of
   * its own, such as the one that spends a request's nonce): it receives the hits, in the order
   * of `buckets`, and returns their windows' counts in that order.
   */
  async consumeAllWith(
    buckets: readonly RateLimitedBucket[],
    count: (hits: RateLimitHit[]) => Promise<number[]>,
  ): Promise<void> {
    const nowMs = this.clock.now().getTime();
    const windows = buckets.map(({ windowSeconds }) => {
      const windowMs = windowSeconds * 1000;
      return Math.floor(nowMs / windowMs) * windowMs + windowMs;
    });
    await this.cleanup.runIfDue(nowMs, () =>
      this.repository.deleteWindowsBefore(new Date(nowMs - RETENTION_SECONDS * 1000)),
    );
    const counts = await count(
      buckets.map((b, i) => ({ bucket: b.bucket, windowStart: new Date(windows[i] - b.windowSeconds * 1000) })),
    );
    const spent = buckets.flatMap((b, i) =>
      counts[i] > b.limit ? [{ bucket: b.bucket, what: b.what, windowEnd: windows[i] }] : [],
    );
    if (spent.length > 0) {
      for (const { bucket } of spent) this.metrics.rateLimited(bucket);
      const windowEnd = Math.max(...spent.map((s) => s.windowEnd));
      const retryAfterSeconds = Math.max(1, Math.ceil((windowEnd - nowMs) / 1000));
      throw new KeyPearsError('rate_limited', `too many ${spent[0].what}; retry in ${retryAfterSeconds} s`, {
        retryAfterSeconds,
      });
    }
  }
}
