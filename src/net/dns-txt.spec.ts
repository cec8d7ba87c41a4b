import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestNameserver, type LoopbackNameserver } from '../../test/support/dns-server.js';
import { eventually } from '../../test/support/exchange-users.js';
import { startTruncatingNameserver } from '../../test/support/truncating-nameserver.js';
import { lookupTxt, parseNameserver } from './dns-txt.js';

let ns: LoopbackNameserver;

beforeAll(async () => {
  ns = await startTestNameserver();
});
afterAll(async () => {
  await ns?.stop();
});

describe('lookupTxt against a loopback nameserver', () => {
  it('returns records joined from their character-strings, with the smallest TTL', async () => {
    ns.set('_keypears.split.test', { txt: [['v=KP1; ', 'node=https://kp.split.test']], ttl: 42 });
    expect(await lookupTxt('_keypears.split.test', { dnsServers: [ns.address] })).toEqual({
      kind: 'records',
      records: ['v=KP1; node=https://kp.split.test'],
      ttlSeconds: 42,
    });
  });

  it('returns every record when there are several', async () => {
    ns.setTxt('_keypears.two.test', 'a', 'b');
    const answer = await lookupTxt('_keypears.two.test', { dnsServers: [ns.address] });
    expect(answer.kind === 'records' && answer.records.sort()).toEqual(['a', 'b']);
  });

  it('reports NXDOMAIN and empty answers as none', async () => {
    expect(await lookupTxt('_keypears.missing.test', { dnsServers: [ns.address] })).toEqual({ kind: 'none' });
    ns.setA('only-a.test', '127.0.0.1');
    expect(await lookupTxt('only-a.test', { dnsServers: [ns.address] })).toEqual({ kind: 'none' });
  });

  it('fails with discovery_unavailable when the nameserver does not answer', async () => {
    await ns.pause();
    try {
      await expect(
        lookupTxt('_keypears.split.test', { dnsServers: [ns.address], timeoutMs: 300 }),
      ).rejects.toMatchObject({
        code: 'discovery_unavailable',
      });
    } finally {
      await ns.resume();
    }
  });
});

describe('lookupTxt over TCP after a truncated answer', () => {
  it('asks again over TCP and reads the whole answer', async () => {
    ns.setTxt('_keypears.tc.test', 'v=KP1; node=https://kp.tc.test');
    const tc = await startTruncatingNameserver(ns);
    try {
      expect(await lookupTxt('_keypears.tc.test', { dnsServers: [tc.address] })).toMatchObject({
        kind: 'records',
        records: ['v=KP1; node=https://kp.tc.test'],
      });
      expect(tc.tcpConnections).toBe(1);
    } finally {
      await tc.stop();
    }
  });

  it('gives up at the one deadline of the lookup when the TCP retry is never answered, closing the connection', async () => {
    const tc = await startTruncatingNameserver(ns);
    tc.tcp = 'hang';
    try {
      await expect(lookupTxt('_keypears.tc.test', { dnsServers: [tc.address], timeoutMs: 300 })).rejects.toMatchObject({
        code: 'discovery_unavailable',
        message: expect.stringContaining('no answer within 300 ms'),
      });
      expect(tc.tcpConnections).toBe(1);
      await eventually(async () => (tc.openTcpConnections() === 0 ? true : undefined), 5000, 'the socket to close');
    } finally {
      await tc.stop();
    }
  });
});

describe('parseNameserver', () => {
  it('reads the forms of KEYPEARS_DNS_SERVERS and of the system list', () => {
    expect(parseNameserver('127.0.0.1:5353')).toEqual({ host: '127.0.0.1', port: 5353 });
    expect(parseNameserver('[::1]:53')).toEqual({ host: '::1', port: 53 });
    expect(parseNameserver('::1')).toEqual({ host: '::1', port: 53 });
    expect(parseNameserver('10.0.0.2')).toEqual({ host: '10.0.0.2', port: 53 });
    expect(parseNameserver('ns.example:53')).toEqual({ host: 'ns.example', port: 53 });
  });

  it('refuses what is not host[:port], a port out of range, and a missing port when one is required', () => {
    for (const bad of ['', '127.0.0.1:0', '127.0.0.1:65536', 'a b:53', '[::1', '1.2.3.4:53:53']) {
      expect({ bad, parsed: parseNameserver(bad) }).toEqual({ bad, parsed: undefined });
    }
    expect(parseNameserver('127.0.0.1', { requirePort: true })).toBeUndefined();
    expect(parseNameserver('::1', { requirePort: true })).toBeUndefined();
    expect(parseNameserver('[::1]:5353', { requirePort: true })).toEqual({ host: '::1', port: 5353 });
  });
});
