/**
 * The embedded PostgreSQL used when DATABASE_URL is unset: PGlite (PostgreSQL compiled to
 * WebAssembly) persisted under the data directory, served over the PostgreSQL wire protocol
 * by pglite-socket on a Unix socket inside that owner-only directory. The node then talks to
 * it through exactly the same `pg` + Prisma adapter path as to a real server.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { PoolConfig } from 'pg';
import { KeyPearsError } from '../protocol/errors.js';

/** pg looks for `<host>/.s.PGSQL.<port>` when `host` is a directory. */
const SOCKET_PORT = 5432;

/**
 * PostgreSQL's shared buffers inside PGlite's WebAssembly memory. Its default of 128 MB is
 * allocated (and so touched) at start-up and never returned; an embedded node's database is
 * small, and the operating system's page cache holds its files anyway. Idle RSS of a node on
 * the embedded database: 323 MB with 128 MB, see docs/performance.md ("Idle memory on the
 * embedded database") for the figures with this setting.
 */
const SHARED_BUFFERS = '8MB';

/**
 * Runs PGlite's initdb for a new data directory in a child process of its own. In this process
 * it would leave the initdb instance's WebAssembly memory (about 350 MB) in the heap until V8
 * happened to collect it, which an idle node may not do for hours: a node's first start
 * idled at 680 MB instead of under 200.
 */
async function initializeDataDirectory(pgdata: string): Promise<void> {
  if (await exists(path.join(pgdata, 'PG_VERSION'))) return;
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script =
    'const { PGlite } = require(process.argv[1]);' +
    'PGlite.create(process.argv[2]).then((db) => db.close()).catch((e) => { console.error(e); process.exit(1); });';
  try {
    await promisify(execFile)(process.execPath, ['-e', script, pglite, pgdata]);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new KeyPearsError('invalid_config', `KEYPEARS_DATA_DIR: could not create the database: ${stderr || error}`);
  }
}

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

/** The longest a query waits for the embedded database's one connection. */
const EMBEDDED_QUEUE_TIMEOUT_MS = 30_000;

/** The pool settings of the embedded database served on `socketDir`. */
const socketPoolConfig = (socketDir: string): PoolConfig => ({
  host: socketDir,
  port: SOCKET_PORT,
  user: 'postgres',
  database: 'postgres',
  max: 1,
  connectionTimeoutMillis: EMBEDDED_QUEUE_TIMEOUT_MS,
});

/**
 * The embedded database of a node running on `dataDir`, as one more client of its socket
 * (what the operator commands use while the node runs), or undefined when no node serves it.
 * PGlite has one backend; its socket server runs one client's transaction at a time, so the
 * operator's statements never interleave with the node's.
 */
export async function attachEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase | undefined> {
  const socketDir = path.join(dataDir, 'run');
  if (!(await socketAnswers(path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`)))) return undefined;
  return { poolConfig: socketPoolConfig(socketDir), stop: async () => {} };
}

export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const socketDir = path.join(dataDir, 'run');
  try {
    await mkdir(socketDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new KeyPearsError(
      'invalid_config',
      `KEYPEARS_DATA_DIR ${dataDir}: cannot create it (${(e as Error).message})`,
    );
  }
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

  const pgdata = path.join(dataDir, 'pgdata');
  await initializeDataDirectory(pgdata);
  const db = await PGlite.create(pgdata, {
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`],
  });
  // The pool below holds one connection, but pg discards a connection after a failed query
  // and opens a new one before the server has processed the old one's close: with a limit of
  // one, that reconnect is refused and the next query fails. A few slots cover the overlap;
  // queries still run one at a time on PGlite's single backend. Operator commands run while
  // the node does connect here too (attachEmbeddedDatabase).
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 6 });
  await server.start();

  return {
    // One connection: PGlite has a single backend, and transactions from several pooled
    // connections would interleave on it. Requests queue for it; one that waits longer than
    // the deadline fails (503 database_unavailable) instead of waiting for ever.
    poolConfig: socketPoolConfig(socketDir),
    async stop() {
      await server.stop();
      await db.close();
      await rm(socketPath, { force: true });
    },
  };
}
