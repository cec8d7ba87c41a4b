/**
 * The node's own migration runner: idempotent, safe when several nodes start together on
 * one database, and refusing to run over a migration that changed after it was applied.
 */
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/database/embedded-database.js';
import { migrate, MIGRATIONS_DIR } from '../src/database/migrator.js';
import { createTestDatabase, itOnPostgresServer, queryDatabase, type TestDatabase } from './support/test-database.js';

let db: TestDatabase;
let embedded: EmbeddedDatabase | undefined;
let poolConfig: pg.PoolConfig;

beforeAll(async () => {
  db = await createTestDatabase();
  if (db.poolConfig) {
    poolConfig = db.poolConfig;
  } else {
    embedded = await startEmbeddedDatabase(db.config.dataDir);
    poolConfig = embedded.poolConfig;
  }
});

afterAll(async () => {
  await embedded?.stop();
  await db.drop();
});

async function appliedNames(): Promise<string[]> {
  const rows = await queryDatabase<{ migration_name: string }>(
    poolConfig,
    'SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name',
  );
  return rows.map((r) => r.migration_name);
}

describe('migrate', () => {
  it('has applied every migration folder exactly once', async () => {
    const folders = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(await appliedNames()).toEqual(folders);
  });

  it('keeps rate-limit counters, and only them, in an unlogged table', async () => {
    const rows = await queryDatabase<{ relname: string }>(
      poolConfig,
      "SELECT relname FROM pg_class WHERE relkind = 'r' AND relpersistence = 'u' ORDER BY relname",
    );
    expect(rows.map((r) => r.relname)).toEqual(['rate_limit']);
  });

  it('is a no-op on an up-to-date database', async () => {
    const result = await migrate(poolConfig);
    expect(result.applied).toEqual([]);
  });

  itOnPostgresServer(
    'applies a new migration once even when several nodes start at the same time',
    'it serves one process through one backend, where every connection holds the same advisory lock',
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'kp-migrations-'));
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      await cp(path.join(dir, (await readdir(dir)).sort()[0]), path.join(dir, '29991231000000_probe'), {
        recursive: true,
      });
      await writeFile(path.join(dir, '29991231000000_probe', 'migration.sql'), 'CREATE TABLE "probe" ("id" INT);');
      const results = await Promise.all([1, 2, 3, 4].map(() => migrate(poolConfig, () => {}, dir)));
      expect(results.flatMap((r) => r.applied)).toEqual(['29991231000000_probe']);
      expect((await appliedNames()).filter((n) => n.endsWith('_probe'))).toHaveLength(1);
      await rm(dir, { recursive: true, force: true });
    },
  );

  it('refuses to continue when an applied migration was modified', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kp-migrations-'));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    const first = (await readdir(dir)).filter((n) => !n.endsWith('.toml')).sort()[0];
    await writeFile(path.join(dir, first, 'migration.sql'), '-- changed\n', { flag: 'a' });
    await expect(migrate(poolConfig, () => {}, dir)).rejects.toMatchObject({ code: 'migration_modified' });
    await rm(dir, { recursive: true, force: true });
  });

  it('rolls back a failing migration completely', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kp-migrations-'));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await cp(path.join(dir, (await readdir(dir)).sort()[0]), path.join(dir, '29991231000001_broken'), {
      recursive: true,
    });
    await writeFile(
      path.join(dir, '29991231000001_broken', 'migration.sql'),
      'CREATE TABLE "half_done" ("id" INT); SELECT no_such_function();',
    );
    await expect(migrate(poolConfig, () => {}, dir)).rejects.toMatchObject({ code: 'migration_failed' });
    const rows = await queryDatabase(poolConfig, "SELECT to_regclass('half_done') AS t");
    expect(rows[0].t).toBeNull();
    expect(await appliedNames()).not.toContain('29991231000001_broken');
    await rm(dir, { recursive: true, force: true });
  });
});
