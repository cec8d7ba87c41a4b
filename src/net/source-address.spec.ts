import { describe, expect, it } from '@jest/globals';
import { parseTrustedProxies, sourceBucket } from './source-address.js';

describe('rate-limit sources', () => {
  it('counts IPv4 addresses one by one, and IPv4-mapped IPv6 as the IPv4 address', () => {
    expect(sourceBucket('203.0.113.7', 64)).toBe('203.0.113.7');
    expect(sourceBucket('::ffff:203.0.113.7', 64)).toBe('203.0.113.7');
  });

  it('counts IPv6 addresses per network of the configured prefix', () => {
    const a = sourceBucket('2001:db8:1:2:aaaa::1', 64);
    expect(a).toBe('2001:db8:1:2::/64');
    expect(sourceBucket('2001:db8:1:2:ffff:ffff:ffff:ffff', 64)).toBe(a);
    expect(sourceBucket('2001:db8:1:3::1', 64)).not.toBe(a);
    expect(sourceBucket('2001:db8:1:3::1', 48)).toBe(sourceBucket('2001:db8:1:2::1', 48));
    expect(sourceBucket('2001:db8:1:2:3:4:5:6', 60)).toBe('2001:db8:1::/60');
    expect(sourceBucket('2001:db8::1', 128)).toBe('2001:db8::1/128');
    expect(sourceBucket('fe80::1%eth0', 64)).toBe('fe80::/64');
  });

  it('parses the trusted-proxy list strictly', () => {
    expect(parseTrustedProxies('10.0.0.1, 10.1.0.0/16,fd00::/8, ::1,loopback')).toEqual([
      '10.0.0.1',
      '10.1.0.0/16',
      'fd00::/8',
      '::1',
      'loopback',
    ]);
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.1/x', '1', '010.0.0.1', 'proxy.example', '', '10.0.0.1/8/8']) {
      expect(() => parseTrustedProxies(bad)).toThrow();
    }
  });
});
