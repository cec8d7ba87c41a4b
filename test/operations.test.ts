/**
 * The node as an operator runs it: a process that stops cleanly on SIGTERM and SIGINT (the
 * requests in progress finish, the database is closed, exit status 0), that refuses to start
 * with one line naming the cause, and whose log stream is JSON lines only, error lines
 * carrying the request id (docs/operators.md, "Starting and stopping", "Logs").
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedDatabase } from '../src/database/embedded-database.js';
import { HashService } from '../src/hash/hash.service.js';
import { buildRegistration, createKeystore } from '../src/sdk/identity.js';
import { freePort } from './support/free-port.js';
import { captureLogs } from './support/log-lines.js';
import { killLeftNodes, runUntilExit, spawnNode } from './support/node-process.js';
import { createTestDatabase, itOnPostgresServer, type TestDatabase } from './support/test-database.js';
import { startTestNode } from './support/test-node.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  killLeftNodes();
  await db?.drop();
});

/** Every node process on this file's database publishes this URL (replicas must agree on it). */
const PUBLIC_URL = 'http://operations.localhost';

/** The environment of a node process on this file's database. */
const nodeEnv = (port: number): Record<string, string> => ({
  PORT: String(port),
  KEYPEARS_PUBLIC_URL: PUBLIC_URL,
  KEYPEARS_DEV: '1',
  LOG_LEVEL: 'info',
  ...(db.embedded ? { KEYPEARS_DATA_DIR: db.config.dataDir } : { DATABASE_URL: db.config.databaseUrl! }),
});

/**
 * PostgreSQL's record of how its cluster was left (`pg_control`, `state` at byte 16): 1 after
 * a clean shutdown, 6 while in production (and so after a crash or a kill).
 */
async function clusterState(dataDir: string): Promise<number> {
  return (await readFile(path.join(dataDir, 'pgdata', 'global', 'pg_control'))).readInt32LE(16);
}
const SHUT_DOWN = 1;

/** A connection on which a request has been sent but for the last bytes of its body. */
async function requestInProgress(port: number, method: string, urlPath: string, body: string) {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.setEncoding('utf8').on('data', (d: string) => (received += d));
  const ended = once(socket, 'close');
  const head = `${method} ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  socket.write(head + body.slice(0, 10));
  // A request on another connection, answered after the server has read the bytes above
  // (they were sent first): the request in progress has begun when this answer arrives.
  await fetch(`http://127.0.0.1:${port}/api/health`);
  return {
    /** Sends the rest of the body, then `after` (a pipelined request), and reads until the node closes the connection. */
    async finish(after = ''): Promise<string> {
      socket.write(body.slice(10) + after);
      await ended;
      return received;
    },
  };
}

/** The HTTP responses in what a connection received, each as status, headers and parsed body. */
function responses(raw: string): Array<{ status: number; headers: string; body: unknown }> {
  return raw
    .split(/(?=HTTP\/1\.1 \d{3} )/)
    .filter((part) => part !== '')
    .map((part) => {
      const [headers, body] = part.split('\r\n\r\n');
      return { status: Number(headers.slice(9, 12)), headers: headers.toLowerCase(), body: JSON.parse(body) };
    });
}

describe('stopping', () => {
  it('on SIGTERM lets a request in progress finish, closes the database cleanly and exits 0; SIGINT likewise', async () => {
    const port = await freePort();
    const node = spawnNode(nodeEnv(port));
    await node.logged(/listening on/);
    const url = `http://127.0.0.1:${port}`;
    const ks = createKeystore('held@localhost', PUBLIC_URL, Math.floor(Date.now() / 1000));
    const registration = JSON.stringify(buildRegistration(ks, Math.floor(Date.now() / 1000)));
    const held = await requestInProgress(port, 'POST', '/api/v1/accounts', registration);
    node.child.kill('SIGTERM');
    await node.logged(/shutting down/);
    // The registration finishes after the signal, on a database that is still open.
    const [registered] = responses(await held.finish());
    expect(registered.status).toBe(201);
    expect(await node.exited).toEqual({ code: 0, signal: null });
    const lines = node.logLines(); // every line of the log stream is JSON
    expect(node.stderr()).toBe('');
    const messages = lines.map((l) => l.msg);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^database (migrated|schema up to date)/),
        expect.stringMatching(/^KeyPears node .* listening on /),
        expect.stringMatching(/^SIGTERM: shutting down/),
        'stopped cleanly',
      ]),
    );
    expect(lines.find((l) => /^database/.test(String(l.msg)))).toMatchObject({
      migrationsApplied: expect.any(Array),
      migrationsAlreadyApplied: expect.any(Number),
    });
    if (db.embedded) expect(await clusterState(db.config.dataDir)).toBe(SHUT_DOWN);

    // Started again on the same data, the account written during the shutdown is there.
    const again = spawnNode(nodeEnv(port));
    await again.logged(/listening on/);
    const twice = await fetch(`${url}/api/v1/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: registration,
    });
    expect(await twice.json()).toMatchObject({ error: { code: 'address_taken' } });
    again.child.kill('SIGINT');
    expect(await again.exited).toEqual({ code: 0, signal: null });
    expect(again.logLines().map((l) => l.msg)).toContain('stopped cleanly');
    if (db.embedded) expect(await clusterState(db.config.dataDir)).toBe(SHUT_DOWN);
  }, 120_000);

  it('answers a request that arrives while it stops 503 shutting_down, in the error shape, and closes its connection', async () => {
    const t = await startTestNode();
    try {
      const port = Number(new URL(t.url).port);
      const held = await requestInProgress(port, 'POST', '/api/blake3', JSON.stringify({ data: 'in progress' }));
      const closing = t.node.close();
      // Pipelined behind the request in progress: it reaches the node while it stops.
      const raw = await held.finish(`GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      await closing;
      const [first, second] = responses(raw);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(second.status).toBe(503);
      expect(second.body).toEqual({ error: { code: 'shutting_down', message: expect.any(String) } });
      expect(second.headers).toContain('connection: close');
    } finally {
      await t.destroy();
    }
  });
});

