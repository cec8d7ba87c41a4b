import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { PG_POOL } from '../../database/pg-pool.js';
import { PrismaService } from '../../database/prisma.service.js';

/** One hit to count: a bucket and the start of its current window. */
export interface RateLimitHit {
  bucket: string;
  windowStart: Date;
}

@Injectable()
export class RateLimitRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  /**
   * Adds one hit to each bucket's window and returns the windows' counts in the order given,
   * atomically across replicas, in one statement. Rows are upserted in (bucket, window) order,
   * so concurrent calls lock shared rows in the same order and cannot deadlock.
   *
   * @param hits distinct buckets.
   */
  async increment(hits: readonly RateLimitHit[]): Promise<number[]> {
    const ordered = [...hits].sort(
      (a, b) =>
        (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0) || a.windowStart.getTime() - b.windowStart.getTime(),
    );
    // On every limited request: straight to the pool (docs/performance.md).
    const { rows } = await this.pool.query<{ bucket: string; count: number }>({
      name: 'kp_rate_limit_increment',
      text: `INSERT INTO rate_limit (bucket, window_start, count)
             SELECT bucket, window_start, 1
               FROM unnest($1::text[], $2::timestamptz[]) WITH ORDINALITY AS hit (bucket, window_start, n)
              ORDER BY n
             ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limit.count + 1
             RETURNING bucket, count`,
      values: [ordered.map((h) => h.bucket), ordered.map((h) => h.windowStart)],
    });
    const counts = new Map(rows.map((r) => [r.bucket, Number(r.count)]));
    return hits.map((h) => counts.get(h.bucket)!);
  }

  async deleteWindowsBefore(cutoff: Date): Promise<number> {
    const { count } = await this.prisma.rateLimit.deleteMany({ where: { windowStart: { lt: cutoff } } });
    return count;
  }
}
