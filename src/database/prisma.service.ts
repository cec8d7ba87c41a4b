import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { PG_ADMISSION_POOL, PG_POOL } from './pg-pool.js';

/**
 * Limits of an interactive transaction (docs/operators.md, "The database"): how long it may
 * wait for a connection of the pool, and how long it may run. Prisma's defaults (2 s and 5 s)
 * are too short for the embedded database's single connection under load, where transactions
 * queue; past these limits the transaction fails with P2028, answered 503
 * `database_unavailable`, rather than holding a request for ever.
 */
export const TRANSACTION_MAX_WAIT_MS = 10_000;
export const TRANSACTION_TIMEOUT_MS = 15_000;

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
    super({
      adapter: new PrismaPg(pool),
      transactionOptions: { maxWait: TRANSACTION_MAX_WAIT_MS, timeout: TRANSACTION_TIMEOUT_MS },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
    // The pools outlive Prisma's adapter (repositories read through them too): end them last.
    for (const pool of new Set([this.admissionPool, this.pool])) if (!pool.ended) await pool.end();
  }
}
