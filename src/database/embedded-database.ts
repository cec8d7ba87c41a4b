/**
 * The embedded PostgreSQL used when DATABASE_URL is unset: PGlite (PostgreSQL compiled to
 * WebAssembly) persisted under the data directory, served over the PostgreSQL wire protocol
 * by pglite-socket on a Unix socket inside that owner-only directory. The node then talks to
 * it through exactly the same `pg` + Prisma adapter path as to a real server.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { PoolConfig } from 'pg';
import { KeyPearsError } from '../protocol/errors.js';

/** pg looks for `<host>/.s.PGSQL.<port>` when `host` is a directory. */
const SOCKET_PORT = 5432;

export interface EmbeddedDatabase {
  poolConfig: PoolConfig;
  stop(): Promise<void>;
}

function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const socketDir = path.join(dataDir, 'run');
  await mkdir(socketDir, { recursive: true, mode: 0o700 });
  const socketPath = path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`);
  if (Buffer.byteLength(socketPath) > 100) {
    throw new KeyPearsError('invalid_config', `KEYPEARS_DATA_DIR: path too long for a Unix socket (${socketPath})`);
  }

  // A live socket means another node owns this data directory; PGlite must have one owner.
  if (await exists(socketPath)) {
    if (await socketAnswers(socketPath)) {
      throw new KeyPearsError('data_dir_in_use', `KEYPEARS_DATA_DIR ${dataDir} is in use by another running node`);
    }
    await rm(socketPath, { force: true });
  }

  const db = await PGlite.create(path.join(dataDir, 'pgdata'));
  // The pool below holds one connection, but pg discards a connection after a failed query
  // and opens a new one before the server has processed the old one's close: with a limit of
  // one, that reconnect is refused and the next query fails. A few slots cover the overlap;
  // queries still run one at a time on PGlite's single backend.
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 4 });
  await server.start();

  return {
    // One connection: PGlite has a single backend, and transactions from several pooled
    // connections would interleave on it.
    poolConfig: { host: socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres', max: 1 },
    async stop() {
      await server.stop();
      await db.close();
      await rm(socketPath, { force: true });
    },
  };
}
