/**
 * The node's PostgreSQL connection pools. Prisma runs on the main pool through its pg adapter,
 * and repositories may use it directly for the few hottest statements, where Prisma's
 * client-side query machinery costs more than the query itself (docs/performance.md). The
 * second pool (PG_ADMISSION_POOL) only spends nonces and counts requests. On the embedded
 * database both are one pool, which keeps its single backend shared.
 *
 * Those hot statements are named (`{ name, text, values }`), so that each connection of a real
 * server prepares them once and the server does not parse and plan them on every request. The
 * embedded database serves all its socket connections from one backend, where the names of two
 * connections would collide, so there they are sent unnamed.
 */
import { Logger } from '@nestjs/common';
import pg from 'pg';
import type { DatabaseConnection } from './database-connection.js';

export const PG_POOL = Symbol('PG_POOL');

/**
 * Connections for the bookkeeping that admits a signed request (its nonce, and the rate-limit
 * counters counted with it), committed asynchronously: the commit does not wait for the WAL
 * flush, so a hot counter's row lock is not held across one. This loses nothing that matters:
 * WAL is flushed in order, so any later synchronous commit of the same request (a claimed
 * prekey, a stored exchange) makes its nonce durable first, and a crash can only forget the
 * nonces of requests that changed nothing durable (docs/operators.md, "The database").
 * The embedded database has a single backend: there it is the main pool.
 */
export const PG_ADMISSION_POOL = Symbol('PG_ADMISSION_POOL');

const logger = new Logger('Database');

/**
 * An idle connection the server closes (a restart, an administrator's terminate, a dropped
 * network) is reported on its pool; without a listener that report would end the process.
 * The pool discards the connection and opens a new one when next needed.
 */
function keepAlive(pool: pg.Pool, name: string): pg.Pool {
  pool.on('error', (e) => logger.warn(`${name} pool: an idle connection failed: ${e.message}`));
  return pool;
}

export function createPgPool(connection: DatabaseConnection): pg.Pool {
  const pool = keepAlive(new pg.Pool(connection.poolConfig), 'main');
  if (connection.embedded) {
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    pool.query = ((config: unknown, ...rest: unknown[]) =>
      query(isNamed(config) ? { ...config, name: undefined } : config, ...rest)) as typeof pool.query;
  }
  return pool;
}

export function createAdmissionPool(connection: DatabaseConnection, main: pg.Pool): pg.Pool {
  if (connection.embedded) return main;
  const pool = keepAlive(new pg.Pool(connection.poolConfig), 'admission');
  // Queued on the new connection ahead of any query the pool hands it.
  pool.on('connect', (client) => void client.query('SET synchronous_commit = off').catch(() => {}));
  return pool;
}

const isNamed = (config: unknown): config is pg.QueryConfig =>
  typeof config === 'object' && config !== null && typeof (config as pg.QueryConfig).name === 'string';
