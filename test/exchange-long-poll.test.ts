/**
 * Long polling of the exchange API: an inbox or exchange request with `wait` is answered when
 * the user's exchanges change, on the node that made the change and, on a PostgreSQL server,
 * on another replica of the same database (LISTEN/NOTIFY). The nodes' clock moves only when a
 * test moves it: a wait ends when the test moves the clock past it, not after real seconds.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import http from 'node:http';
import { createNode, type RunningNode } from '../src/app.setup.js';
import { PrismaService } from '../src/database/prisma.service.js';
import { ExchangeWaiters } from '../src/exchange/exchange-waiters.js';
import { signRequest } from '../src/protocol/http-signature.js';
import { NodeClient } from '../src/sdk/client.js';
import { acceptExchange, startExchange, waitForExchange } from '../src/sdk/exchange.js';
import { eventually, exchangeUser, type ExchangeUser } from './support/exchange-users.js';
import { itOnPostgresServer, queryDatabase } from './support/test-database.js';
import { MovableClock } from './support/movable-clock.js';
import { startTestNode, type TestNode } from './support/test-node.js';

/** The clock of both nodes (the first one and its replica). */
const clock = new MovableClock(Date.now());
let t: TestNode;
let replica: RunningNode | undefined;
let alice: ExchangeUser;
let bob: ExchangeUser;

beforeAll(async () => {
  t = await startTestNode({ KEYPEARS_DOMAINS: 'a.test' }, { clock });
  if (!t.database.embedded) replica = await createNode({ ...t.config, port: 0 }, { clock });
  alice = await exchangeUser(t, 'alice@a.test', 5);
  bob = await exchangeUser(t, 'bob@a.test', 5);
});

afterAll(async () => {
  await replica?.close();
  await t?.destroy();
});

/** Resolves once `n` requests wait on the node. */
const waitersOn = (waiters: ExchangeWaiters, n: number) =>
  eventually(async () => (waiters.waiting >= n ? true : undefined), 10_000, `${n} waiting request(s)`);

/** Empties Bob's inbox, so that a long poll of it has something to wait for. */
async function drainInbox(): Promise<void> {
  for (const e of (await bob.client.inbox()).exchanges) await acceptExchange(bob.ctx, e.id);
}

/** Headers of a GET of `path` signed by Bob. */
const signedBy = (path: string) =>
  signRequest({
    method: 'GET',
    targetUri: `${t.config.publicUrl}${path}`,
    body: undefined,
    keyId: bob.ks.address,
    secretKey: bob.ks.identitySecretKey,
  });

/** A GET signed by Bob, sent as given. */
const signedGet = (path: string): Promise<Response> => fetch(`${t.url}${path}`, { headers: signedBy(path) });

