/**
 * The node's one PostgreSQL connection pool. Prisma runs on it through its pg adapter, and
 * repositories may use it directly for the few hottest statements, where Prisma's client-side
 * query machinery costs more than the query itself (docs/performance.md). One pool keeps the
 * connection budget (and the embedded database's single backend) shared.
 *
 * Those hot statements are named (`{ name, text, values }`), so that each connection of a real
 * server prepares them once and the server does not parse and plan them on every request. The
 * embedded database serves all its socket connections from one backend, where the names of two
 * connections would collide, so there they are sent unnamed.
 */
import pg from 'pg';
import type { DatabaseConnection } from './database-connection.js';

export const PG_POOL = Symbol('PG_POOL');

export function createPgPool(connection: DatabaseConnection): pg.Pool {
  const pool = new pg.Pool(connection.poolConfig);
  if (connection.embedded) {
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    pool.query = ((config: unknown, ...rest: unknown[]) =>
      query(isNamed(config) ? { ...config, name: undefined } : config, ...rest)) as typeof pool.query;
  }
  return pool;
}

const isNamed = (config: unknown): config is pg.QueryConfig =>
  typeof config === 'object' && config !== null && typeof (config as pg.QueryConfig).name === 'string';
