import { describe, expect, it } from '@jest/globals';
import { loadConfig } from './config.js';

const fails = (env: Record<string, string>, variable: string) => {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toMatchObject({ code: 'invalid_config' });
    expect((e as Error).message.startsWith(`${variable}:`)).toBe(true);
    return;
  }
  throw new Error(`expected ${variable} to be refused`);
};

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      databaseUrl: undefined,
      host: '127.0.0.1',
      port: 4273,
      publicUrl: 'http://127.0.0.1:4273',
      domains: ['localhost'],
      dnsServers: [],
      dev: false,
      registration: 'invite',
      trustProxy: [],
      ipv6SourcePrefix: 64,
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      keepAliveTimeoutMs: 72_000,
      maxConnections: 1024,
    });
    expect(c.dataDir.endsWith('.keypears-node')).toBe(true);
    expect(loadConfig({ KEYPEARS_DEV: '1' }).registration).toBe('open');
  });

  it('canonicalises domains and the public URL', () => {
    const c = loadConfig({
      KEYPEARS_DOMAINS: 'A.Example, bücher.example,a.example',
      KEYPEARS_PUBLIC_URL: 'https://kp.example/',
    });
    expect(c.domains).toEqual(['a.example', 'xn--bcher-kva.example']);
    expect(c.publicUrl).toBe('https://kp.example');
  });

  it('names the variable and the problem', () => {
    fails({ PORT: 'eighty' }, 'PORT');
    fails({ PORT: '70000' }, 'PORT');
    fails({ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL');
    fails({ KEYPEARS_DOMAINS: 'a..b' }, 'KEYPEARS_DOMAINS');
    fails({ KEYPEARS_PUBLIC_URL: 'ftp://x' }, 'KEYPEARS_PUBLIC_URL');
    fails({ KEYPEARS_PUBLIC_URL: 'https://user:pw@x' }, 'KEYPEARS_PUBLIC_URL');
    fails({ KEYPEARS_DEV: 'yes' }, 'KEYPEARS_DEV');
    fails({ KEYPEARS_REGISTRATION: 'sometimes' }, 'KEYPEARS_REGISTRATION');
    fails({ KEYPEARS_DNS_SERVERS: '127.0.0.1' }, 'KEYPEARS_DNS_SERVERS');
  });

  it('refuses an outbox lease that is not longer than the federation request deadline', () => {
    expect(loadConfig({})).toMatchObject({ outboxLeaseMs: 30_000, federationTimeoutMs: 10_000 });
    fails({ KEYPEARS_OUTBOX_LEASE_MS: '10000' }, 'KEYPEARS_OUTBOX_LEASE_MS');
    fails({ KEYPEARS_OUTBOX_LEASE_MS: '1500', KEYPEARS_FEDERATION_TIMEOUT_MS: '2000' }, 'KEYPEARS_OUTBOX_LEASE_MS');
    expect(loadConfig({ KEYPEARS_OUTBOX_LEASE_MS: '1500', KEYPEARS_FEDERATION_TIMEOUT_MS: '1000' })).toMatchObject({
      outboxLeaseMs: 1500,
      federationTimeoutMs: 1000,
    });
  });

  it('accepts KEYPEARS_DEV_WELL_KNOWN_PORT only in development mode', () => {
    expect(loadConfig({}).devWellKnownPort).toBeUndefined();
    expect(loadConfig({ KEYPEARS_DEV: '1', KEYPEARS_DEV_WELL_KNOWN_PORT: '8080' }).devWellKnownPort).toBe(8080);
    fails({ KEYPEARS_DEV_WELL_KNOWN_PORT: '8080' }, 'KEYPEARS_DEV_WELL_KNOWN_PORT');
    fails({ KEYPEARS_DEV: '1', KEYPEARS_DEV_WELL_KNOWN_PORT: '0' }, 'KEYPEARS_DEV_WELL_KNOWN_PORT');
  });

  it('serves the metrics nowhere by default, on a loopback listener of their own, or to the token', () => {
    const token = 'a1'.repeat(16);
    expect(loadConfig({}).metrics).toEqual({ port: undefined, host: '127.0.0.1', token: undefined });
    expect(loadConfig({ KEYPEARS_METRICS_PORT: '9464' }).metrics).toEqual({
      port: 9464,
      host: '127.0.0.1',
      token: undefined,
    });
    expect(loadConfig({ KEYPEARS_METRICS_TOKEN: token }).metrics).toEqual({
      port: undefined,
      host: '127.0.0.1',
      token,
    });
    expect(loadConfig({ KEYPEARS_METRICS_PORT: '9464', KEYPEARS_METRICS_HOST: '::1' }).metrics.host).toBe('::1');
    expect(
      loadConfig({ KEYPEARS_METRICS_PORT: '9464', KEYPEARS_METRICS_HOST: '0.0.0.0', KEYPEARS_METRICS_TOKEN: token })
        .metrics,
    ).toEqual({ port: 9464, host: '0.0.0.0', token });
    // off loopback only with the token; a host without a port; the public port; short or odd tokens
    fails({ KEYPEARS_METRICS_PORT: '9464', KEYPEARS_METRICS_HOST: '0.0.0.0' }, 'KEYPEARS_METRICS_HOST');
    fails({ KEYPEARS_METRICS_PORT: '9464', KEYPEARS_METRICS_HOST: '10.0.0.5' }, 'KEYPEARS_METRICS_HOST');
    fails({ KEYPEARS_METRICS_HOST: '127.0.0.1' }, 'KEYPEARS_METRICS_HOST');
    fails({ KEYPEARS_METRICS_PORT: '4273' }, 'KEYPEARS_METRICS_PORT');
    fails({ KEYPEARS_METRICS_PORT: 'x' }, 'KEYPEARS_METRICS_PORT');
    fails({ KEYPEARS_METRICS_TOKEN: 'short' }, 'KEYPEARS_METRICS_TOKEN');
    fails({ KEYPEARS_METRICS_TOKEN: `${token} ${token}` }, 'KEYPEARS_METRICS_TOKEN');
  });

  it('takes trusted proxies as addresses, CIDR ranges or range names, and refuses anything else', () => {
    expect(loadConfig({ KEYPEARS_TRUST_PROXY: '10.0.0.1, 192.168.0.0/16, fd00::/8, loopback' }).trustProxy).toEqual([
      '10.0.0.1',
      '192.168.0.0/16',
      'fd00::/8',
      'loopback',
    ]);
    fails({ KEYPEARS_TRUST_PROXY: 'true' }, 'KEYPEARS_TRUST_PROXY');
    fails({ KEYPEARS_TRUST_PROXY: '1' }, 'KEYPEARS_TRUST_PROXY');
    fails({ KEYPEARS_TRUST_PROXY: '10.0.0.0/40' }, 'KEYPEARS_TRUST_PROXY');
    fails({ KEYPEARS_TRUST_PROXY: 'proxy.internal' }, 'KEYPEARS_TRUST_PROXY');
    fails({ KEYPEARS_IPV6_SOURCE_PREFIX: '16' }, 'KEYPEARS_IPV6_SOURCE_PREFIX');
  });

  it('keeps the timeouts and the connection cap in range', () => {
    fails({ KEYPEARS_REQUEST_TIMEOUT_MS: '0' }, 'KEYPEARS_REQUEST_TIMEOUT_MS');
    fails({ KEYPEARS_REQUEST_TIMEOUT_MS: '5000', KEYPEARS_HEADERS_TIMEOUT_MS: '6000' }, 'KEYPEARS_HEADERS_TIMEOUT_MS');
    fails({ KEYPEARS_MAX_CONNECTIONS: '0' }, 'KEYPEARS_MAX_CONNECTIONS');
    expect(loadConfig({ KEYPEARS_MAX_CONNECTIONS: '10' }).maxConnections).toBe(10);
  });
});
