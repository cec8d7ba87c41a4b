import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ed25519Keygen, mlkem768Keygen, x25519Keygen, x25519SharedSecret } from './crypto.js';
import { fromHex, toHex } from './encoding.js';
import {
  checkIdentityKey,
  checkKeyId,
  checkPrekeyPublicKey,
  LOW_ORDER_X25519,
  PREKEY_KINDS,
  type PrekeyKind,
  prekeyStatement,
  type PrekeyStatementInput,
  registrationStatement,
  type RegistrationStatementInput,
  requireCanonicalAddress,
  signPrekey,
  signRegistration,
  verifyPrekey,
  verifyRegistration,
} from './keys.js';
import { expectCode } from '../../test/support/expect-error.js';

const identity = ed25519Keygen(new Uint8Array(32).fill(7));
const other = ed25519Keygen(new Uint8Array(32).fill(8));
const x25519Key = x25519Keygen(new Uint8Array(32).fill(9)).publicKey;
const mlkemKey = mlkem768Keygen(new Uint8Array(64).fill(10)).publicKey;
const keyFor = (kind: PrekeyKind) => (kind.startsWith('pq-') ? mlkemKey : x25519Key);

/** 4-byte big-endian length, then the bytes: written out independently of `lengthPrefixed`. */
const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, bytes.length >> 8, bytes.length & 0xff]), bytes]);

describe('prekey statements', () => {
  it('encodes lengthPrefixed("KeyPears/v1 prekey", kind, address, decimal id, key)', () => {
    const publicKey = new Uint8Array(32).fill(0x09);
    const expected = Buffer.concat(
      ['KeyPears/v1 prekey', 'signed-prekey', 'bob@b.example', '4294967295'].map((s) => field(Buffer.from(s))),
    );
    const statement = prekeyStatement({
      kind: 'signed-prekey',
      address: 'bob@b.example',
      keyId: 0xffffffff,
      publicKey,
    });
    expect(toHex(statement)).toBe(toHex(Buffer.concat([expected, field(Buffer.from(publicKey))])));
  });

  it.each(PREKEY_KINDS)('signs and verifies a %s key', (kind) => {
    const input: PrekeyStatementInput = { kind, address: 'bob@b.example', keyId: 0, publicKey: keyFor(kind) };
    const signature = signPrekey(input, identity.secretKey);
    expect(signature).toHaveLength(64);
    expect(verifyPrekey(input, signature, identity.publicKey)).toBe(true);
  });

  describe('verifyPrekey refuses any change, without throwing', () => {
    const input: PrekeyStatementInput = {
      kind: 'one-time-prekey',
      address: 'bob@b.example',
      keyId: 5,
      publicKey: x25519Key,
    };
    const signature = signPrekey(input, identity.secretKey);
    const flipped = x25519Key.slice();
    flipped[0] ^= 1;
    const badSignature = signature.slice();
    badSignature[10] ^= 1;

    it.each<[string, PrekeyStatementInput, Uint8Array, Uint8Array]>([
      ['kind (moved to another slot)', { ...input, kind: 'signed-prekey' }, signature, identity.publicKey],
      ['address (moved to another user)', { ...input, address: 'carol@b.example' }, signature, identity.publicKey],
      ['key id', { ...input, keyId: 6 }, signature, identity.publicKey],
      ['public key', { ...input, publicKey: flipped }, signature, identity.publicKey],
      ['signature', input, badSignature, identity.publicKey],
      ['signer', input, signature, other.publicKey],
      ['non-canonical address', { ...input, address: 'Bob@b.example' }, signature, identity.publicKey],
      ['key of the wrong length', { ...input, kind: 'pq-one-time' }, signature, identity.publicKey],
      ['key id out of range', { ...input, keyId: -1 }, signature, identity.publicKey],
      ['unknown kind', { ...input, kind: 'other' as PrekeyKind }, signature, identity.publicKey],
      ['short signature', input, signature.slice(0, 63), identity.publicKey],
      ['short identity key', input, signature, identity.publicKey.slice(1)],
    ])('%s', (_, changed, sig, key) => {
      // Verified first, so that a remembered success is never taken for another input.
      expect(verifyPrekey(input, signature, identity.publicKey)).toBe(true);
      expect(verifyPrekey(changed, sig, key)).toBe(false);
    });
  });

  it.each<[string, Partial<PrekeyStatementInput>, string]>([
    ['unknown kind', { kind: 'prekey' as PrekeyKind }, 'invalid_argument'],
    ['negative key id', { keyId: -1 }, 'invalid_argument'],
    ['key id above 2^32 - 1', { keyId: 2 ** 32 }, 'invalid_argument'],
    ['fractional key id', { keyId: 1.5 }, 'invalid_argument'],
    ['non-canonical address', { address: 'bob@B.example' }, 'invalid_address'],
    ['invalid address', { address: 'bob' }, 'invalid_address'],
    ['X25519 key of 33 bytes', { publicKey: new Uint8Array(33) }, 'invalid_key'],
    ['ML-KEM key given for an X25519 slot', { publicKey: mlkemKey }, 'invalid_key'],
  ])('prekeyStatement refuses %s', (_, change, code) => {
    const input = {
      kind: 'signed-prekey' as const,
      address: 'bob@b.example',
      keyId: 1,
      publicKey: x25519Key,
      ...change,
    };
    expectCode(() => prekeyStatement(input), code);
  });
});

