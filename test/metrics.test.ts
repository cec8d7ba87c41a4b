/**
 * GET /api/metrics end to end (docs/operators.md, "Metrics"): served on the metrics listener
 * and not on the public one, or on the public one to the bearer of the token; what it counts
 * (requests by route and status with latencies, rate-limit refusals, discovery lookups and
 * cache hits, delivery attempts by peer, the outbox's depth and the age of its oldest due
 * message, the pools, the process) as a scrape shows it; the log line of a failed delivery.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OutboxWorker } from '../src/exchange/outbox/outbox.worker.js';
import { initiateExchange } from '../src/protocol/exchange.js';
import { startTestNameserver, type LoopbackNameserver } from './support/dns-server.js';
import { eventually, exchangeUser, type ExchangeUser } from './support/exchange-users.js';
import { expectErrorResponse } from './support/expect-error.js';
import { captureLogs, type LogCapture } from './support/log-lines.js';
import { MovableClock } from './support/movable-clock.js';
import { initiatorKeys } from './support/remote-user.js';
import { startTestNode, type TestNode } from './support/test-node.js';

const TOKEN = 'k'.repeat(40);
let ns: LoopbackNameserver;
let a: TestNode;
let b: TestNode;
let tokenNode: TestNode;
let alice: ExchangeUser;
let logs: LogCapture;
const clock = new MovableClock(Date.now());

beforeAll(async () => {
  ns = await startTestNameserver();
  logs = captureLogs();
  const env = { KEYPEARS_DNS_SERVERS: ns.address, KEYPEARS_OUTBOX_BACKOFF_MAX_MS: '100' };
  [a, b, tokenNode] = await Promise.all([
    startTestNode(
      {
        ...env,
        KEYPEARS_DOMAINS: 'a.test',
        KEYPEARS_METRICS_PORT: '0',
        KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE: '3',
        // Rounds run when the test asks (drain), after an enqueue, or when the test moves the
        // clock a minute on: never on their own during the test.
        KEYPEARS_OUTBOX_POLL_MS: '60000',
        LOG_LEVEL: 'info',
      },
      { clock, logDestination: logs.destination },
    ),
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'b.test' }),
    startTestNode({ KEYPEARS_METRICS_TOKEN: TOKEN }),
  ]);
  ns.setTxt('_keypears.a.test', `v=KP1; node=${a.config.publicUrl}`);
  ns.setTxt('_keypears.b.test', `v=KP1; node=${b.config.publicUrl}`);
  [alice] = await Promise.all([exchangeUser(a, 'alice@a.test', 2), exchangeUser(b, 'bob@b.test', 2)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy(), tokenNode?.destroy()]);
  await ns?.stop();
});

/** One scrape of `a`'s metrics listener. */
async function scrape(): Promise<string> {
  const res = await fetch(`${a.node.metricsUrl}/api/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of the series `name{labels}` in a scrape (labels in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('where the metrics are served', () => {
  it('on the metrics listener, in the Prometheus text format, and not on the public listener', async () => {
    await expectErrorResponse(await fetch(`${a.url}/api/metrics`), 404, 'not_found');
    const res = await fetch(`${a.node.metricsUrl}/api/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^# HELP keypears_http_requests_total /m);
    // the process: memory and event-loop lag
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    // the pools: the embedded database has one; a PostgreSQL server two
    expect(sample(text, 'keypears_database_pool_connections', { pool: 'main', state: 'max' })).toBeGreaterThan(0);
    expect(sample(text, 'keypears_database_pool_waiting', { pool: 'main' })).toBe(0);
    expect(sample(text, 'keypears_database_pool_connections', { pool: 'admission', state: 'max' })).toBe(
      a.database.embedded ? undefined : 10,
    );
  });

  it('the metrics listener answers nothing else, in the documented error shape', async () => {
    await expectErrorResponse(await fetch(`${a.node.metricsUrl}/api/health`), 404, 'not_found');
    await expectErrorResponse(
      await fetch(`${a.node.metricsUrl}/api/metrics`, { method: 'POST' }),
      405,
      'method_not_allowed',
    );
  });

  it('on the public listener, with KEYPEARS_METRICS_TOKEN alone, to the bearer of the token only', async () => {
    const url = `${tokenNode.url}/api/metrics`;
    expect(tokenNode.node.metricsUrl).toBeUndefined();
    await expectErrorResponse(await fetch(url), 401, 'unauthorized');
    await expectErrorResponse(
      await fetch(url, { headers: { authorization: `Bearer ${'x'.repeat(40)}` } }),
      401,
      'unauthorized',
    );
    await expectErrorResponse(await fetch(url, { headers: { authorization: TOKEN } }), 401, 'unauthorized');
    const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(
      /^keypears_http_requests_total\{method="GET",route="\/api\/metrics",status="401"\} 3$/m,
    );
  });
});

