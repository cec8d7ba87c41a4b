import { describe, expect, it } from '@jest/globals';
import { ed25519Keygen } from './crypto.js';
import {
  currentNodeKeys,
  normalizeNodeUrl,
  parseDomainPointer,
  parseNodeDocument,
  parseTxtRecord,
  requireDomainListed,
  selectTxtRecord,
} from './discovery.js';
import { toB64u } from './encoding.js';
import { KeyPearsError } from './errors.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof KeyPearsError) return e.code;
    throw e;
  }
  return 'no error';
};

const prod = { allowHttp: false };
const dev = { allowHttp: true };

describe('parseTxtRecord', () => {
  it.each([
    ['v=KP1; node=https://kp.example.com', 'https://kp.example.com'],
    ['v=KP1;node=https://kp.example.com/', 'https://kp.example.com'],
    ['  v=KP1 ;  node=https://KP.example.com:8443/base/  ', 'https://kp.example.com:8443/base'],
    ['v=KP1; node=https://kp.example.com;', 'https://kp.example.com'],
  ])('accepts %j', (record, url) => {
    expect(parseTxtRecord(record, prod)).toBe(url);
  });

  it.each([
    [''],
    ['v=KP1'],
    ['node=https://kp.example.com; v=KP1'],
    ['v=KP2; node=https://kp.example.com'],
    ['v=kp1; node=https://kp.example.com'],
    ['v=KP1; node=https://a.example; node=https://b.example'],
    ['v=KP1; v=KP1; node=https://a.example'],
    ['v=KP1; node=https://a.example; ttl=5'],
    ['v=KP1; node='],
    ['v=KP1; node=https://a.example extra'],
    ['v=KP1; node'],
    ['v=KP1; node=not a url'],
    ['v=KP1; node=https://user:pw@a.example'],
    ['v=KP1; node=https://a.example/?x=1'],
    ['v=KP1; node=https://a.example/#frag'],
    ['v=KP1; node=https://a.example\u0000'],
    ['v=KP1;; node=https://a.example'],
    [`v=KP1; node=https://a.example/${'x'.repeat(1100)}`],
  ])('refuses %j as discovery_record_invalid', (record) => {
    expect(code(() => parseTxtRecord(record, prod))).toBe('discovery_record_invalid');
  });

  it('refuses plain http outside dev mode with insecure_scheme, accepts it in dev mode', () => {
    expect(code(() => parseTxtRecord('v=KP1; node=http://127.0.0.1:4273', prod))).toBe('insecure_scheme');
    expect(parseTxtRecord('v=KP1; node=http://127.0.0.1:4273', dev)).toBe('http://127.0.0.1:4273');
    expect(code(() => parseTxtRecord('v=KP1; node=ftp://a.example', dev))).toBe('insecure_scheme');
  });
});

describe('selectTxtRecord', () => {
  it('returns undefined without records and the URL with exactly one', () => {
    expect(selectTxtRecord([], 'a.test', prod)).toBeUndefined();
    expect(selectTxtRecord(['v=KP1; node=https://kp.a.test'], 'a.test', prod)).toBe('https://kp.a.test');
  });

  it('refuses two records even when only one is valid', () => {
    expect(
      code(() => selectTxtRecord(['v=KP1; node=https://x.test', 'v=KP1; node=https://x.test'], 'a.test', prod)),
    ).toBe('discovery_record_ambiguous');
    expect(code(() => selectTxtRecord(['v=KP1; node=https://x.test', 'spf junk'], 'a.test', prod))).toBe(
      'discovery_record_ambiguous',
    );
  });
});

describe('normalizeNodeUrl', () => {
  it('normalises case, trailing slashes and default ports', () => {
    expect(normalizeNodeUrl('HTTPS://KP.Example.COM:443//', prod)).toBe('https://kp.example.com');
    expect(normalizeNodeUrl('https://[::1]:8443/', prod)).toBe('https://[::1]:8443');
  });
});

