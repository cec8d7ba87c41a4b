import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { countHitsSql, countsOf, inLockOrder, type RateLimitHit } from '../common/rate-limit/rate-limit.repository.js';
import { PG_ADMISSION_POOL } from '../database/pg-pool.js';
import { PrismaService } from '../database/prisma.service.js';

/** What spending a nonce found: whether it was fresh, and the counts of the hits counted with it. */
export interface SpentNonce {
  fresh: boolean;
  /** The windows' counts, in the order of the hits; empty when the nonce was not fresh. */
  counts: number[];
}

const INSERT_NONCE = `INSERT INTO request_nonce (scope, nonce, expires_at) VALUES ($1, $2, $3)
                      ON CONFLICT (scope, nonce) DO NOTHING RETURNING nonce`;

/** Nonces of signed requests, per scope (`client`, `federation`), kept until they can no longer verify. */
@Injectable()
export class NonceRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_ADMISSION_POOL) private readonly pool: pg.Pool,
  ) {}

  /**
   * Records a nonce, atomically across replicas; not fresh when it was already recorded (a
   * replay). Only when it is fresh, the same statement adds one hit to each of `hits` (distinct
   * rate-limit buckets), so that admitting a request costs one round trip.
   */
  async remember(
    scope: string,
    nonce: string,
    expiresAt: Date,
    hits: readonly RateLimitHit[] = [],
  ): Promise<SpentNonce> {
    // On every signed request: straight to the pool (docs/performance.md).
    if (hits.length === 0) {
      const { rowCount } = await this.pool.query({
        name: 'kp_nonce_insert',
        text: INSERT_NONCE,
        values: [scope, nonce, expiresAt],
      });
      return { fresh: rowCount === 1, counts: [] };
    }
    const { rows } = await this.pool.query<{ fresh: boolean; bucket: string | null; count: number | null }>({
      name: 'kp_nonce_insert_counted',
      text: `WITH spent AS (${INSERT_NONCE}),
                  counted AS (${countHitsSql('$4', '$5', 'EXISTS (SELECT 1 FROM spent)')})
             SELECT EXISTS (SELECT 1 FROM spent) AS fresh, counted.bucket, counted.count
               FROM (VALUES (1)) AS one LEFT JOIN counted ON true`,
      values: [scope, nonce, expiresAt, ...inLockOrder(hits)],
    });
    if (!rows[0].fresh) return { fresh: false, counts: [] };
    return { fresh: true, counts: countsOf(hits, rows as Array<{ bucket: string; count: number }>) };
  }

  async deleteExpired(now: Date): Promise<number> {
    const { count } = await this.prisma.requestNonce.deleteMany({ where: { expiresAt: { lt: now } } });
    return count;
  }
}
