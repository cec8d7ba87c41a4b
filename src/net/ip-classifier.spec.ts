import { describe, expect, it } from '@jest/globals';
import { KeyPearsError } from '../protocol/errors.js';
import { checkDestinationAddress, classifyAddress, isAllowedAddress, type AddressClass } from './ip-classifier.js';

/** [address, expected class]: the first, last and a middle address of every refused range. */
const REFUSED_V4: Array<[string, AddressClass]> = [
  ['0.0.0.0', 'unspecified'],
  ['0.255.255.255', 'unspecified'],
  ['10.0.0.0', 'private'],
  ['10.20.30.40', 'private'],
  ['10.255.255.255', 'private'],
  ['100.64.0.0', 'cgnat'],
  ['100.100.100.200', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['169.254.0.1', 'link-local'],
  ['169.254.169.254', 'link-local'],
  ['172.16.0.0', 'private'],
  ['172.31.255.255', 'private'],
  ['192.0.0.0', 'reserved'],
  ['192.0.0.255', 'reserved'],
  ['192.0.2.1', 'documentation'],
  ['192.88.99.1', 'reserved'],
  ['192.168.0.1', 'private'],
  ['192.168.255.255', 'private'],
  ['198.18.0.0', 'reserved'],
  ['198.19.255.255', 'reserved'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.255', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['254.255.255.255', 'reserved'],
  ['255.255.255.255', 'broadcast'],
];

const PUBLIC_V4 = [
  '1.1.1.1',
  '8.8.8.8',
  '9.255.255.255',
  '11.0.0.0',
  '100.63.255.255',
  '100.128.0.0',
  '126.255.255.255',
  '128.0.0.0',
  '169.253.255.255',
  '169.255.0.0',
  '172.15.255.255',
  '172.32.0.0',
  '192.0.1.0',
  '192.0.3.0',
  '192.88.98.255',
  '192.167.255.255',
  '192.169.0.0',
  '198.17.255.255',
  '198.20.0.0',
  '223.255.255.255',
];

const REFUSED_V6: Array<[string, AddressClass]> = [
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:8.8.8.8', 'ipv4-mapped'],
  ['64:ff9b::127.0.0.1', 'loopback'],
  ['64:ff9b::a9fe:a9fe', 'link-local'],
  ['64:ff9b::192.168.1.1', 'private'],
  ['64:ff9b:1::1', 'reserved'],
  ['64:ff9b:1:ffff::1', 'reserved'],
  ['100::', 'reserved'],
  ['100::ffff:ffff:ffff:ffff', 'reserved'],
  ['2001::1', 'reserved'],
  ['2001:1ff:ffff::1', 'reserved'],
  ['2001:db8::1', 'documentation'],
  ['2001:db8:ffff:ffff::1', 'documentation'],
  ['2002:7f00:1::1', 'loopback'],
  ['2002:0a00:0001::1', 'private'],
  ['2002:0808:0808::1', 'reserved'],
  ['fc00::1', 'private'],
  ['fd12:3456:789a::1', 'private'],
  ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'private'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fec0::1', 'reserved'],
  ['feff::1', 'reserved'],
  ['ff02::1', 'multicast'],
  ['ff0e::1', 'multicast'],
  ['::127.0.0.1', 'reserved'],
  ['::2', 'reserved'],
  ['1::1', 'reserved'],
  ['4000::1', 'reserved'],
  ['3fff::1', 'documentation'],
];

const PUBLIC_V6 = [
  '2606:4700:4700::1111',
  '2a00:1450:4001:80b::200e',
  '2001:200::1',
  '2003::1',
  '64:ff9b::808:808',
  '3ffe::1',
];

describe('classifyAddress', () => {
  it.each(REFUSED_V4)('refuses IPv4 %s as %s', (address, cls) => {
    expect(classifyAddress(address).class).toBe(cls);
    expect(isAllowedAddress(address, { dev: false })).toBe(false);
  });

  it.each(REFUSED_V6)('refuses IPv6 %s as %s', (address, cls) => {
    expect(classifyAddress(address).class).toBe(cls);
    expect(isAllowedAddress(address, { dev: false })).toBe(false);
  });

  it.each(PUBLIC_V4.map((a) => [a]))('allows public IPv4 %s', (address) => {
    expect(classifyAddress(address)).toEqual({ class: 'public' });
    expect(isAllowedAddress(address, { dev: false })).toBe(true);
  });

  it.each(PUBLIC_V6.map((a) => [a]))('allows public IPv6 %s', (address) => {
    expect(classifyAddress(address)).toEqual({ class: 'public' });
    expect(isAllowedAddress(address, { dev: false })).toBe(true);
  });

  it('names the range that matched, including the embedded IPv4 range', () => {
    expect(classifyAddress('127.0.0.1').range).toBe('127.0.0.0/8');
    expect(classifyAddress('::ffff:127.0.0.1').range).toBe('::ffff:0:0/96 (127.0.0.0/8)');
    expect(classifyAddress('2002:7f00:1::1').range).toBe('2002::/16 (127.0.0.0/8)');
  });

  it('accepts bracketed IPv6 as found in URLs', () => {
    expect(classifyAddress('[::1]').class).toBe('loopback');
    expect(classifyAddress('[::ffff:7f00:1]').class).toBe('loopback');
  });

  it.each([
    ['127.1'],
    ['0x7f000001'],
    ['2130706433'],
    ['0177.0.0.1'],
    ['localhost'],
    [''],
    ['1.2.3.4.5'],
    ['::g'],
    ['[::1'],
  ])('refuses %j as invalid (legacy and non-IP forms are never interpreted)', (text) => {
    expect(classifyAddress(text).class).toBe('invalid');
    expect(isAllowedAddress(text, { dev: true })).toBe(false);
  });
});

describe('dev mode', () => {
  it('allows loopback and private ranges only', () => {
    for (const a of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3', '192.168.1.1', 'fd00::1']) {
      expect(isAllowedAddress(a, { dev: true })).toBe(true);
    }
    for (const a of [
      '169.254.169.254',
      '0.0.0.0',
      '::',
      '224.0.0.1',
      'ff02::1',
      '100.64.0.1',
      '192.0.2.1',
      'fe80::1',
    ]) {
      expect(isAllowedAddress(a, { dev: true })).toBe(false);
    }
  });
});

describe('checkDestinationAddress', () => {
  it('throws destination_forbidden naming host, address and range', () => {
    let error: unknown;
    try {
      checkDestinationAddress('169.254.169.254', { dev: false, host: 'metadata.test' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeyPearsError);
    const e = error as KeyPearsError;
    expect(e.code).toBe('destination_forbidden');
    expect(e.message).toContain('metadata.test (169.254.169.254)');
    expect(e.message).toContain('169.254.0.0/16');
    expect(e.details).toEqual({ addressClass: 'link-local' });
  });

  it('mentions KEYPEARS_DEV for loopback and passes public addresses', () => {
    expect(() => checkDestinationAddress('127.0.0.1', { dev: false })).toThrow(/KEYPEARS_DEV=1/);
    expect(() => checkDestinationAddress('127.0.0.1', { dev: true })).not.toThrow();
    expect(() => checkDestinationAddress('8.8.8.8', { dev: false })).not.toThrow();
  });
});
