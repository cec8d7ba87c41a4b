import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { NodeMetrics } from '../metrics/node-metrics.js';
import { PG_ADMISSION_POOL, PG_POOL } from './pg-pool.js';

/** Reports the pools' use at each metrics scrape (one pool on the embedded database). */
@Injectable()
export class PoolMetrics {
  constructor(metrics: NodeMetrics, @Inject(PG_POOL) main: pg.Pool, @Inject(PG_ADMISSION_POOL) admission: pg.Pool) {
    metrics.observePool('main', main);
    if (admission !== main) metrics.observePool('admission', admission);
  }
}