describe('checkPrekeyPublicKey', () => {
  it('accepts usable keys', () => {
    for (const kind of PREKEY_KINDS) expect(() => checkPrekeyPublicKey(kind, keyFor(kind))).not.toThrow();
  });

  it.each([
    ['zero', '0000000000000000000000000000000000000000000000000000000000000000'],
    ['one', '0100000000000000000000000000000000000000000000000000000000000000'],
    ['an order-8 point', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'],
    ['another order-8 point', '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157'],
    ['p - 1 (order 2)', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
  ])('refuses the low-order X25519 point %s', (_, hex) => {
    const error = expectCode(() => checkPrekeyPublicKey('signed-prekey', fromHex(hex), 'signedPrekey'), 'invalid_key');
    expect(error.message).toMatch(/^signedPrekey is a low-order/);
  });

  it('knows every low-order key by its table: each entry gives an all-zero secret with any scalar', () => {
    expect(LOW_ORDER_X25519.size).toBe(5);
    for (const hex of LOW_ORDER_X25519) {
      for (let i = 0; i < 3; i++) {
        expectCode(() => x25519SharedSecret(x25519Keygen().secretKey, fromHex(hex)), 'invalid_key');
      }
    }
  });

  it.each([
    ['p', 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
    ['a key with the top bit set', toHex(Uint8Array.from(x25519Key, (b, i) => (i === 31 ? b | 0x80 : b)))],
  ])('refuses the non-canonical X25519 encoding %s', (_, hex) => {
    expectCode(() => checkPrekeyPublicKey('one-time-prekey', fromHex(hex)), 'invalid_key');
  });

  it('refuses an ML-KEM-768 key that fails the modulus check, and wrong lengths', () => {
    expectCode(() => checkPrekeyPublicKey('pq-one-time', new Uint8Array(1184).fill(0xff)), 'invalid_key');
    expectCode(() => checkPrekeyPublicKey('pq-last-resort', x25519Key), 'invalid_key');
    expectCode(() => checkPrekeyPublicKey('identity-dh', mlkemKey), 'invalid_key');
  });
});

describe('checkIdentityKey, checkKeyId, requireCanonicalAddress', () => {
  it('refuses identity keys that are not Ed25519 points or of the wrong length', () => {
    expect(() => checkIdentityKey(identity.publicKey)).not.toThrow();
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    expectCode(() => checkIdentityKey(notAPoint), 'invalid_key');
    expectCode(() => checkIdentityKey(new Uint8Array(31)), 'invalid_key');
  });

  it('accepts key ids 0 to 2^32 - 1 only', () => {
    expect(() => checkKeyId(0, 'id')).not.toThrow();
    expect(() => checkKeyId(0xffffffff, 'id')).not.toThrow();
    for (const bad of [-1, 2 ** 32, 0.5, Number.NaN, '1']) expectCode(() => checkKeyId(bad, 'id'), 'invalid_argument');
  });

  it('names the canonical form of a non-canonical address', () => {
    expect(() => requireCanonicalAddress('bob@b.example', 'to')).not.toThrow();
    const error = expectCode(() => requireCanonicalAddress('Bob@B.example', 'to'), 'invalid_address');
    expect(error.message).toBe('to must be in canonical form (bob@b.example)');
  });
});

describe('registration statements', () => {
  const input: RegistrationStatementInput = {
    address: 'bob@b.example',
    nodeBaseUrl: 'https://keys.b.example',
    identityKey: identity.publicKey,
    identityDhKey: x25519Key,
    timestamp: 1767225600,
  };

  it('encodes lengthPrefixed("KeyPears/v1 register", address, node URL, IK, IKdh, decimal time)', () => {
    const expected = Buffer.concat([
      ...['KeyPears/v1 register', 'bob@b.example', 'https://keys.b.example'].map((s) => field(Buffer.from(s))),
      field(Buffer.from(identity.publicKey)),
      field(Buffer.from(x25519Key)),
      field(Buffer.from('1767225600')),
    ]);
    expect(toHex(registrationStatement(input))).toBe(toHex(expected));
  });

  it('signs and verifies, and refuses any change', () => {
    const proof = signRegistration(input, identity.secretKey);
    expect(verifyRegistration(input, proof)).toBe(true);
    const changes: Array<Partial<RegistrationStatementInput>> = [
      { address: 'carol@b.example' },
      { nodeBaseUrl: 'https://keys.evil.example' },
      { identityKey: other.publicKey },
      { identityDhKey: x25519Keygen(new Uint8Array(32).fill(11)).publicKey },
      { timestamp: 1767225601 },
      { address: 'BOB@b.example' },
      { timestamp: -1 },
      { identityDhKey: new Uint8Array(31) },
    ];
    for (const change of changes) expect(verifyRegistration({ ...input, ...change }, proof)).toBe(false);
    expect(verifyRegistration(input, proof.slice(0, 63))).toBe(false);
  });

  it.each<[string, Partial<RegistrationStatementInput>, string]>([
    ['relative node URL', { nodeBaseUrl: '/api' }, 'invalid_argument'],
    ['node URL with a space', { nodeBaseUrl: 'https://keys.b.example/a b' }, 'invalid_argument'],
    ['node URL of another scheme', { nodeBaseUrl: 'ftp://keys.b.example' }, 'invalid_argument'],
    ['fractional timestamp', { timestamp: 1.5 }, 'invalid_argument'],
    ['short identity key', { identityKey: new Uint8Array(31) }, 'invalid_key'],
    ['short identity DH key', { identityDhKey: new Uint8Array(31) }, 'invalid_key'],
    ['non-canonical address', { address: 'bob@B.EXAMPLE' }, 'invalid_address'],
  ])('registrationStatement refuses %s', (_, change, code) => {
    expectCode(() => registrationStatement({ ...input, ...change }), code);
  });
});

describe('docs/test-vectors/prekey.json', () => {
  const vectors = JSON.parse(readFileSync(new URL('../../docs/test-vectors/prekey.json', import.meta.url), 'utf8')) as {
    identitySecretKey: string;
    identityKey: string;
    prekeys: Array<{
      kind: PrekeyKind;
      address: string;
      keyId: number;
      publicKey: string;
      statement: string;
      signature: string;
    }>;
    registration: {
      address: string;
      nodeBaseUrl: string;
      identityKey: string;
      identityDhKey: string;
      timestamp: number;
      statement: string;
      proof: string;
    };
  };
  const secretKey = fromHex(vectors.identitySecretKey);
  const identityKey = fromHex(vectors.identityKey);

  it('derives the identity key from its seed', () => {
    expect(toHex(ed25519Keygen(secretKey).publicKey)).toBe(vectors.identityKey);
  });

  it.each(vectors.prekeys.map((v) => [v.kind, v] as const))('%s statement and signature', (_, vector) => {
    const input = {
      kind: vector.kind,
      address: vector.address,
      keyId: vector.keyId,
      publicKey: fromHex(vector.publicKey),
    };
    expect(toHex(prekeyStatement(input))).toBe(vector.statement);
    expect(toHex(signPrekey(input, secretKey))).toBe(vector.signature);
    expect(verifyPrekey(input, fromHex(vector.signature), identityKey)).toBe(true);
    expect(() => checkPrekeyPublicKey(vector.kind, input.publicKey)).not.toThrow();
  });

  it('registration statement and proof', () => {
    const { registration: r } = vectors;
    const input = {
      address: r.address,
      nodeBaseUrl: r.nodeBaseUrl,
      identityKey: fromHex(r.identityKey),
      identityDhKey: fromHex(r.identityDhKey),
      timestamp: r.timestamp,
    };
    expect(toHex(registrationStatement(input))).toBe(r.statement);
    expect(toHex(signRegistration(input, secretKey))).toBe(r.proof);
    expect(verifyRegistration(input, fromHex(r.proof))).toBe(true);
  });
});
