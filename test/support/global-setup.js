// Runs once before all test files (plain JavaScript: Jest loads global setup outside its
// ESM module graph). With DATABASE_URL set, each test file gets a fresh database on that
// server; without it, tests use the embedded database, whose migrated template folder is
// built once by the first test that needs it (test/support/test-database.ts).
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export default async function globalSetup() {
  const url = process.env.DATABASE_URL;
  if (url) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
    } catch (e) {
      throw new Error(`DATABASE_URL is set but PostgreSQL is not reachable: ${e.message}`);
    }
    await client.end();
    return;
  }
  const root = await mkdtemp(path.join(os.tmpdir(), 'kp-template-'));
  process.env.KEYPEARS_TEST_TEMPLATE_DIR = path.join(root, 'data');
  globalThis.__KP_TEMPLATE_ROOT__ = root;
}