const key = () => toB64u(ed25519Keygen().publicKey);
const doc = (over: Record<string, unknown> = {}) => ({
  protocol: 'KP1',
  node: 'https://kp.b.test',
  domains: ['b.test', 'c.test'],
  keys: [{ keyId: 'k1', alg: 'ed25519', publicKey: key(), notBefore: 100, notAfter: null }],
  software: { name: 'keypears-node', version: '0.1.0' },
  ...over,
});

describe('parseNodeDocument', () => {
  it('accepts a valid document, ignoring unknown fields', () => {
    const parsed = parseNodeDocument({ ...doc(), future: true }, 'https://kp.b.test', prod);
    expect(parsed.domains).toEqual(['b.test', 'c.test']);
    expect('future' in parsed).toBe(false);
  });

  it.each([
    ['a wrong protocol', { protocol: 'KP2' }],
    ['another node', { node: 'https://evil.test' }],
    ['a non-canonical domain', { domains: ['B.test'] }],
    ['an invalid domain', { domains: ['b..test'] }],
    ['no keys', { keys: [] }],
    ['a short key', { keys: [{ keyId: 'k', alg: 'ed25519', publicKey: 'AAAA', notBefore: 0, notAfter: null }] }],
    ['a bad key id', { keys: [{ keyId: 'a b', alg: 'ed25519', publicKey: key(), notBefore: 0, notAfter: null }] }],
    [
      'duplicate key ids',
      {
        keys: [
          { keyId: 'k', alg: 'ed25519', publicKey: key(), notBefore: 0, notAfter: null },
          { keyId: 'k', alg: 'ed25519', publicKey: key(), notBefore: 0, notAfter: null },
        ],
      },
    ],
    [
      'a key ending before it starts',
      { keys: [{ keyId: 'k', alg: 'ed25519', publicKey: key(), notBefore: 9, notAfter: 1 }] },
    ],
    ['an http node outside dev mode', { node: 'http://kp.b.test' }],
  ])('refuses a document with %s', (_, over) => {
    expect(code(() => parseNodeDocument(doc(over), 'https://kp.b.test', prod))).toBe('node_document_invalid');
  });

  it('refuses non-objects', () => {
    for (const v of [null, 'x', [], 42])
      expect(code(() => parseNodeDocument(v, 'https://kp.b.test', prod))).toBe('node_document_invalid');
  });
});

describe('parseDomainPointer and requireDomainListed', () => {
  it('reads the node from a pointer or from a full document', () => {
    expect(parseDomainPointer({ protocol: 'KP1', node: 'https://kp.b.test/' }, 'b.test', prod)).toBe(
      'https://kp.b.test',
    );
    expect(parseDomainPointer(doc(), 'b.test', prod)).toBe('https://kp.b.test');
  });

  it('refuses something that is not a pointer', () => {
    expect(code(() => parseDomainPointer({ hello: 1 }, 'b.test', prod))).toBe('well_known_invalid');
    expect(code(() => parseDomainPointer({ protocol: 'KP1', node: 'javascript:alert(1)' }, 'b.test', prod))).toBe(
      'insecure_scheme',
    );
  });

  it('requires the domain in the node document', () => {
    const parsed = parseNodeDocument(doc(), 'https://kp.b.test', prod);
    expect(() => requireDomainListed(parsed, 'b.test')).not.toThrow();
    expect(code(() => requireDomainListed(parsed, 'a.test'))).toBe('domain_not_listed');
  });

  it('lists only keys valid at a given time', () => {
    const parsed = parseNodeDocument(
      doc({
        keys: [
          { keyId: 'old', alg: 'ed25519', publicKey: key(), notBefore: 0, notAfter: 50 },
          { keyId: 'cur', alg: 'ed25519', publicKey: key(), notBefore: 40, notAfter: null },
          { keyId: 'future', alg: 'ed25519', publicKey: key(), notBefore: 1000, notAfter: null },
        ],
      }),
      'https://kp.b.test',
      prod,
    );
    expect(currentNodeKeys(parsed, 45).map((k) => k.keyId)).toEqual(['old', 'cur']);
    expect(currentNodeKeys(parsed, 50).map((k) => k.keyId)).toEqual(['cur']);
  });
});
