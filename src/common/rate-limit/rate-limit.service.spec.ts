import { describe, expect, it } from '@jest/globals';
import type { Clock } from '../clock.js';
import type { RateLimitRepository } from './rate-limit.repository.js';
import { RateLimitService } from './rate-limit.service.js';

/** Counts in memory exactly as the SQL upsert does. */
class MemoryRateLimits {
  counts = new Map<string, number>();
  async increment(hits: Array<{ bucket: string; windowStart: Date }>): Promise<number[]> {
    return hits.map(({ bucket, windowStart }) => {
      const key = `${bucket}@${windowStart.toISOString()}`;
      const count = (this.counts.get(key) ?? 0) + 1;
      this.counts.set(key, count);
      return count;
    });
  }
  async deleteWindowsBefore(): Promise<number> {
    return 0;
  }
}

function service(startMs: number) {
  const clock = { ms: startMs, now: () => new Date(clock.ms), unixSeconds: () => Math.floor(clock.ms / 1000) };
  const repo = new MemoryRateLimits();
  return { clock, rl: new RateLimitService(repo as unknown as RateLimitRepository, clock as unknown as Clock) };
}

describe('RateLimitService', () => {
  it('allows the limit per window, then refuses until the window ends', async () => {
    const { clock, rl } = service(Date.UTC(2026, 0, 1, 0, 0, 10));
    const limit = { limit: 2, windowSeconds: 60 };
    await rl.consume('b', limit);
    await rl.consume('b', limit);
    await expect(rl.consume('b', limit)).rejects.toMatchObject({
      code: 'rate_limited',
      details: { retryAfterSeconds: 50 },
    });
    await rl.consume('other', limit);
    clock.ms = Date.UTC(2026, 0, 1, 0, 1, 0);
    await rl.consume('b', limit);
  });

  it('counts every bucket of a combined hit and waits for the last spent window', async () => {
    const { clock, rl } = service(Date.UTC(2026, 0, 1, 0, 0, 10));
    const both = [
      { bucket: 'minute', limit: 1, windowSeconds: 60, what: 'per minute' },
      { bucket: 'hour', limit: 1, windowSeconds: 3600, what: 'per hour' },
    ];
    await rl.consumeAll(both);
    await expect(rl.consumeAll(both)).rejects.toMatchObject({
      code: 'rate_limited',
      details: { retryAfterSeconds: 3590 },
    });
    clock.ms = Date.UTC(2026, 0, 1, 0, 1, 0);
    await expect(rl.consume('minute', both[0])).resolves.toBeUndefined();
  });
});
