/**
 * Latency and throughput of complete exchanges through two nodes (a.test -> b.test), driven by
 * the SDK: each exchange is claim, start, delivery, accept, confirmation delivery and the
 * initiator's MAC check. Prints the measurements; fails only if an exchange does not complete.
 * EXCHANGE_BENCH_COUNT and EXCHANGE_BENCH_CONCURRENCY scale it.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { acceptExchange, exchangeSecret, refreshExchange, startExchange } from '../src/sdk/exchange.js';
import { startTestNameserver, type LoopbackNameserver } from './support/dns-server.js';
import { eventually, exchangeUser, type ExchangeUser } from './support/exchange-users.js';
import { startTestNode, type TestNode } from './support/test-node.js';

const COUNT = Number(process.env.EXCHANGE_BENCH_COUNT ?? 24);
const CONCURRENCY = Number(process.env.EXCHANGE_BENCH_CONCURRENCY ?? 4);
let ns: LoopbackNameserver;
let a: TestNode;
let b: TestNode;
const pairs: Array<{ alice: ExchangeUser; bob: ExchangeUser }> = [];

beforeAll(async () => {
  ns = await startTestNameserver();
  const env = {
    KEYPEARS_DNS_SERVERS: ns.address,
    KEYPEARS_OUTBOX_POLL_MS: '20',
    KEYPEARS_EXCHANGE_LIMIT_PER_ORIGIN: '100000',
  };
  [a, b] = await Promise.all([
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'a.test' }),
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'b.test' }),
  ]);
  ns.setTxt('_keypears.a.test', `v=KP1; node=${a.config.publicUrl}`);
  ns.setTxt('_keypears.b.test', `v=KP1; node=${b.config.publicUrl}`);
  const perPair = Math.ceil(COUNT / CONCURRENCY);
  for (let i = 0; i < CONCURRENCY; i++) {
    pairs.push({
      alice: await exchangeUser(a, `alice${i}@a.test`, 0),
      bob: await exchangeUser(b, `bob${i}@b.test`, Math.min(perPair, 100)),
    });
  }
}, 300_000);

afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy(), ns?.stop()]);
});

it('measures start-to-confirmed latency and exchanges per second through two nodes', async () => {
  const latencies: number[] = [];
  let next = 0;
  const began = performance.now();
  await Promise.all(
    pairs.map(async ({ alice, bob }) => {
      while (next < COUNT) {
        next++;
        const t0 = performance.now();
        const { id } = await startExchange(alice.ctx, bob.ks.address);
        await eventually(
          async () => ((await bob.client.inbox()).exchanges.some((e) => e.id === id) ? true : undefined),
          30_000,
        );
        await acceptExchange(bob.ctx, id);
        await eventually(
          async () => ((await refreshExchange(alice.ctx, id)).status === 'confirmed' ? true : undefined),
          30_000,
        );
        latencies.push(performance.now() - t0);
        expect(exchangeSecret(alice.ks, id)).toBe(exchangeSecret(bob.ks, id));
      }
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  latencies.sort((x, y) => x - y);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  const line =
    `exchanges: ${latencies.length} with ${CONCURRENCY} concurrent pairs (${a.database.embedded ? 'embedded' : 'PostgreSQL'}); ` +
    `start-to-confirmed latency p50 ${pct(50).toFixed(0)} ms, p90 ${pct(90).toFixed(0)} ms, max ${pct(100).toFixed(0)} ms; ` +
    `throughput ${(latencies.length / seconds).toFixed(1)} exchanges/s`;
  process.stdout.write(`${line}\n`);
  expect(latencies).toHaveLength(COUNT);
}, 600_000);