describe('refusing to start', () => {
  /** A node process that must exit 1 with exactly one line on standard error, and only JSON on standard output. */
  async function refused(env: Record<string, string>): Promise<string> {
    const exit = await runUntilExit({ KEYPEARS_DEV: '1', LOG_LEVEL: 'info', ...env });
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
    const lines = exit.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(() =>
      exit.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as unknown),
    ).not.toThrow();
    return lines[0];
  }

  it('names a port in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const line = await refused(nodeEnv(port));
      expect(line).toBe(
        `keypears-node: cannot start: cannot listen on 127.0.0.1:${port} (PORT, HOST): the port is in use`,
      );
    } finally {
      blocker.close();
    }
  });

  it('names a database server that does not answer, without the password of DATABASE_URL', async () => {
    const closed = await freePort();
    const line = await refused({
      PORT: String(await freePort()),
      DATABASE_URL: `postgresql://keypears:s3cret@127.0.0.1:${closed}/keypears`,
    });
    expect(line).toMatch(
      new RegExp(
        `^keypears-node: cannot start: cannot reach the database server at 127\\.0\\.0\\.1:${closed}/keypears \\(`,
      ),
    );
    expect(line).not.toContain('s3cret');
  });

  itOnPostgresServer(
    'names a database that does not exist on the server',
    'needs a PostgreSQL server to ask for a missing database',
    async () => {
      const url = new URL(process.env.DATABASE_URL!);
      url.pathname = '/kp_no_such_database';
      const line = await refused({ PORT: String(await freePort()), DATABASE_URL: url.toString() });
      expect(line).toBe(
        `keypears-node: cannot start: the database server at ${url.hostname}:${url.port || '5432'}/kp_no_such_database has no such database (create it with createdb, or correct DATABASE_URL)`,
      );
    },
  );

  // A new embedded data directory (on a PostgreSQL server run) takes an initdb: seconds, more on a busy machine.
  it('names an embedded data directory that another process holds', async () => {
    const dataDir = db.embedded ? db.config.dataDir : await mkdtemp(path.join(os.tmpdir(), 'kp-held-'));
    const holder = await startEmbeddedDatabase(dataDir);
    try {
      const line = await refused({ PORT: String(await freePort()), KEYPEARS_DATA_DIR: dataDir });
      expect(line).toBe(`keypears-node: cannot start: KEYPEARS_DATA_DIR ${dataDir} is in use by another running node`);
    } finally {
      await holder.stop();
      if (!db.embedded) await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('the log stream', () => {
  it('gives an unexpected error a line with the request id the client was answered with', async () => {
    const logs = captureLogs();
    const t = await startTestNode({ LOG_LEVEL: 'info' }, { logDestination: logs.destination });
    try {
      jest.spyOn(t.node.app.get(HashService), 'blake3Hex').mockImplementation(() => {
        throw new Error('an unexpected failure');
      });
      for (const incoming of [undefined, 'client-chosen-id.1']) {
        const res = await fetch(`${t.url}/api/blake3`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(incoming ? { 'x-request-id': incoming } : {}) },
          body: JSON.stringify({ data: 'x' }),
        });
        expect(res.status).toBe(500);
        const id = res.headers.get('x-request-id');
        if (incoming) expect(id).toBe(incoming);
        const [line] = logs.matching(/^unhandled error/).filter((l) => l.reqId === id);
        expect(line).toMatchObject({
          level: 50,
          context: 'ErrorBoundary',
          stack: expect.stringContaining('an unexpected failure'),
        });
      }
    } finally {
      await t.destroy();
    }
  });
});
