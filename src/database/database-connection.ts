/** Chooses the database for a config: the PostgreSQL at DATABASE_URL or the embedded one. */
import type { PoolConfig } from 'pg';
import type { AppConfig } from '../config/config.js';

export interface DatabaseConnection {
  poolConfig: PoolConfig;
  embedded: boolean;
  close(): Promise<void>;
}

export const DATABASE_CONNECTION = Symbol('DATABASE_CONNECTION');

/** Pool size per node process on a real server. */
const POOL_SIZE = 10;
/**
 * Client-side deadlines on a real server: to connect (or wait for a free connection of the
 * pool), and for any one query to answer, so a server that stops answering (stopped,
 * partitioned) fails requests with `database_unavailable` instead of holding them.
 */
const CONNECT_TIMEOUT_MS = 5000;
const QUERY_TIMEOUT_MS = 30_000;

/**
 * The node's database. With `attach` (the operator commands), an embedded database that a
 * running node serves is used through that node's socket instead of being refused
 * (`data_dir_in_use`), so invites can be minted while the node runs.
 */
export async function openDatabase(config: AppConfig, opts: { attach?: boolean } = {}): Promise<DatabaseConnection> {
  if (config.databaseUrl !== undefined) {
    return {
      poolConfig: {
        connectionString: config.databaseUrl,
        max: POOL_SIZE,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        query_timeout: QUERY_TIMEOUT_MS,
      },
      embedded: false,
      close: async () => {},
    };
  }
  // Loaded only here: PGlite and its socket server are not needed with a PostgreSQL server.
  const { attachEmbeddedDatabase, startEmbeddedDatabase } = await import('./embedded-database.js');
  const embedded =
    (opts.attach ? await attachEmbeddedDatabase(config.dataDir) : undefined) ??
    (await startEmbeddedDatabase(config.dataDir));
  return { poolConfig: embedded.poolConfig, embedded: true, close: () => embedded.stop() };
}
