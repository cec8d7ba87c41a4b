/**
 * Discovery end to end: a nameserver on loopback, a loopback web server playing the test
 * domains' websites (KEYPEARS_DEV_WELL_KNOWN_PORT), and two real nodes resolving across
 * each other through GET /api/v1/resolve. Every byte goes to 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DiscoveryService } from '../src/discovery/discovery.service.js';
import { PrismaService } from '../src/database/prisma.service.js';
import { NodeKeysService } from '../src/node-keys/node-keys.service.js';
import { resolveCommand } from '../src/cli/commands/resolve.js';
import { resolveAddress, resolveNodeUrl } from '../src/sdk/resolve.js';
import { startTestNameserver, type LoopbackNameserver } from './support/dns-server.js';
import { freePort } from './support/free-port.js';
import { MovableClock } from './support/movable-clock.js';
import { commandIo } from './support/cli.js';
import { startLoopbackHttp, type LoopbackHttp } from './support/loopback-http.js';
import { startTestNode, type TestNode } from './support/test-node.js';
import { registerUser } from './support/test-users.js';

/** Both nodes' clock: it moves only when a test moves it (cache lifetimes, refetch intervals). */
const clock = new MovableClock(Date.now());
let ns: LoopbackNameserver;
let web: LoopbackHttp;
let a: TestNode;
let b: TestNode;
/** What each test domain's website serves at /.well-known/keypears.json, by Host. */
const websites = new Map<string, { status: number; body: string }>();

