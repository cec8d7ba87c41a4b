import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { refusal } from '../../test/support/expect-error.js';
import { ed25519Keygen } from './crypto.js';
import { fromHex } from './encoding.js';
import { identityFingerprint, safetyNumber, safetyNumberHalf, storedIdentityFingerprint } from './fingerprint.js';

interface VectorParty {
  address: string;
  canonicalAddress: string;
  identityKey: string;
  half: string;
}

/**
 * These vectors pin the algorithm documented in docs/fingerprints.md: they were computed once
 * from that text (by an independent script, then checked against this implementation). If a test
 * here fails, the code has drifted from the documented algorithm; fix the code, not the vector.
 */
const vectors = JSON.parse(
  readFileSync(new URL('../../docs/test-vectors/fingerprints.json', import.meta.url), 'utf8'),
) as {
  fingerprints: Array<{ identityKey: string; fingerprint: string }>;
  safetyNumbers: Array<{ a: VectorParty; b: VectorParty; safetyNumber: string }>;
};

const party = (p: VectorParty) => ({ address: p.address, identityKey: fromHex(p.identityKey) });

describe('identityFingerprint', () => {
  it.each(vectors.fingerprints)('matches the pinned vector for $identityKey', ({ identityKey, fingerprint }) => {
    expect(identityFingerprint(fromHex(identityKey))).toBe(fingerprint);
  });

  it('is 8 groups of 4 lower-case hex digits', () => {
    expect(identityFingerprint(ed25519Keygen().publicKey)).toMatch(/^[0-9a-f]{4}(?: [0-9a-f]{4}){7}$/);
  });

  it('refuses what is not an Ed25519 public key, naming the field', () => {
    const short = refusal(() => identityFingerprint(new Uint8Array(31)));
    expect(short.code).toBe('invalid_key');
    expect(short.message).toBe('identityPublicKey must be a 32-byte Ed25519 public key');
    const notAPoint = fromHex('0200000000000000000000000000000000000000000000000000000000000000');
    expect(refusal(() => identityFingerprint(notAPoint)).message).toBe(
      'identityPublicKey is not a valid Ed25519 public key',
    );
  });
});

describe('storedIdentityFingerprint', () => {
  it.each(vectors.fingerprints)('matches the pinned vector for $identityKey', ({ identityKey, fingerprint }) => {
    expect(storedIdentityFingerprint(fromHex(identityKey))).toBe(fingerprint);
  });

  it('still refuses a key of the wrong length', () => {
    expect(refusal(() => storedIdentityFingerprint(new Uint8Array(31))).code).toBe('invalid_key');
  });
});

describe('safetyNumber', () => {
  const alice = { address: 'alice@example.com', identityKey: ed25519Keygen().publicKey };
  const bob = { address: 'bob@example.org', identityKey: ed25519Keygen().publicKey };

  it.each(vectors.safetyNumbers)(
    'matches the pinned vector for $a.address and $b.address',
    ({ a, b, safetyNumber: expected }) => {
      expect(safetyNumberHalf(party(a))).toBe(a.half);
      expect(safetyNumberHalf(party(b))).toBe(b.half);
      expect(safetyNumber(party(a), party(b))).toBe(expected);
    },
  );

  it('is 60 digits in 12 groups of 5', () => {
    expect(safetyNumber(alice, bob)).toMatch(/^\d{5}(?: \d{5}){11}$/);
  });

  it('is the same whichever side computes it', () => {
    expect(safetyNumber(alice, bob)).toBe(safetyNumber(bob, alice));
  });

  it('depends on the canonical address only, not its spelling', () => {
    const spelled = { ...alice, address: 'ALICE@Example.COM' };
    expect(safetyNumber(spelled, bob)).toBe(safetyNumber(alice, bob));
  });

  it('changes when either key or either address changes', () => {
    const base = safetyNumber(alice, bob);
    const otherKey = ed25519Keygen().publicKey;
    expect(safetyNumber({ ...alice, identityKey: otherKey }, bob)).not.toBe(base);
    expect(safetyNumber(alice, { ...bob, identityKey: otherKey })).not.toBe(base);
    expect(safetyNumber({ ...alice, address: 'alice@example.net' }, bob)).not.toBe(base);
    expect(safetyNumber(alice, { ...bob, address: 'bobby@example.org' })).not.toBe(base);
  });

  it('refuses bad input, naming the party and the field', () => {
    const badAddress = refusal(() => safetyNumber(alice, { ...bob, address: 'bob' }));
    expect(badAddress.code).toBe('invalid_address');
    expect(badAddress.message).toBe("b.address: address must contain exactly one '@', found 0");
    const badKey = refusal(() => safetyNumber({ ...alice, identityKey: new Uint8Array(32).fill(0xff) }, bob));
    expect(badKey.code).toBe('invalid_key');
    expect(badKey.message).toBe('a.identityKey is not a valid Ed25519 public key');
  });
});
