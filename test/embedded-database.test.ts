/**
 * The embedded database behind its Unix socket, through the same pg pool settings the node
 * uses: one data directory has one owner, and a failed statement does not break the next one.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/database/embedded-database.js';
import { createPgPool } from '../src/database/pg-pool.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

let db: TestDatabase;
let embedded: EmbeddedDatabase;

beforeAll(async () => {
  // A copy of the migrated embedded template when DATABASE_URL is unset; otherwise a fresh
  // (empty) data directory, which PGlite initialises itself.
  db = await createTestDatabase();
  embedded = await startEmbeddedDatabase(db.config.dataDir);
});

afterAll(async () => {
  await embedded?.stop();
  await db.drop();
});

describe('embedded database', () => {
  it('keeps answering after failed statements', async () => {
    const pool = new pg.Pool(embedded.poolConfig);
    try {
      for (let i = 0; i < 3; i++) {
        await expect(pool.query('SELECT 1/0')).rejects.toThrow(/division by zero/);
        expect((await pool.query('SELECT $1::int AS n', [i])).rows[0].n).toBe(i);
      }
      const results = await Promise.allSettled([
        pool.query('SELECT 1/0'),
        pool.query('SELECT 2 AS n'),
        pool.query('SELECT 1/0'),
        pool.query('SELECT 3 AS n'),
      ]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled']);
    } finally {
      await pool.end();
    }
  });

  it('runs named statements from one connection after another (their names would collide in the one backend)', async () => {
    const pool = createPgPool({ poolConfig: embedded.poolConfig, embedded: true, close: async () => {} });
    const named = (n: number) => ({ name: 'kp_test_named', text: 'SELECT $1::int AS n', values: [n] });
    try {
      expect((await pool.query(named(1))).rows[0].n).toBe(1);
      // A failed statement makes pg drop that connection; the next query comes from a new one.
      await expect(pool.query('SELECT 1/0')).rejects.toThrow(/division by zero/);
      const first = await pool.connect();
      first.release(true);
      expect((await pool.query(named(2))).rows[0].n).toBe(2);
      expect((await pool.query(named(3))).rows[0].n).toBe(3);
    } finally {
      await pool.end();
    }
  });

  it('runs PostgreSQL with 8 MB of shared buffers, which its WebAssembly memory holds for good', async () => {
    const pool = new pg.Pool(embedded.poolConfig);
    try {
      expect((await pool.query('SHOW shared_buffers')).rows[0].shared_buffers).toBe('8MB');
    } finally {
      await pool.end();
    }
  });

  it('creates a new data directory (in a child process) and serves it', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'kp-embedded-new-'));
    try {
      const fresh = await startEmbeddedDatabase(dataDir);
      const pool = new pg.Pool(fresh.poolConfig);
      try {
        expect((await pool.query('SELECT 41 + 1 AS n')).rows[0].n).toBe(42);
      } finally {
        await pool.end();
        await fresh.stop();
      }
      expect(existsSync(path.join(dataDir, 'pgdata', 'PG_VERSION'))).toBe(true);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('says why a new data directory could not be created', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'kp-embedded-bad-'));
    try {
      await writeFile(path.join(dataDir, 'pgdata'), 'not a directory');
      await expect(startEmbeddedDatabase(dataDir)).rejects.toMatchObject({
        code: 'invalid_config',
        message: expect.stringContaining('could not create the database'),
      });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a second owner of the same data directory', async () => {
    await expect(startEmbeddedDatabase(db.config.dataDir)).rejects.toMatchObject({ code: 'data_dir_in_use' });
  });
});
