import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { PG_POOL } from '../database/pg-pool.js';
import { PrismaService } from '../database/prisma.service.js';

/** Nonces of signed requests, per scope (`client`, `federation`), kept until they can no longer verify. */
@Injectable()
export class NonceRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  /** Records a nonce; false when it was already recorded (a replay), atomically across replicas. */
  async remember(scope: string, nonce: string, expiresAt: Date): Promise<boolean> {
    // On every signed request: straight to the pool (docs/performance.md).
    const { rowCount } = await this.pool.query({
      name: 'kp_nonce_insert',
      text: `INSERT INTO request_nonce (scope, nonce, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (scope, nonce) DO NOTHING RETURNING nonce`,
      values: [scope, nonce, expiresAt],
    });
    return rowCount === 1;
  }

  async deleteExpired(now: Date): Promise<number> {
    const { count } = await this.prisma.requestNonce.deleteMany({ where: { expiresAt: { lt: now } } });
    return count;
  }
}