const get = async (t: TestNode, path: string) => {
  const res = await fetch(`${t.url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const resolve = (t: TestNode, address: string) => get(t, `/api/v1/resolve/${encodeURIComponent(address)}`);
const cacheRow = (t: TestNode, domain: string) =>
  t.node.app.get(PrismaService).discoveryCache.findUnique({ where: { domain } });
/** Moves a cache entry's expiry into the past: the time-to-live has run out (and the process's recent copy is dropped). */
const expire = async (t: TestNode, domain: string) => {
  await t.node.app
    .get(PrismaService)
    .discoveryCache.update({ where: { domain }, data: { expiresAt: new Date(clock.now().getTime() - 1000) } });
  t.node.app.get(DiscoveryService).forgetRecent(domain);
};

function serveWellKnown(domain: string, body: unknown, status = 200) {
  ns.setA(domain, '127.0.0.1');
  websites.set(domain, { status, body: JSON.stringify(body) });
}

beforeAll(async () => {
  ns = await startTestNameserver();
  web = await startLoopbackHttp((req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const site = websites.get(host);
    if (!site || req.url !== '/.well-known/keypears.json') {
      res.statusCode = 404;
      return res.end('{}');
    }
    res.statusCode = site.status;
    res.setHeader('content-type', 'application/json');
    res.end(site.body);
  });
  const env = { KEYPEARS_DNS_SERVERS: ns.address, KEYPEARS_DEV_WELL_KNOWN_PORT: String(web.port) };
  [a, b] = await Promise.all([
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'a.test' }, { clock }),
    startTestNode(
      { ...env, KEYPEARS_DOMAINS: 'b.test,wk.test,both.test,conflict.test,stale.test,neg.test' },
      { clock },
    ),
  ]);
  await Promise.all([
    registerUser(a, 'alice@a.test'),
    registerUser(b, 'bob@b.test'),
    registerUser(b, 'carol@wk.test'),
    registerUser(b, 'dave@both.test'),
    registerUser(b, 'erin@stale.test'),
    registerUser(b, 'neg@neg.test'),
  ]);
  ns.setTxt('_keypears.a.test', `v=KP1; node=${a.config.publicUrl}`);
  ns.setTxt('_keypears.b.test', `v=KP1; node=${b.config.publicUrl}`);
  serveWellKnown('wk.test', { protocol: 'KP1', node: b.config.publicUrl });
  ns.setTxt('_keypears.both.test', `v=KP1; node=${b.config.publicUrl}/`);
  serveWellKnown('both.test', { protocol: 'KP1', node: b.config.publicUrl });
  ns.setTxt('_keypears.conflict.test', `v=KP1; node=${b.config.publicUrl}`);
  serveWellKnown('conflict.test', { protocol: 'KP1', node: a.config.publicUrl });
  ns.setTxt('_keypears.unlisted.test', `v=KP1; node=${b.config.publicUrl}`);
  ns.setTxt('_keypears.malformed.test', `v=KP1 node=${b.config.publicUrl}`);
  ns.setTxt('_keypears.two.test', `v=KP1; node=${b.config.publicUrl}`, `v=KP1; node=${a.config.publicUrl}`);
  ns.setTxt('_keypears.stale.test', `v=KP1; node=${b.config.publicUrl}`);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
  await Promise.all([ns?.stop(), web?.close()]);
});

describe('node document', () => {
  it('is served at /.well-known/keypears.json with the node, its domains and a signing key', async () => {
    const res = await fetch(`${b.url}/.well-known/keypears.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const doc = (await res.json()) as Record<string, any>;
    expect(doc).toMatchObject({
      protocol: 'KP1',
      node: b.config.publicUrl,
      domains: ['b.test', 'wk.test', 'both.test', 'conflict.test', 'stale.test', 'neg.test'],
      software: { name: 'keypears-node' },
    });
    expect(doc.keys).toHaveLength(1);
    expect(doc.keys[0]).toMatchObject({ alg: 'ed25519', notAfter: null });
    expect(doc.keys[0].publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('keeps its signing key across a restart', async () => {
    const before = await (await fetch(`${a.url}/.well-known/keypears.json`)).json();
    await a.restart();
    const after = await (await fetch(`${a.url}/.well-known/keypears.json`)).json();
    expect(after).toEqual(before);
  });
});

describe('GET /api/v1/resolve', () => {
  it('resolves a local address from the key directory', async () => {
    const { status, body } = await resolve(a, 'Alice@A.test');
    expect(status).toBe(200);
    expect(body).toMatchObject({ address: 'alice@a.test', node: a.config.publicUrl, local: true });
    expect(body.identity.address).toBe('alice@a.test');
  });

  it('TXT only: finds the node by DNS and fetches the identity from it', async () => {
    const { status, body } = await resolve(a, 'bob@b.test');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      address: 'bob@b.test',
      node: b.config.publicUrl,
      local: false,
      discovery: { method: 'dns', cached: false, stale: false },
    });
    expect(body.identity.address).toBe('bob@b.test');
    expect(body.identity.fingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){7}$/);
  });

  it('resolves in the other direction too', async () => {
    const { status, body } = await resolve(b, 'alice@a.test');
    expect(status).toBe(200);
    expect(body).toMatchObject({ node: a.config.publicUrl, discovery: { method: 'dns' } });
  });

  it('well-known only: finds the node through the domain website', async () => {
    const { status, body } = await resolve(a, 'carol@wk.test');
    expect(status).toBe(200);
    expect(body).toMatchObject({ node: b.config.publicUrl, discovery: { method: 'well-known' } });
    expect(web.requests).toContain(`GET wk.test:${web.port} /.well-known/keypears.json`);
  });

  it('both agreeing (after normalisation): method both', async () => {
    const { status, body } = await resolve(a, 'dave@both.test');
    expect(status).toBe(200);
    expect(body.discovery.method).toBe('both');
  });

  it('answers 404 not_found for an unknown user on a found node', async () => {
    const { status, body } = await resolve(a, 'nobody@b.test');
    expect(status).toBe(404);
    expect(body.error.code).toBe('not_found');
  });

  it.each([
    ['both disagreeing', 'x@conflict.test', 502, 'discovery_conflict'],
    ['node document not listing the domain', 'x@unlisted.test', 502, 'domain_not_listed'],
    ['malformed TXT', 'x@malformed.test', 502, 'discovery_record_invalid'],
    ['two TXT records', 'x@two.test', 502, 'discovery_record_ambiguous'],
    ['NXDOMAIN', 'x@nxdomain.test', 404, 'no_node_for_domain'],
    ['an invalid address', 'not an address', 400, 'invalid_address'],
  ])('%s (%s): %d %s', async (_, address, status, code) => {
    const res = await resolve(a, address);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message.length).toBeGreaterThan(10);
  });

  it('unreachable node: 503 discovery_unavailable, not cached', async () => {
    const closed = await freePort();
    ns.setTxt('_keypears.down.test', `v=KP1; node=http://127.0.0.1:${closed}`);
    const res = await resolve(a, 'x@down.test');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('discovery_unavailable');
    expect(res.body.error.message).toContain(`127.0.0.1:${closed}`);
    expect(await cacheRow(a, 'down.test')).toBeNull();
  });

  it('a website answering non-JSON does not hide a good TXT record', async () => {
    ns.setTxt('_keypears.htmlsite.test', `v=KP1; node=${b.config.publicUrl}`);
    ns.setA('htmlsite.test', '127.0.0.1');
    websites.set('htmlsite.test', { status: 200, body: '<html>' });
    const res = await resolve(a, 'x@htmlsite.test');
    // The TXT record is fine; the node simply does not serve htmlsite.test.
    expect(res.body.error.code).toBe('domain_not_listed');
  });
});

