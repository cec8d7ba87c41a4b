/**
 * Fault: the sending node is killed (SIGKILL) in the middle of a delivery. Node A runs in a
 * process of its own (the sources, through test/support/ts-register.mjs) on a PostgreSQL
 * cluster of this test's own; node B sits behind a proxy that lets B store what A delivers but
 * never passes B's answer back, so A dies with deliveries that B has and A does not know it
 * has. A is started again on the same database: every exchange it acknowledged arrives at B
 * exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Clock } from '../../src/common/clock.js';
import { loadConfig } from '../../src/config/config.js';
import { startTestNameserver, type LoopbackNameserver } from '../support/dns-server.js';
import { eventually, exchangeUser } from '../support/exchange-users.js';
import { expectDeliveredOnce, startOne, UNLIMITED } from '../support/fault-load.js';
import { freePort } from '../support/free-port.js';
import { startHoldingProxy, type HoldingProxy } from '../support/holding-proxy.js';
import { privatePostgresUnavailable, startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { startTestNode, type TestNode } from '../support/test-node.js';

const BATCH = '/api/v1/federation/batch';
const unavailable = privatePostgresUnavailable();
const describeWithCluster = unavailable ? describe.skip : describe;
if (unavailable) describe(`node killed (skipped: ${unavailable})`, () => it.skip('needs a private cluster', () => {}));

let pg: PrivatePostgres;
let ns: LoopbackNameserver;
let proxy: HoldingProxy;
let b: TestNode;
let database: TestDatabase;
let child: ChildProcess | undefined;
let env: Record<string, string>;

/** Starts node A from the sources in a child process and waits until it answers. */
async function startA(): Promise<void> {
  const started = spawn(process.execPath, ['--import', './test/support/ts-register.mjs', 'src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  child = started;
  await eventually(
    async () => {
      if (started.exitCode !== null) throw new Error(`node A exited with ${started.exitCode}`);
      const res = await fetch(`http://127.0.0.1:${env.PORT}/api/health`).catch(() => undefined);
      return res?.ok ? true : undefined;
    },
    60_000,
    'node A to start',
  );
}

function killA(): Promise<void> {
  const victim = child!;
  child = undefined;
  return new Promise((resolve) => {
    victim.once('exit', () => resolve());
    victim.kill('SIGKILL');
  });
}

describeWithCluster('the sending node killed mid-delivery', () => {
  beforeAll(async () => {
    [pg, ns, proxy] = await Promise.all([startPrivatePostgres(), startTestNameserver(), startHoldingProxy(BATCH)]);
    database = await createTestDatabase(pg.url);
    const port = await freePort();
    env = {
      ...UNLIMITED,
      DATABASE_URL: database.config.databaseUrl!,
      KEYPEARS_DATA_DIR: database.config.dataDir,
      KEYPEARS_DEV: '1',
      PORT: String(port),
      LOG_LEVEL: 'error',
      KEYPEARS_DOMAINS: 'a.test',
      KEYPEARS_DNS_SERVERS: ns.address,
      KEYPEARS_OUTBOX_POLL_MS: '50',
      KEYPEARS_OUTBOX_BACKOFF_MAX_MS: '300',
      KEYPEARS_FEDERATION_TIMEOUT_MS: '8000',
      KEYPEARS_OUTBOX_LEASE_MS: '9000',
    };
    b = await startTestNode({
      ...UNLIMITED,
      KEYPEARS_DNS_SERVERS: ns.address,
      KEYPEARS_DOMAINS: 'b.test',
      KEYPEARS_PUBLIC_URL: proxy.url,
    });
    proxy.targetPort = b.config.port;
    ns.setTxt('_keypears.a.test', `v=KP1; node=http://127.0.0.1:${port}`);
    ns.setTxt('_keypears.b.test', `v=KP1; node=${proxy.url}`);
    await startA();
  }, 120_000);

  afterAll(async () => {
    if (child) await killA();
    await b?.destroy();
    await database?.drop().catch(() => undefined);
    await Promise.all([ns?.stop(), proxy?.close(), pg?.destroy()]);
  });

  it('delivers every acknowledged exchange exactly once after the restart', async () => {
    // What the test's users need of node A: its public URL and a clock to sign with.
    const a = { config: loadConfig(env), clock: new Clock(), url: `http://127.0.0.1:${env.PORT}` } as TestNode;
    const [alice] = await Promise.all([exchangeUser(a, 'alice@a.test', 2), exchangeUser(b, 'bob@b.test', 2)]);
    proxy.hold = true;
    const acknowledged: string[] = [];
    for (let i = 0; i < 5; i++) acknowledged.push(await startOne(alice, 'bob@b.test'));
    await eventually(
      async () => (proxy.held > 0 ? true : undefined),
      30_000,
      'a delivery B stored and A never heard of',
    );
    await killA();
    proxy.hold = false;
    await startA();
    expect(await expectDeliveredOnce(b, acknowledged, 60_000)).toBe(acknowledged.length);
    for (const id of acknowledged) {
      await eventually(async () => ((await alice.client.getExchange(id)).status === 'delivered' ? true : undefined));
    }
  }, 180_000);
});
