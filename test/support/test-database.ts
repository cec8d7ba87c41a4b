/**
 * A fresh, migrated database for one test file (or one node in an end-to-end test): a new
 * database on the PostgreSQL server of DATABASE_URL, or a copy of the migrated embedded
 * template. `config` is what to merge into the node's AppConfig.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from '@jest/globals';
import pg from 'pg';
import { startEmbeddedDatabase } from '../../src/database/embedded-database.js';
import { migrate } from '../../src/database/migrator.js';

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

/**
 * Builds the migrated embedded template once (initdb inside WebAssembly takes seconds);
 * a lock directory keeps parallel Jest workers from building it twice.
 */
async function ensureTemplate(template: string): Promise<void> {
  const ready = `${template}.ready`;
  if (await exists(ready)) return;
  const lock = `${template}.lock`;
  try {
    await mkdir(lock);
  } catch {
    while (!(await exists(ready))) await new Promise((r) => setTimeout(r, 100));
    return;
  }
  const db = await startEmbeddedDatabase(template);
  try {
    await migrate(db.poolConfig);
  } finally {
    await db.stop();
  }
  await writeFile(ready, '');
}

/** Runs one statement on a connection of its own (outside any node's pools) and returns its rows. */
export async function queryDatabase<R extends pg.QueryResultRow = pg.QueryResultRow>(
  config: pg.ClientConfig,
  text: string,
  values?: unknown[],
): Promise<R[]> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Whether this run's tests use a PostgreSQL server (DATABASE_URL) rather than the embedded
 * database; known before any test runs, so a test can be declared for one of them only.
 */
export const onPostgresServer = Boolean(process.env.DATABASE_URL);

/**
 * A test that needs a PostgreSQL server (several processes on one database, connections an
 * administrator can end). On the embedded database it is reported as skipped, its name
 * saying why, instead of passing without checking anything.
 */
export function itOnPostgresServer(name: string, whyNotEmbedded: string, fn: () => Promise<void>, timeout?: number) {
  if (onPostgresServer) it(name, fn, timeout);
  else it.skip(`${name} (skipped on the embedded database: ${whyNotEmbedded})`, fn);
}

export interface TestDatabase {
  config: { databaseUrl: string | undefined; dataDir: string };
  /** For tests that talk to the database directly (only on PostgreSQL servers). */
  poolConfig: pg.PoolConfig | undefined;
  embedded: boolean;
  drop(): Promise<void>;
}

/** A fresh database: on `serverUrl` (default DATABASE_URL), else an embedded one from the template. */
export async function createTestDatabase(serverUrl = process.env.DATABASE_URL): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'kp-node-'));
  if (!serverUrl) {
    const template = process.env.KEYPEARS_TEST_TEMPLATE_DIR;
    if (!template) throw new Error('the embedded test template is missing (jest globalSetup did not run)');
    await ensureTemplate(template);
    await cp(template, dataDir, { recursive: true });
    return {
      config: { databaseUrl: undefined, dataDir },
      poolConfig: undefined,
      embedded: true,
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `kp_test_${randomBytes(6).toString('hex')}`;
  await queryDatabase({ connectionString: serverUrl }, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  await migrate({ connectionString: databaseUrl });
  return {
    config: { databaseUrl, dataDir },
    poolConfig: { connectionString: databaseUrl },
    embedded: false,
    async drop() {
      await queryDatabase({ connectionString: serverUrl }, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
