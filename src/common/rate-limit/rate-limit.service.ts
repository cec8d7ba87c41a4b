/**
 * Fixed-window rate limits kept in PostgreSQL, so that every replica of a node counts against
 * the same budget. A window is `[k * windowSeconds, (k + 1) * windowSeconds)` in Unix time.
 */
import { Injectable, Logger } from '@nestjs/common';
import { KeyPearsError } from '../../protocol/errors.js';
import { Clock } from '../clock.js';
import { RateLimitRepository } from './rate-limit.repository.js';

export interface RateLimit {
  /** Hits allowed per window. */
  limit: number;
  windowSeconds: number;
}

/** Windows older than this are deleted; it must exceed the longest window in use. */
const RETENTION_SECONDS = 86_400;
const CLEANUP_INTERVAL_MS = 60_000;

@Injectable()
export class RateLimitService {
  private readonly logger = new Logger(RateLimitService.name);
  private lastCleanup = 0;

  constructor(
    private readonly repository: RateLimitRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * Counts one hit against `bucket`.
   *
   * @throws KeyPearsError `rate_limited` with `retryAfterSeconds` (until the window ends) when
   *   the window's budget is spent.
   */
  async consume(bucket: string, { limit, windowSeconds }: RateLimit, what = 'requests'): Promise<void> {
    const nowMs = this.clock.now().getTime();
    const windowMs = windowSeconds * 1000;
    const windowStart = Math.floor(nowMs / windowMs) * windowMs;
    await this.cleanupIfDue(nowMs);
    const count = await this.repository.increment(bucket, new Date(windowStart));
    if (count > limit) {
      const retryAfterSeconds = Math.max(1, Math.ceil((windowStart + windowMs - nowMs) / 1000));
      throw new KeyPearsError('rate_limited', `too many ${what}; retry in ${retryAfterSeconds} s`, {
        retryAfterSeconds,
      });
    }
  }

  private async cleanupIfDue(nowMs: number): Promise<void> {
    if (nowMs - this.lastCleanup < CLEANUP_INTERVAL_MS) return;
    this.lastCleanup = nowMs;
    try {
      await this.repository.deleteWindowsBefore(new Date(nowMs - RETENTION_SECONDS * 1000));
    } catch (e) {
      // Stale counters only cost space; the limit itself must keep working.
      this.logger.warn(`rate-limit cleanup failed: ${(e as Error).message}`);
    }
  }
}
