/**
 * Per-source rate limits behind a reverse proxy (KEYPEARS_TRUST_PROXY) and for IPv6 networks
 * (KEYPEARS_IPV6_SOURCE_PREFIX), on the registration limit, which counts every attempt. The
 * trusted proxy is played by connections from 127.0.0.2, anyone else by 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { startTestNode, type TestNode } from './support/test-node.js';

const PROXY = '127.0.0.2';
const OTHER = '127.0.0.1';

let t: TestNode;

beforeAll(async () => {
  t = await startTestNode({
    KEYPEARS_TRUST_PROXY: `${PROXY}, 10.9.0.0/16`,
    KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE: '2',
  });
});

afterAll(async () => {
  await t?.destroy();
});

/** A registration attempt (an empty, invalid one: it is counted all the same) from `from`. */
function register(from: string, forwardedFor?: string, node: TestNode = t): Promise<number> {
  const url = new URL('/api/v1/accounts', node.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress: from,
        headers: {
          'content-type': 'application/json',
          ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

async function attempts(from: string, forwardedFor: string | undefined, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push(await register(from, forwardedFor));
  return statuses;
}

describe('behind a trusted proxy', () => {
  it('counts each client named by the proxy on its own budget', async () => {
    expect(await attempts(PROXY, '198.51.100.1', 3)).toEqual([400, 400, 429]);
    // Another client through the same proxy is not refused because of the first.
    expect(await attempts(PROXY, '198.51.100.2', 2)).toEqual([400, 400]);
    // The proxy's own address is a third source.
    expect(await attempts(PROXY, undefined, 3)).toEqual([400, 400, 429]);
  });

  it('ignores X-Forwarded-For from anyone else', async () => {
    // Claiming to forward for fresh clients gets the connection's own single budget.
    expect(await register(OTHER, '198.51.100.10')).toBe(400);
    expect(await register(OTHER, '198.51.100.11')).toBe(400);
    expect(await register(OTHER, '198.51.100.12')).toBe(429);
    expect(await register(OTHER)).toBe(429);
  });

  it('counts IPv6 clients per /64', async () => {
    expect(await register(PROXY, '2001:db8:7:1::1')).toBe(400);
    expect(await register(PROXY, '2001:db8:7:1::2')).toBe(400);
    expect(await register(PROXY, '2001:db8:7:1:ffff::3')).toBe(429);
    // The next /64 is another source.
    expect(await register(PROXY, '2001:db8:7:2::1')).toBe(400);
  });
});

describe('KEYPEARS_IPV6_SOURCE_PREFIX', () => {
  let wide: TestNode;
  beforeAll(async () => {
    wide = await startTestNode({
      KEYPEARS_TRUST_PROXY: PROXY,
      KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE: '1',
      KEYPEARS_IPV6_SOURCE_PREFIX: '48',
    });
  });
  afterAll(async () => {
    await wide?.destroy();
  });

  it('sets the IPv6 network counted as one source', async () => {
    const from = (forwardedFor: string) => register(PROXY, forwardedFor, wide);
    expect(await from('2001:db8:8:1::1')).toBe(400);
    expect(await from('2001:db8:8:2::1')).toBe(429);
    expect(await from('2001:db8:9::1')).toBe(400);
  });
});