describe('client-side resolution (the CLI does its own discovery)', () => {
  const opts = () => ({ dev: true, dnsServers: [ns.address], devWellKnownPort: web.port });

  it('finds the node and the verified identity', async () => {
    const found = await resolveAddress('Bob@B.test', opts());
    expect(found).toMatchObject({ address: 'bob@b.test', node: b.config.publicUrl, method: 'dns' });
    expect(found.fingerprint).toBe(found.identity.fingerprint);
    expect(await resolveNodeUrl('wk.test', opts())).toBe(b.config.publicUrl);
  });

  it('keypears resolve prints address, node and fingerprint from the environment settings', async () => {
    const env = { KEYPEARS_DEV: '1', KEYPEARS_DNS_SERVERS: ns.address, KEYPEARS_DEV_WELL_KNOWN_PORT: String(web.port) };
    const io = commandIo('/nonexistent', env);
    const { json, text } = await resolveCommand(io, 'carol@wk.test');
    expect(json).toMatchObject({ address: 'carol@wk.test', node: b.config.publicUrl, method: 'well-known' });
    expect(json.fingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){7}$/);
    expect(text).toContain(String(json.fingerprint));
    await expect(
      resolveCommand(commandIo('/nonexistent', { KEYPEARS_DNS_SERVERS: ns.address }), 'bob@b.test'),
    ).rejects.toMatchObject({
      code: 'insecure_scheme',
    });
  });

  it('refuses the same misconfigurations as the node, and plain http outside dev mode', async () => {
    await expect(resolveAddress('x@two.test', opts())).rejects.toMatchObject({ code: 'discovery_record_ambiguous' });
    await expect(resolveNodeUrl('b.test', { dev: false, dnsServers: [ns.address] })).rejects.toMatchObject({
      code: 'insecure_scheme',
    });
  });
});

