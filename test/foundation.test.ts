/**
 * The node's HTTP surface end to end: a real node on a fresh database, driven over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { PG_ADMISSION_POOL, PG_POOL } from '../src/database/pg-pool.js';
import { blake3 } from '../src/protocol/crypto.js';
import { toHex, utf8 } from '../src/protocol/encoding.js';
import { eventually } from './support/exchange-users.js';
import { itOnPostgresServer, queryDatabase } from './support/test-database.js';
import { startTestNode, type TestNode } from './support/test-node.js';
import { expectErrorResponse } from './support/expect-error.js';
import { registerUser } from './support/test-users.js';

let t: TestNode;

beforeAll(async () => {
  t = await startTestNode();
});

afterAll(async () => {
  await t?.destroy();
});

const post = (path: string, body: string, contentType = 'application/json') =>
  fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });

describe('POST /api/blake3', () => {
  it('hashes UTF-8 text', async () => {
    const res = await post('/api/blake3', JSON.stringify({ data: 'Hello, KeyPears!' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ hash: toHex(blake3(utf8('Hello, KeyPears!'))) });
  });

  it('hashes the empty string to the published BLAKE3 value', async () => {
    const res = await post('/api/blake3', JSON.stringify({ data: '' }));
    expect(await res.json()).toEqual({ hash: 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262' });
  });

  it('hashes multi-byte characters as UTF-8', async () => {
    const res = await post('/api/blake3', JSON.stringify({ data: 'pear 🍐 poire' }));
    expect(await res.json()).toEqual({ hash: toHex(blake3(utf8('pear 🍐 poire'))) });
  });

  it('refuses malformed JSON with 400 invalid_json', async () => {
    await expectErrorResponse(await post('/api/blake3', '{"data":'), 400, 'invalid_json');
  });

  it('refuses a missing field with 400 invalid_request', async () => {
    await expectErrorResponse(await post('/api/blake3', '{}'), 400, 'invalid_request');
  });

  it('refuses a non-string field and unknown fields with 400', async () => {
    await expectErrorResponse(await post('/api/blake3', '{"data":42}'), 400, 'invalid_request');
    await expectErrorResponse(await post('/api/blake3', '{"data":"a","extra":1}'), 400, 'invalid_request');
    await expectErrorResponse(await post('/api/blake3', '["data"]'), 400, 'invalid_request');
  });

  it('refuses a wrong content type with 415', async () => {
    await expectErrorResponse(
      await post('/api/blake3', 'data=x', 'application/x-www-form-urlencoded'),
      415,
      'unsupported_media_type',
    );
    await expectErrorResponse(await post('/api/blake3', 'x', 'text/plain'), 415, 'unsupported_media_type');
  });

  it('refuses a 1 MiB body with 413', async () => {
    const res = await post('/api/blake3', JSON.stringify({ data: 'a'.repeat(1024 * 1024) }));
    await expectErrorResponse(res, 413, 'payload_too_large');
  });

  it('refuses data over 64 KiB with 413 but accepts exactly 64 KiB', async () => {
    await expectErrorResponse(
      await post('/api/blake3', JSON.stringify({ data: 'a'.repeat(64 * 1024 + 1) })),
      413,
      'payload_too_large',
    );
    const ok = await post('/api/blake3', JSON.stringify({ data: 'a'.repeat(64 * 1024) }));
    expect(ok.status).toBe(200);
  });
});

describe('errors and docs', () => {
  it('answers unknown routes with 404 in the error shape', async () => {
    await expectErrorResponse(await fetch(`${t.url}/api/nope`), 404, 'not_found');
  });

  it('serves a valid OpenAPI 3 document describing every route', async () => {
    const res = await fetch(`${t.url}/api/docs-json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/blake3', '/api/health']));
  });

  it('serves Swagger UI', async () => {
    const res = await fetch(`${t.url}/api/docs`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/swagger/i);
  });

  it('echoes a request id', async () => {
    const res = await fetch(`${t.url}/api/health`, { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    const fresh = await fetch(`${t.url}/api/health`);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('GET /api/health and persistence', () => {
  it('reports the database as up', async () => {
    const res = await fetch(`${t.url}/api/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; database: { status: string; kind: string } };
    expect(body.status).toBe('ok');
    expect(body.database).toEqual({ status: 'up', kind: t.database.embedded ? 'embedded' : 'postgresql' });
  });

  it('records the applied migrations the way Prisma Migrate does', async () => {
    // Through the node's own pool: the embedded database has no other way in while the node runs.
    const { rows } = await t.node.app
      .get<pg.Pool>(PG_POOL)
      .query('SELECT migration_name, checksum, finished_at FROM "_prisma_migrations"');
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).not.toBeNull();
    }
  });

  itOnPostgresServer(
    'keeps running and serving when the server closes its connections',
    'the embedded database is private to the node, so nothing else can close its connections',
    async () => {
      // Both pools hold idle connections now: the main one from a lookup, the admission one from
      // a signed request's nonce. A pool reports a closed idle connection as an error event.
      expect((await fetch(`${t.url}/api/v1/identities/nobody%40localhost`)).status).toBe(404);
      const user = await registerUser(t, 'pat@localhost', 0);
      await user.client.getAccount();
      const pools = [t.node.app.get<pg.Pool>(PG_POOL), t.node.app.get<pg.Pool>(PG_ADMISSION_POOL)];
      expect(pools.map((p) => p.idleCount > 0)).toEqual([true, true]);
      const rows = await queryDatabase(
        t.database.poolConfig!,
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      expect(rows[0].n).toBeGreaterThan(0);
      // Each pool drops a connection when it reports its error: once both are empty, both reported.
      await eventually(async () => (pools.every((p) => p.totalCount === 0) ? true : undefined), 10_000, 'the errors');
      const res = await fetch(`${t.url}/api/health`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { database: { status: string } }).database.status).toBe('up');
    },
  );

  it('keeps serving after a restart on the same database', async () => {
    await t.restart();
    const res = await fetch(`${t.url}/api/health`);
    expect(res.status).toBe(200);
  });
});
