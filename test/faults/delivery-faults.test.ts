/**
 * Faults on the delivery path (docs/protocol.md §9.4, docs/discovery.md §3): a peer that
 * accepts connections and never answers, a peer that is down and comes back, a nameserver that
 * truncates over UDP and never answers over TCP. Node A's user starts exchanges with users of
 * B, of C (behind a proxy that can swallow C's delivery requests whole) and of D (whose name
 * only the broken nameserver knows). In every case: each exchange A acknowledged arrives
 * exactly once, and a delivery to an unrelated peer is made while the fault is still going on
 * (checked by the order of events, not by a clock).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestNameserver, type LoopbackNameserver } from '../support/dns-server.js';
import { eventually, exchangeUser, type ExchangeUser } from '../support/exchange-users.js';
import { arrivals, expectDeliveredOnce, initiationFor, startOne, UNLIMITED } from '../support/fault-load.js';
import { startHoldingProxy, type HoldingProxy } from '../support/holding-proxy.js';
import { startTestNode, type TestNode } from '../support/test-node.js';
import { startTruncatingNameserver, type TruncatingNameserver } from '../support/truncating-nameserver.js';

const BATCH = '/api/v1/federation/batch';
const FEDERATION_TIMEOUT_MS = 8000;

let ns: LoopbackNameserver;
let brokenNs: TruncatingNameserver;
let proxy: HoldingProxy;
let a: TestNode;
let b: TestNode;
let c: TestNode;
let alice: ExchangeUser;

beforeAll(async () => {
  ns = await startTestNameserver();
  // A asks only this one: it passes everything on, except _keypears.d.test (truncated, TCP hangs).
  brokenNs = await startTruncatingNameserver(ns, ['_keypears.d.test']);
  brokenNs.tcp = 'hang';
  proxy = await startHoldingProxy(BATCH);
  const peers = { KEYPEARS_DNS_SERVERS: ns.address, ...UNLIMITED };
  [a, b, c] = await Promise.all([
    startTestNode({
      ...UNLIMITED,
      KEYPEARS_DOMAINS: 'a.test',
      KEYPEARS_DNS_SERVERS: brokenNs.address,
      KEYPEARS_OUTBOX_POLL_MS: '50',
      KEYPEARS_OUTBOX_BACKOFF_MAX_MS: '500',
      KEYPEARS_FEDERATION_TIMEOUT_MS: String(FEDERATION_TIMEOUT_MS),
      KEYPEARS_OUTBOX_LEASE_MS: String(FEDERATION_TIMEOUT_MS + 1000),
    }),
    startTestNode({ ...peers, KEYPEARS_DOMAINS: 'b.test' }),
    startTestNode({ ...peers, KEYPEARS_DOMAINS: 'c.test', KEYPEARS_PUBLIC_URL: proxy.url }),
  ]);
  proxy.targetPort = c.config.port;
  ns.setTxt('_keypears.a.test', `v=KP1; node=${a.config.publicUrl}`);
  ns.setTxt('_keypears.b.test', `v=KP1; node=${b.config.publicUrl}`);
  ns.setTxt('_keypears.c.test', `v=KP1; node=${c.config.publicUrl}`);
  ns.setTxt('_keypears.d.test', `v=KP1; node=http://127.0.0.1:9`);
  [alice] = await Promise.all([
    exchangeUser(a, 'alice@a.test', 2),
    exchangeUser(b, 'bob@b.test', 2),
    exchangeUser(c, 'carol@c.test', 2),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy(), c?.destroy()]);
  await Promise.all([ns?.stop(), brokenNs?.stop(), proxy?.close()]);
});

/** Claims a bundle of `to` now; the returned start only asks A to store and queue the initiation. */
async function preparedStart(to: string): Promise<() => Promise<string>> {
  const { bundle, decoded } = await alice.client.exchangeBundle(to);
  return async () => {
    const initiation = initiationFor(alice, decoded);
    await alice.client.startExchange({ initiation, bundle });
    return initiation.exchangeId;
  };
}

