import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { PG_ADMISSION_POOL, PG_POOL } from './pg-pool.js';

/**
 * The one Prisma client of the node, on the node's one pool. Only repositories inject it.
 * It and the pools are closed last, at application shutdown: after the HTTP server has let
 * the requests in progress finish and the workers have stopped, which may all still query.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    @Inject(PG_ADMISSION_POOL) private readonly admissionPool: pg.Pool,
  ) {
    super({ adapter: new PrismaPg(pool) });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
    // The pools outlive Prisma's adapter (repositories read through them too): end them last.
    for (const pool of new Set([this.admissionPool, this.pool])) if (!pool.ended) await pool.end();
  }
}