describe('long polling', () => {
  it('answers a waiting inbox request when an exchange arrives', async () => {
    await drainInbox();
    const waiters = t.node.app.get(ExchangeWaiters);
    const inbox = bob.client.inbox({ waitSeconds: 30 });
    await waitersOn(waiters, 1);
    const started = await startExchange(alice.ctx, 'bob@a.test');
    const { exchanges } = await inbox;
    expect(exchanges.map((e) => e.id)).toEqual([started.id]);
    expect(waiters.waiting).toBe(0);
  });

  it("answers a waiting exchange request when its status changes, and the SDK's wait follows it", async () => {
    const started = await startExchange(alice.ctx, 'bob@a.test');
    expect(started.status).toBe('delivered');
    const waiters = t.node.app.get(ExchangeWaiters);
    const view = alice.client.getExchange(started.id, { waitSeconds: 30, status: 'delivered' });
    const followed = waitForExchange(alice.ctx, started.id, { timeoutMs: 60_000, pollSeconds: 30 });
    await waitersOn(waiters, 2);
    await acceptExchange(bob.ctx, started.id);
    expect((await view).status).toBe('confirmed');
    expect((await followed).status).toBe('confirmed');
  });

  // The timeout is far below the 30 s waited: only the clock can end these waits in time.
  it('answers at once when the status already differs, and with the same status when the wait ends', async () => {
    const started = await startExchange(alice.ctx, 'bob@a.test');
    const differs = await alice.client.getExchange(started.id, { waitSeconds: 30, status: 'pending' });
    expect(differs.status).toBe('delivered');
    const waiters = t.node.app.get(ExchangeWaiters);
    // The longest wait, over when the clock says so (far sooner than 30 real seconds).
    const unchanged = alice.client.getExchange(started.id, { waitSeconds: 30, status: 'delivered' });
    await waitersOn(waiters, 1);
    const sleeping = clock.sleeping;
    clock.advance(29_999);
    // The wait reads again (its periodic recheck), then sleeps out its last millisecond.
    await eventually(async () => (clock.sleeping >= sleeping ? true : undefined), 10_000, 'the wait to sleep again');
    expect(waiters.waiting).toBe(1);
    clock.advance(1);
    expect((await unchanged).status).toBe('delivered');
    await acceptExchange(bob.ctx, started.id);
    await drainInbox();
    const empty = bob.client.inbox({ waitSeconds: 30 });
    await waitersOn(waiters, 1);
    clock.advance(30_000);
    expect((await empty).exchanges).toEqual([]);
  }, 20_000);

  it('refuses a malformed wait or status with 400 invalid_request', async () => {
    const get = async (path: string) => {
      const res = await signedGet(path);
      return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
    };
    const bad = { status: 400, code: 'invalid_request' };
    for (const query of ['wait=31', 'wait=-1', 'wait=1.5', 'wait=', 'wait=1&wait=2', 'soon=1']) {
      expect(await get(`/api/v1/exchanges/inbox?${query}`)).toEqual(bad);
    }
    expect(await get('/api/v1/exchanges/AAAAAAAAAAAAAAAAAAAAAA?wait=1&status=done')).toEqual(bad);
    expect(await get('/api/v1/exchanges/AAAAAAAAAAAAAAAAAAAAAA?wait=1&status=pending')).toEqual({
      status: 404,
      code: 'not_found',
    });
  });

  it('stops waiting when the client goes away', async () => {
    await drainInbox();
    const waiters = t.node.app.get(ExchangeWaiters);
    // A plain connection that the client closes mid-request, as a client that goes away does.
    const path = '/api/v1/exchanges/inbox?wait=30';
    const request = http.request(`${t.url}${path}`, { headers: signedBy(path), agent: false });
    const closed = new Promise<void>((resolve) => request.on('error', () => resolve()));
    request.end();
    await waitersOn(waiters, 1);
    request.destroy(new Error('client gone'));
    await closed;
    await eventually(async () => (waiters.waiting === 0 ? true : undefined), 10_000, 'the wait to end');
  });
});

describe('long polling across replicas', () => {
  /** Bob's client, talking to the replica (as a load balancer could send him there). */
  const viaReplica = () =>
    new NodeClient({
      baseUrl: t.config.publicUrl,
      allowInsecureHttp: true,
      signer: { address: bob.ks.address, secretKey: bob.ks.identitySecretKey },
      fetch: (input, init) => fetch(String(input).replace(t.config.publicUrl, replica!.url), init),
    });

  /** Bob waits on the replica while Alice's exchange is stored by the first node; the replica must be woken by NOTIFY. */
  async function wakeAcrossReplicas(): Promise<void> {
    await drainInbox();
    const bobId = (await t.node.app.get(PrismaService).account.findUniqueOrThrow({ where: { address: 'bob@a.test' } }))
      .id;
    const waiters = replica!.app.get(ExchangeWaiters);
    const woken = jest.spyOn(waiters as unknown as { wake(accountId: string): void }, 'wake');
    try {
      const inbox = viaReplica().inbox({ waitSeconds: 30 });
      await waitersOn(waiters, 1);
      const started = await startExchange(alice.ctx, 'bob@a.test');
      expect((await inbox).exchanges.map((e) => e.id)).toEqual([started.id]);
      expect(woken).toHaveBeenCalledWith(bobId);
    } finally {
      woken.mockRestore();
    }
  }

  /**
   * Backends of this test database that listen for notifications (one per node process: its
   * listening connection runs one LISTEN per channel, so its last query is a LISTEN).
   */
  async function listeners(): Promise<number[]> {
    const rows = await queryDatabase<{ pid: number }>(
      t.database.poolConfig!,
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'",
    );
    return rows.map((r) => r.pid);
  }

  itOnPostgresServer(
    'wakes a request waiting on another replica of the same database (LISTEN/NOTIFY)',
    'one process owns the embedded database, so there are no replicas',
    wakeAcrossReplicas,
  );

  itOnPostgresServer(
    'listens again after its listening connection is closed',
    'a node on the embedded database has no listening connection',
    async () => {
      const before = await listeners();
      expect(before).toHaveLength(2);
      await queryDatabase(t.database.poolConfig!, 'SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [
        before,
      ]);
      await eventually(
        async () => {
          const now = await listeners();
          return now.length === 2 && now.every((pid) => !before.includes(pid)) ? true : undefined;
        },
        15_000,
        'both nodes listening on new connections',
      );
      await wakeAcrossReplicas();
    },
  );
});