const arrived = async (node: TestNode, id: string) => ((await arrivals(node, [id])).get(id) ?? 0) > 0;

describe('delivery faults', () => {
  it('delivers to B while C accepts its delivery request and never answers, then delivers to C once', async () => {
    // Both peers discovered and connected first: what is measured is the wait behind C alone.
    await expectDeliveredOnce(b, [await startOne(alice, 'bob@b.test')]);
    await expectDeliveredOnce(c, [await startOne(alice, 'carol@c.test')]);
    proxy.blackhole = true;
    const toC = [await startOne(alice, 'carol@c.test'), await startOne(alice, 'carol@c.test')];
    const startToB = await preparedStart('bob@b.test');
    await eventually(async () => (proxy.openSwallowed() > 0 ? true : undefined), 20_000, 'a swallowed request');
    const startedAt = Date.now();
    const toB = await startToB();
    await eventually(() => arrived(b, toB).then((yes) => (yes ? true : undefined)), 20_000, 'delivery to B');
    const delayMs = Date.now() - startedAt;
    // B's delivery was made while C's request was still open, and nothing had reached C.
    expect(proxy.openSwallowed()).toBeGreaterThan(0);
    expect((await arrivals(c, toC)).size).toBe(0);
    process.stdout.write(`hanging peer: an unrelated delivery arrived ${delayMs} ms after it was acknowledged\n`);
    proxy.blackhole = false;
    expect(await expectDeliveredOnce(c, toC, 30_000)).toBe(toC.length);
  }, 90_000);

  it('delivers to C while B is down, and everything acknowledged for B once B is back', async () => {
    await b.stop();
    // Starting needs B's bundle: while B is down that start is refused, not acknowledged.
    // (peer_unavailable, or discovery_unavailable when B's node document was never fetched before)
    const refused = await startOne(alice, 'bob@b.test').then(
      () => undefined,
      (e: { code: string }) => e.code,
    );
    expect(['peer_unavailable', 'discovery_unavailable']).toContain(refused);
    await b.restart();
    const { bundle, decoded } = await alice.client.exchangeBundle('bob@b.test');
    await b.stop();
    const toB: string[] = [];
    for (let i = 0; i < 5; i++) {
      const initiation = initiationFor(alice, decoded);
      expect((await alice.client.startExchange({ initiation, bundle })).status).toBe('pending');
      toB.push(initiation.exchangeId);
    }
    const toC = await startOne(alice, 'carol@c.test');
    await eventually(() => arrived(c, toC).then((yes) => (yes ? true : undefined)), 20_000, 'delivery to C');
    await b.restart();
    expect(await expectDeliveredOnce(b, toB, 60_000)).toBe(toB.length);
  }, 120_000);

  it('ends a discovery whose nameserver truncates over UDP and never answers over TCP, and delivers to B meanwhile', async () => {
    const startToB = await preparedStart('bob@b.test');
    const before = brokenNs.tcpConnections;
    let resolved = false;
    const resolve = (async () => {
      const res = await fetch(`${a.url}/api/v1/resolve/dave%40d.test`, { signal: AbortSignal.timeout(60_000) });
      const answer = { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
      resolved = true;
      return answer;
    })();
    await eventually(async () => (brokenNs.tcpConnections > before ? true : undefined), 20_000, 'the TCP retry');
    const toB = await startToB();
    await eventually(() => arrived(b, toB).then((yes) => (yes ? true : undefined)), 20_000, 'delivery to B');
    expect(resolved).toBe(false); // the lookup of d.test was still waiting for its deadline
    expect(await resolve).toEqual({ status: 503, code: 'discovery_unavailable' });
    // A later lookup of the same domain is answered too (nothing is left hanging).
    const again = await fetch(`${a.url}/api/v1/resolve/dave%40d.test`, { signal: AbortSignal.timeout(60_000) });
    expect(again.status).toBe(503);
    await eventually(async () => (brokenNs.openTcpConnections() === 0 ? true : undefined), 20_000, 'sockets closed');
  }, 90_000);
});
