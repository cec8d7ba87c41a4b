/**
 * The embedded database behind its Unix socket, through the same pg pool settings the node
 * uses: one data directory has one owner, and a failed statement does not break the next one.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/database/embedded-database.js';
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

  it('refuses a second owner of the same data directory', async () => {
    await expect(startEmbeddedDatabase(db.config.dataDir)).rejects.toMatchObject({ code: 'data_dir_in_use' });
  });
});
