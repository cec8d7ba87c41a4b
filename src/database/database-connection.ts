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

export async function openDatabase(config: AppConfig): Promise<DatabaseConnection> {
  if (config.databaseUrl !== undefined) {
    return {
      poolConfig: { connectionString: config.databaseUrl, max: POOL_SIZE, connectionTimeoutMillis: 5000 },
      embedded: false,
      close: async () => {},
    };
  }
  // Loaded only here: PGlite and its socket server are not needed with a PostgreSQL server.
  const { startEmbeddedDatabase } = await import('./embedded-database.js');
  const embedded = await startEmbeddedDatabase(config.dataDir);
  return { poolConfig: embedded.poolConfig, embedded: true, close: () => embedded.stop() };
}
