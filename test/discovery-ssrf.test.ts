/**
 * SSRF end to end: a production-mode node (KEYPEARS_DEV off) whose discovery records point
 * at loopback in every spelling must refuse before connecting. Listeners on 127.0.0.1 and
 * ::1 count connections; no record names anything but loopback, so even a broken guard
 * would send nothing off this machine.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestNameserver, type LoopbackNameserver } from './support/dns-server.js';
import { startLoopbackHttp, type LoopbackHttp } from './support/loopback-http.js';
import { startTestNode, type TestNode } from './support/test-node.js';

let ns: LoopbackNameserver;
let v4: LoopbackHttp;
let v6: LoopbackHttp;
let redirector: LoopbackHttp;
let prod: TestNode;
let dev: TestNode;

const connections = () => v4.connections + v6.connections;

const resolve = async (t: TestNode, address: string) => {
  const res = await fetch(`${t.url}/api/v1/resolve/${encodeURIComponent(address)}`);
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
};

beforeAll(async () => {
  ns = await startTestNameserver();
  v4 = await startLoopbackHttp();
  v6 = await startLoopbackHttp(undefined, '::1');
  redirector = await startLoopbackHttp((_req, res) => {
    res.statusCode = 302;
    res.setHeader('location', `http://localhost:${v4.port}/.well-known/keypears.json`);
    res.end();
  });
  prod = await startTestNode({ KEYPEARS_DEV: '0', KEYPEARS_DNS_SERVERS: ns.address, KEYPEARS_DOMAINS: 'p.test' });
  dev = await startTestNode({ KEYPEARS_DNS_SERVERS: ns.address, KEYPEARS_DOMAINS: 'd.test' });
  ns.setTxt('_keypears.lo4.test', `v=KP1; node=https://127.0.0.1:${v4.port}`);
  ns.setTxt('_keypears.lo6.test', `v=KP1; node=https://[::1]:${v6.port}`);
  ns.setTxt('_keypears.mapped.test', `v=KP1; node=https://[::ffff:127.0.0.1]:${v4.port}`);
  ns.setTxt('_keypears.compat.test', `v=KP1; node=https://[::127.0.0.1]:${v4.port}`);
  ns.setTxt('_keypears.name.test', `v=KP1; node=https://kp.name.test:${v4.port}`);
  ns.setA('kp.name.test', '127.0.0.1');
  ns.setTxt('_keypears.plain.test', `v=KP1; node=http://127.0.0.1:${v4.port}`);
  ns.setTxt('_keypears.redirect.test', `v=KP1; node=http://127.0.0.1:${redirector.port}`);
  // The domain's own website, on loopback by name: the well-known lookup is refused too.
  ns.setA('site.test', '127.0.0.1');
}, 120_000);

afterAll(async () => {
  await Promise.all([prod?.destroy(), dev?.destroy()]);
  await Promise.all([ns?.stop(), v4?.close(), v6?.close(), redirector?.close()]);
});

describe('a production node refuses loopback discovery targets without connecting', () => {
  it.each([
    ['https://127.0.0.1', 'x@lo4.test', 'destination_forbidden', /127\.0\.0\.1.*loopback/],
    ['https://[::1]', 'x@lo6.test', 'destination_forbidden', /::1.*loopback/],
    ['https://[::ffff:127.0.0.1]', 'x@mapped.test', 'destination_forbidden', /::ffff:7f00:1.*loopback/],
    ['https://[::127.0.0.1]', 'x@compat.test', 'destination_forbidden', /reserved/],
    ['a name resolving to 127.0.0.1', 'x@name.test', 'destination_forbidden', /kp\.name\.test \(127\.0\.0\.1\)/],
    ['plain http', 'x@plain.test', 'insecure_scheme', /https/],
  ])('%s', async (_, address, code, message) => {
    const before = connections();
    const { status, body } = await resolve(prod, address);
    expect(status).toBe(502);
    expect(body.error.code).toBe(code);
    expect(body.error.message).toMatch(message);
    expect(connections()).toBe(before);
  });

  it('refuses a domain website on loopback (well-known only) without connecting', async () => {
    const before = connections();
    const { status, body } = await resolve(prod, 'x@site.test');
    // https://site.test resolves to 127.0.0.1: refused, and reported since nothing else was found.
    expect(status).toBe(502);
    expect(body.error.code).toBe('destination_forbidden');
    expect(connections()).toBe(before);
  });

  it('shows the refusal in the cache, so repeated lookups do not retry for 5 minutes', async () => {
    const queries = ns.queries.length;
    expect((await resolve(prod, 'x@lo4.test')).body.error.code).toBe('destination_forbidden');
    expect(ns.queries.length).toBe(queries);
  });
});

describe('redirects', () => {
  it('a redirect from a node to another host (loopback) is refused without connecting there', async () => {
    const before = v4.connections;
    const { status, body } = await resolve(dev, 'x@redirect.test');
    expect(status).toBe(502);
    expect(body.error.code).toBe('redirect_refused');
    expect(body.error.message).toContain(`localhost:${v4.port}`);
    expect(redirector.requests).toHaveLength(1);
    expect(v4.connections).toBe(before);
  });
});
