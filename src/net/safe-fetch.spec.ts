/**
 * safe-fetch against servers on loopback only. Destinations the guard must refuse are
 * either loopback (with a listener that counts connections) or non-loopback answers checked
 * by `resolveDestination`, which never connects: no test can send traffic off this machine,
 * even with a broken guard.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { asyncRefusal } from '../../test/support/expect-error.js';
import { startLoopbackHttp, type LoopbackHttp } from '../../test/support/loopback-http.js';
import { cacheControlMaxAge, checkRedirect, resolveDestination, safeFetch, type HostResolver } from './safe-fetch.js';

const answer =
  (table: Record<string, string[]>): HostResolver =>
  async (host) => {
    const found = table[host];
    if (!found) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return found;
  };

let server: LoopbackHttp;
let target: LoopbackHttp;
let target6: LoopbackHttp;

beforeAll(async () => {
  server = await startLoopbackHttp((req, res) => {
    if (req.url === '/json') {
      res.setHeader('content-type', 'application/json');
      res.setHeader('cache-control', 'public, max-age=120');
      res.end(JSON.stringify({ ok: true, host: req.headers.host }));
    } else if (req.url === '/same-origin') {
      res.statusCode = 302;
      res.setHeader('location', '/json');
      res.end();
    } else if (req.url === '/loop') {
      res.statusCode = 307;
      res.setHeader('location', '/loop');
      res.end();
    } else if (req.url === '/other-host') {
      res.statusCode = 301;
      res.setHeader('location', `http://localhost:${target.port}/json`);
      res.end();
    } else if (req.url === '/other-port') {
      res.statusCode = 308;
      res.setHeader('location', `http://127.0.0.1:${target.port}/json`);
      res.end();
    } else if (req.url === '/big-declared') {
      res.setHeader('content-length', String(70 * 1024));
      res.end('x'.repeat(70 * 1024));
    } else if (req.url === '/big-chunked') {
      for (let i = 0; i < 70; i++) res.write('y'.repeat(1024));
      res.end();
    } else if (req.url === '/exact') {
      res.end('z'.repeat(64 * 1024));
    } else if (req.url === '/hang') {
      // never answers
    } else if (req.url === '/not-json') {
      res.end('<html>');
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  target = await startLoopbackHttp();
  target6 = await startLoopbackHttp(undefined, '::1');
});

afterAll(async () => {
  await Promise.all([server?.close(), target?.close(), target6?.close()]);
});

describe('safeFetch in dev mode (http and loopback allowed)', () => {
  it('fetches JSON, reporting headers, address and final URL', async () => {
    const res = await safeFetch(`${server.url}/json`, { dev: true });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ ok: true, host: `127.0.0.1:${server.port}` });
    expect(res.headers['cache-control']).toBe('public, max-age=120');
    expect(res.address).toBe('127.0.0.1');
  });

  it('connects to the address the resolver answered, with the name as Host', async () => {
    let calls = 0;
    const resolveHost: HostResolver = async (host) => {
      calls++;
      expect(host).toBe('pinned.test');
      return ['127.0.0.1'];
    };
    // pinned.test exists in no real resolver: success proves the checked answer was dialled.
    const res = await safeFetch(`http://pinned.test:${server.port}/json`, { dev: true, resolveHost });
    expect(res.json()).toEqual({ ok: true, host: `pinned.test:${server.port}` });
    expect(calls).toBe(1);
  });

  it('follows same-origin redirects, re-checking each hop, and stops a loop', async () => {
    const res = await safeFetch(`${server.url}/same-origin`, { dev: true });
    expect(res.url).toBe(`${server.url}/json`);
    expect((await asyncRefusal(safeFetch(`${server.url}/loop`, { dev: true }))).code).toBe('redirect_refused');
  });

  it('refuses redirects to another host or port without connecting there', async () => {
    const before = target.connections;
    const other = await asyncRefusal(safeFetch(`${server.url}/other-host`, { dev: true }));
    expect(other.code).toBe('redirect_refused');
    expect(other.message).toContain(`http://localhost:${target.port}`);
    expect((await asyncRefusal(safeFetch(`${server.url}/other-port`, { dev: true }))).code).toBe('redirect_refused');
    expect(target.connections).toBe(before);
  });

  it('caps the body at 64 KiB, whether announced or streamed', async () => {
    expect((await asyncRefusal(safeFetch(`${server.url}/big-declared`, { dev: true }))).code).toBe(
      'response_too_large',
    );
    expect((await asyncRefusal(safeFetch(`${server.url}/big-chunked`, { dev: true }))).code).toBe('response_too_large');
    expect((await safeFetch(`${server.url}/exact`, { dev: true })).body.length).toBe(64 * 1024);
  });

  it('times out', async () => {
    // The server never answers: only the deadline can end this request (fetch_timeout says it did).
    const e = await asyncRefusal(safeFetch(`${server.url}/hang`, { dev: true, timeoutMs: 300 }));
    expect(e.code).toBe('fetch_timeout');
    expect(e.message).toContain('within 300 ms');
  });

  it('reports refused connections and unknown hosts as fetch_failed with a reason', async () => {
    const closed = await startLoopbackHttp();
    await closed.close();
    const refused = await asyncRefusal(safeFetch(`${closed.url}/`, { dev: true }));
    expect(refused.code).toBe('fetch_failed');
    expect(refused.details).toEqual({ reason: 'connection_refused' });
    const missing = await asyncRefusal(safeFetch('http://missing.test/', { dev: true, resolveHost: answer({}) }));
    expect(missing.details).toEqual({ reason: 'host_not_found' });
  });

  it('returns non-2xx statuses and refuses non-JSON bodies when JSON is asked for', async () => {
    expect((await safeFetch(`${server.url}/nothing`, { dev: true })).status).toBe(404);
    const res = await safeFetch(`${server.url}/not-json`, { dev: true });
    expect(() => res.json('well_known_invalid')).toThrow(expect.objectContaining({ code: 'well_known_invalid' }));
  });

  it('still refuses link-local and other non-dev ranges', async () => {
    const e = await asyncRefusal(
      resolveDestination(new URL('http://meta.test/'), {
        dev: true,
        resolveHost: answer({ 'meta.test': ['169.254.169.254'] }),
        signal: AbortSignal.timeout(1000),
      }),
    );
    expect(e.code).toBe('destination_forbidden');
  });
});

describe('safeFetch in production mode', () => {
  const prod = { dev: false };

  it('refuses plain http with insecure_scheme before connecting', async () => {
    const before = server.connections;
    expect((await asyncRefusal(safeFetch(`${server.url}/json`, prod))).code).toBe('insecure_scheme');
    expect((await asyncRefusal(safeFetch('ftp://example.test/', prod))).code).toBe('insecure_scheme');
    expect(server.connections).toBe(before);
  });

  it.each([
    ['IPv4 loopback', () => `https://127.0.0.1:${server.port}/json`],
    ['IPv6 loopback', () => `https://[::1]:${target6.port}/json`],
    ['IPv4-mapped loopback', () => `https://[::ffff:127.0.0.1]:${server.port}/json`],
    ['IPv4-compatible loopback', () => `https://[::127.0.0.1]:${server.port}/json`],
    ['NAT64 loopback', () => `https://[64:ff9b::7f00:1]:${server.port}/json`],
    ['shorthand IPv4', () => `https://127.1:${server.port}/json`],
    ['decimal IPv4', () => `https://2130706433:${server.port}/json`],
  ])('refuses %s with destination_forbidden and no connection', async (_, url) => {
    const before = server.connections + target6.connections;
    const e = await asyncRefusal(safeFetch(url(), prod));
    expect(e.code).toBe('destination_forbidden');
    expect(server.connections + target6.connections).toBe(before);
  });

  it('refuses a name resolving to loopback without connecting', async () => {
    const before = server.connections;
    const resolveHost = answer({ 'rebind.test': ['127.0.0.1'] });
    const e = await asyncRefusal(safeFetch(`https://rebind.test:${server.port}/json`, { ...prod, resolveHost }));
    expect(e.code).toBe('destination_forbidden');
    expect(e.message).toContain('rebind.test (127.0.0.1)');
    expect(server.connections).toBe(before);
  });

  it.each([
    [['10.0.0.5']],
    [['172.16.1.1']],
    [['192.168.1.1']],
    [['100.64.0.1']],
    [['169.254.169.254']],
    [['fd00::1']],
    [['fe80::1']],
    [['::ffff:10.0.0.1']],
    [['93.184.216.34', '10.0.0.1']],
  ])('resolveDestination refuses a name whose answers include %j (no connection is attempted)', async (addresses) => {
    const e = await asyncRefusal(
      resolveDestination(new URL('https://inside.test/'), {
        dev: false,
        resolveHost: answer({ 'inside.test': addresses }),
        signal: AbortSignal.timeout(1000),
      }),
    );
    expect(e.code).toBe('destination_forbidden');
  });

  it('resolveDestination passes public answers through unchanged', async () => {
    const address = await resolveDestination(new URL('https://outside.test/'), {
      dev: false,
      resolveHost: answer({ 'outside.test': ['2606:4700:4700::1111', '1.1.1.1'] }),
      signal: AbortSignal.timeout(1000),
    });
    expect(address).toBe('2606:4700:4700::1111');
  });
});

describe('checkRedirect', () => {
  const from = new URL('https://kp.example.test/.well-known/keypears.json');

  it('allows relative and same-origin targets', () => {
    expect(checkRedirect(from, '/other').href).toBe('https://kp.example.test/other');
    expect(checkRedirect(from, 'https://kp.example.test/x').href).toBe('https://kp.example.test/x');
  });

  it.each([
    ['https://127.0.0.1/'],
    ['https://[::1]/'],
    ['http://kp.example.test/x'],
    ['https://kp.example.test:8443/x'],
    ['https://user@kp.example.test/x'],
    ['//evil.test/x'],
    [''],
  ])('refuses %j', (location) => {
    expect(() => checkRedirect(from, location)).toThrow(expect.objectContaining({ code: 'redirect_refused' }));
  });
});

describe('cacheControlMaxAge', () => {
  it('reads max-age and treats no-store as zero', () => {
    expect(cacheControlMaxAge('public, max-age=300')).toBe(300);
    expect(cacheControlMaxAge('max-age=abc')).toBeUndefined();
    expect(cacheControlMaxAge('no-store')).toBe(0);
    expect(cacheControlMaxAge(undefined)).toBeUndefined();
  });
});
