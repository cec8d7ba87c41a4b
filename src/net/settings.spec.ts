import { describe, expect, it } from '@jest/globals';
import { parseDevFlag, parseDevWellKnownPort, parseDiscoverySettings, parseDnsServers } from './settings.js';

describe('the settings the node and the CLI share', () => {
  it('parses nameserver lists', () => {
    expect(parseDnsServers('127.0.0.1:5353, [::1]:53')).toEqual(['127.0.0.1:5353', '[::1]:53']);
    expect(parseDnsServers(undefined)).toEqual([]);
    expect(parseDnsServers(' ')).toEqual([]);
    expect(() => parseDnsServers('127.0.0.1:0')).toThrow(/^KEYPEARS_DNS_SERVERS: .*host:port/);
    expect(() => parseDnsServers('127.0.0.1')).toThrow(/host:port/);
  });

  it('reads KEYPEARS_DEV as 1/true or 0/false, refusing anything else with invalid_config', () => {
    expect([{}, { KEYPEARS_DEV: '0' }, { KEYPEARS_DEV: 'false' }].map(parseDevFlag)).toEqual([false, false, false]);
    expect([{ KEYPEARS_DEV: '1' }, { KEYPEARS_DEV: ' true ' }].map(parseDevFlag)).toEqual([true, true]);
    expect(() => parseDevFlag({ KEYPEARS_DEV: 'yes' })).toThrow(
      expect.objectContaining({ code: 'invalid_config', details: { variable: 'KEYPEARS_DEV' } }),
    );
  });

  it('accepts the development well-known port only with KEYPEARS_DEV=1', () => {
    expect(parseDevWellKnownPort({ KEYPEARS_DEV: '1', KEYPEARS_DEV_WELL_KNOWN_PORT: '8080' })).toBe(8080);
    expect(() => parseDevWellKnownPort({ KEYPEARS_DEV_WELL_KNOWN_PORT: '8080' })).toThrow(/needs KEYPEARS_DEV=1/);
  });

  it('gathers the three discovery settings', () => {
    expect(
      parseDiscoverySettings({
        KEYPEARS_DEV: '1',
        KEYPEARS_DNS_SERVERS: '127.0.0.1:53',
        KEYPEARS_DEV_WELL_KNOWN_PORT: '81',
      }),
    ).toEqual({ dev: true, dnsServers: ['127.0.0.1:53'], devWellKnownPort: 81 });
    expect(parseDiscoverySettings({})).toEqual({ dev: false, dnsServers: [], devWellKnownPort: undefined });
  });
});