describe('what the metrics count', () => {
  it('requests by method, route pattern and status, with their latencies', async () => {
    for (let i = 0; i < 2; i++) {
      await expectErrorResponse(await fetch(`${a.url}/api/v1/identities/nobody%40a.test`), 404, 'not_found');
    }
    const unmatched = (text: string) =>
      sample(text, 'keypears_http_requests_total', { route: '_unmatched', status: '404' }) ?? 0;
    const before = unmatched(await scrape());
    await expectErrorResponse(await fetch(`${a.url}/no/such/route`), 404, 'not_found');
    const text = await scrape();
    const route = { method: 'GET', route: '/api/v1/identities/:address' };
    expect(sample(text, 'keypears_http_requests_total', { ...route, status: '404' })).toBe(2);
    expect(sample(text, 'keypears_http_request_duration_seconds_count', route)).toBe(2);
    expect(sample(text, 'keypears_http_request_duration_seconds_bucket', { ...route, le: '+Inf' })).toBe(2);
    expect(unmatched(text) - before).toBe(1);
  });

  it('rate-limit refusals, by limit', async () => {
    // alice's registration spent one of the three; garbage bodies spend the rest.
    const post = () =>
      fetch(`${a.url}/api/v1/accounts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
    expect((await post()).status).toBe(400);
    expect((await post()).status).toBe(400);
    await expectErrorResponse(await post(), 429, 'rate_limited');
    await expectErrorResponse(await post(), 429, 'rate_limited');
    expect(sample(await scrape(), 'keypears_rate_limit_refusals_total', { limit: 'register:source' })).toBe(2);
  });

  it('discovery lookups: through the network once, then from the cache', async () => {
    const before = await scrape();
    const lookups = (text: string, source: string) => sample(text, 'keypears_discovery_lookups_total', { source }) ?? 0;
    for (let i = 0; i < 2; i++) {
      await expectErrorResponse(await fetch(`${a.url}/api/v1/resolve/x%40nowhere.test`), 404, 'no_node_for_domain');
    }
    const after = await scrape();
    expect(lookups(after, 'network') - lookups(before, 'network')).toBe(1);
    expect(lookups(after, 'cache') - lookups(before, 'cache')).toBe(1);
    expect(sample(after, 'keypears_discovery_network_results_total', { result: 'no_node' })).toBe(1);
  });

  it('delivery attempts and failures by peer, the outbox by state, the age of the oldest due message, and a log line per failed attempt', async () => {
    const { bundle, decoded } = await alice.client.exchangeBundle('bob@b.test');
    const { initiation } = initiateExchange({
      self: initiatorKeys(alice.ks),
      peerBundle: decoded,
      createdAt: clock.unixSeconds(),
    });
    await b.stop();
    expect((await alice.client.startExchange({ initiation, bundle })).status).toBe('pending');
    // The enqueue starts a round at once: its attempt fails, Bob's node being down.
    const [first] = await eventually(async () => {
      const lines = logs.matching(/^delivery to b\.test failed/);
      return lines.length > 0 ? lines : undefined;
    });
    expect(first).toMatchObject({
      level: 40,
      peer: 'b.test',
      kind: 'initiation',
      attempt: 1,
      outcome: 'retry',
      error: expect.stringMatching(/^peer_unavailable: /),
    });
    const nextAttemptAt = Date.parse(first.nextAttemptAt as string);
    expect(nextAttemptAt).toBeGreaterThan(clock.now().getTime());
    expect(nextAttemptAt).toBeLessThanOrEqual(clock.now().getTime() + 100);

    let text = await scrape();
    expect(sample(text, 'keypears_delivery_attempts_total', { peer: 'b.test', outcome: 'retry' })).toBe(1);
    expect(sample(text, 'keypears_delivery_failures_total', { peer: 'b.test' })).toBe(1);
    expect(sample(text, 'keypears_outbox_messages', { state: 'waiting' })).toBe(1);
    expect(sample(text, 'keypears_outbox_messages', { state: 'due' })).toBe(0);
    expect(sample(text, 'keypears_outbox_oldest_due_seconds')).toBe(0);

    clock.set(nextAttemptAt + 5_000);
    text = await scrape();
    expect(sample(text, 'keypears_outbox_messages', { state: 'due' })).toBe(1);
    expect(sample(text, 'keypears_outbox_oldest_due_seconds')).toBe(5);

    await a.node.app.get(OutboxWorker).drain();
    expect(logs.matching(/^delivery to b\.test failed/).map((l) => l.attempt)).toEqual([1, 2]);
    await b.restart();
    // The worker's next round is a minute away on the node's clock: moving it starts the round.
    clock.advance(60_000);
    await eventually(
      async () =>
        sample(await scrape(), 'keypears_delivery_attempts_total', { peer: 'b.test', outcome: 'delivered' }) === 1
          ? true
          : undefined,
      20_000,
      'the round the clock started',
    );
    text = await scrape();
    expect(sample(text, 'keypears_delivery_attempts_total', { peer: 'b.test', outcome: 'delivered' })).toBe(1);
    expect(sample(text, 'keypears_delivery_failures_total', { peer: 'b.test' })).toBe(2);
    expect(sample(text, 'keypears_outbox_messages', { state: 'due' })).toBe(0);
    expect(sample(text, 'keypears_outbox_messages', { state: 'waiting' })).toBe(0);
  });
});