describe('the discovery cache', () => {
  it('answers a second lookup from PostgreSQL without any network', async () => {
    await resolve(a, 'bob@b.test');
    const queries = ns.queries.length;
    const webRequests = web.requests.length;
    const { status, body } = await resolve(a, 'bob@b.test');
    expect(status).toBe(200);
    expect(body.discovery).toEqual({ method: 'dns', cached: true, stale: false });
    expect(ns.queries.length).toBe(queries);
    expect(web.requests.length).toBe(webRequests);
  });

  it('keeps an answer read from PostgreSQL in the process for a few seconds, not past its expiry', async () => {
    await resolve(a, 'bob@b.test');
    const prisma = a.node.app.get(PrismaService);
    const lastError = JSON.stringify({ code: 'discovery_unavailable', message: 'set by the test' });
    // Another replica's change to the row (here: a failed refresh) is not seen at once...
    await prisma.discoveryCache.update({ where: { domain: 'b.test' }, data: { lastError } });
    try {
      expect((await resolve(a, 'bob@b.test')).body.discovery).toEqual({ method: 'dns', cached: true, stale: false });
      // ...but once the process's copy is gone (after RECENT_ANSWER_MS), it is.
      a.node.app.get(DiscoveryService).forgetRecent();
      expect((await resolve(a, 'bob@b.test')).body.discovery).toEqual({ method: 'dns', cached: true, stale: true });
    } finally {
      await prisma.discoveryCache.update({ where: { domain: 'b.test' }, data: { lastError: null } });
      a.node.app.get(DiscoveryService).forgetRecent();
    }
    // An expired answer is never kept: once the row's expiry passes, the next lookup goes to the network.
    await resolve(a, 'bob@b.test');
    await a.node.app.get(PrismaService).discoveryCache.update({
      where: { domain: 'b.test' },
      data: { expiresAt: new Date(clock.now().getTime() + 50) },
    });
    a.node.app.get(DiscoveryService).forgetRecent();
    expect((await resolve(a, 'bob@b.test')).body.discovery.cached).toBe(true);
    clock.advance(100);
    const queries = ns.queries.length;
    expect((await resolve(a, 'bob@b.test')).body.discovery.cached).toBe(false);
    expect(ns.queries.length).toBeGreaterThan(queries);
  });

  it('bounds the TTL to at least 60 s and at most the node document max-age', async () => {
    ns.set('_keypears.neg.test', { txt: [[`v=KP1; node=${b.config.publicUrl}`]], ttl: 5 });
    await resolve(a, 'neg@neg.test');
    let row = await cacheRow(a, 'neg.test');
    expect(row!.expiresAt.getTime() - row!.fetchedAt.getTime()).toBe(60_000);
    ns.set('_keypears.neg.test', { txt: [[`v=KP1; node=${b.config.publicUrl}`]], ttl: 86_400 * 7 });
    await expire(a, 'neg.test');
    await resolve(a, 'neg@neg.test');
    row = await cacheRow(a, 'neg.test');
    expect(row!.expiresAt.getTime() - row!.fetchedAt.getTime()).toBe(300_000);
    expect(row!.staleUntil.getTime() - row!.expiresAt.getTime()).toBe(24 * 3600_000);
    ns.delete('_keypears.neg.test');
  });

  it('serves the previous answer (stale) while the nameserver is down, then refreshes', async () => {
    expect((await resolve(a, 'erin@stale.test')).status).toBe(200);
    await expire(a, 'stale.test');
    await ns.pause();
    try {
      const first = await resolve(a, 'erin@stale.test');
      expect(first.status).toBe(200);
      expect(first.body.discovery).toEqual({ method: 'dns', cached: true, stale: true });
      const row = await cacheRow(a, 'stale.test');
      expect(row!.lastError).toContain('discovery_unavailable');
    } finally {
      await ns.resume();
    }
    // Lookups within the next minute get the stale answer without asking DNS again, even
    // though the nameserver is back.
    const queries = ns.queries.length;
    clock.advance(59_000);
    expect((await resolve(a, 'erin@stale.test')).body.discovery).toEqual({ method: 'dns', cached: true, stale: true });
    expect(ns.queries.length).toBe(queries);
    // A minute after the failed refresh, the next lookup refreshes.
    clock.advance(1000);
    const fresh = await resolve(a, 'erin@stale.test');
    expect(fresh.body.discovery).toEqual({ method: 'dns', cached: false, stale: false });
    expect(ns.queries.length).toBeGreaterThan(queries);
  });

  it('does not serve an answer older than its stale window', async () => {
    await expire(a, 'stale.test');
    await a.node.app.get(PrismaService).discoveryCache.update({
      where: { domain: 'stale.test' },
      data: { staleUntil: new Date(clock.now().getTime() - 1) },
    });
    await ns.pause();
    try {
      const res = await resolve(a, 'erin@stale.test');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('discovery_unavailable');
    } finally {
      await ns.resume();
    }
  });

  it('caches "no node" for 5 minutes, then looks again', async () => {
    expect((await resolve(a, 'x@later.test')).body.error.code).toBe('no_node_for_domain');
    const row = await cacheRow(a, 'later.test');
    expect(row!.status).toBe('none');
    expect(row!.expiresAt.getTime() - row!.fetchedAt.getTime()).toBe(300_000);
    // The record appears; the negative answer still holds, without asking DNS again.
    ns.setTxt('_keypears.later.test', `v=KP1; node=${b.config.publicUrl}`);
    const queries = ns.queries.length;
    expect((await resolve(a, 'x@later.test')).body.error.code).toBe('no_node_for_domain');
    expect(ns.queries.length).toBe(queries);
    await expire(a, 'later.test');
    expect((await resolve(a, 'x@later.test')).body.error.code).toBe('domain_not_listed');
  });

  it('caches misconfigurations for 5 minutes with their own code', async () => {
    const row = await cacheRow(a, 'two.test');
    expect(row!.status).toBe('error');
    expect(JSON.parse(row!.lastError!).code).toBe('discovery_record_ambiguous');
    ns.setTxt('_keypears.two.test', `v=KP1; node=${b.config.publicUrl}`);
    expect((await resolve(a, 'x@two.test')).body.error.code).toBe('discovery_record_ambiguous');
  });
});

