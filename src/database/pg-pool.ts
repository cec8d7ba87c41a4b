/**
 * The node's one PostgreSQL connection pool. Prisma runs on it through its pg adapter, and
 * repositories may use it directly for the few hottest reads, where Prisma's client-side
 * query machinery costs more than the query itself (docs/performance.md). One pool keeps the
 * connection budget (and the embedded database's single backend) shared. Statements through it
 * stay unnamed: the embedded database's connections share one backend, where prepared statement
 * names would collide.
 */
import pg from 'pg';
import type { DatabaseConnection } from './database-connection.js';

export const PG_POOL = Symbol('PG_POOL');

export const createPgPool = (connection: DatabaseConnection): pg.Pool => new pg.Pool(connection.poolConfig);
