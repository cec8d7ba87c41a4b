import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { PG_POOL } from '../../database/pg-pool.js';
import { PrismaService } from '../../database/prisma.service.js';

/** One hit to count: a bucket and the start of its current window. */
export interface RateLimitHit {
  bucket: string;
  windowStart: Date;
}

/**
 * The upsert that adds one hit to each bucket's window (from the parameters `buckets`, a
 * text[], and `windows`, a timestamptz[]) and returns `bucket, count`. Rows are upserted in
 * the order given, which `inLockOrder` makes (bucket, window) order, so concurrent statements
 * lock shared rows in the same order and cannot deadlock. `where` may add a condition.
 */
export function countHitsSql(buckets: string, windows: string, where = 'true'): string {
  return `INSERT INTO rate_limit (bucket, window_start, count)
          SELECT bucket, window_start, 1
            FROM unnest(${buckets}::text[], ${windows}::timestamptz[]) WITH ORDINALITY AS hit (bucket, window_start, n)
           WHERE ${where}
           ORDER BY n
          ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limit.count + 1
          RETURNING bucket, count`;
}

/** The hits sorted for `countHitsSql`, as its two array parameters. */
export function inLockOrder(hits: readonly RateLimitHit[]): [string[], Date[]] {
  const ordered = [...hits].sort(
    (a, b) =>
      (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0) || a.windowStart.getTime() - b.windowStart.getTime(),
  );
  return [ordered.map((h) => h.bucket), ordered.map((h) => h.windowStart)];
}

/** The counts `countHitsSql` returned, in the order of `hits` (distinct buckets). */
export function countsOf(hits: readonly RateLimitHit[], rows: ReadonlyArray<{ bucket: string; count: number }>) {
  const counts = new Map(rows.map((r) => [r.bucket, Number(r.count)]));
  return hits.map((h) => counts.get(h.bucket)!);
}

@Injectable()
export class RateLimitRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  /**
   * Adds one hit to each bucket's window and returns the windows' counts in the order given,
   * atomically across replicas, in one statement.
   *
   * @param hits distinct buckets.
   */
  async increment(hits: readonly RateLimitHit[]): Promise<number[]> {
    // On every limited request: straight to the pool (docs/performance.md).
    const { rows } = await this.pool.query<{ bucket: string; count: number }>({
      name: 'kp_rate_limit_increment',
      text: countHitsSql('$1', '$2'),
      values: inLockOrder(hits),
    });
    return countsOf(hits, rows);
  }

  async deleteWindowsBefore(cutoff: Date): Promise<number> {
    const { count } = await this.prisma.rateLimit.deleteMany({ where: { windowStart: { lt: cutoff } } });
    return count;
  }
}