describe('node key rotation', () => {
  it('refetches the node document once for an unknown key id, at most once a minute', async () => {
    const discovery = a.node.app.get(DiscoveryService);
    const before = await discovery.resolveDomain('b.test');
    const oldKeyId = before.document.keys[0].keyId;
    const { current, retired } = await b.node.app.get(NodeKeysService).rotate(3600);
    expect(retired.map((k) => k.keyId)).toEqual([oldKeyId]);
    expect(retired[0].notAfter).not.toBeNull();

    // The new key is unknown to A's cache: one refetch finds it.
    const found = await discovery.refreshKeysOnUnknownKeyId('b.test', current.keyId);
    expect(found).toMatchObject({ keyId: current.keyId, publicKey: current.publicKey });
    const verified = await discovery.nodeVerificationKey('b.test', current.keyId);
    expect(verified.nodeUrl).toBe(b.config.publicUrl);
    // The old key is still listed during the overlap.
    expect((await discovery.nodeVerificationKey('b.test', oldKeyId)).key.notAfter).toBe(retired[0].notAfter);

    // Another rotation right away: the next unknown id is not refetched within the minute...
    const second = await b.node.app.get(NodeKeysService).rotate(3600);
    expect(await discovery.refreshKeysOnUnknownKeyId('b.test', second.current.keyId)).toBeUndefined();
    await expect(discovery.nodeVerificationKey('b.test', second.current.keyId)).rejects.toMatchObject({
      code: 'unknown_key',
    });
    clock.advance(59_000);
    expect(await discovery.refreshKeysOnUnknownKeyId('b.test', second.current.keyId)).toBeUndefined();
    // ...but a minute after the last refetch it is.
    clock.advance(1000);
    expect(await discovery.refreshKeysOnUnknownKeyId('b.test', second.current.keyId)).toMatchObject({
      keyId: second.current.keyId,
    });
    const doc = (await (await fetch(`${b.url}/.well-known/keypears.json`)).json()) as {
      keys: Array<{ keyId: string }>;
    };
    expect(doc.keys.map((k) => k.keyId).sort()).toEqual([oldKeyId, current.keyId, second.current.keyId].sort());
  });
});
