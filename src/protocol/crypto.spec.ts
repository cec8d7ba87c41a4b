/**
 * Known-answer tests from the published vectors (typed in from the RFC texts and the BLAKE3
 * repository), plus the refusals the protocol relies on.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { shake256 } from '@noble/hashes/sha3.js';
import {
  MLKEM768_CIPHERTEXT_LENGTH,
  MLKEM768_PUBLIC_KEY_LENGTH,
  MLKEM768_SECRET_KEY_LENGTH,
  blake3,
  cryptoBackends,
  ed25519Keygen,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  hkdfSha256,
  hmacSha256,
  isValidEd25519PublicKey,
  isValidMlkem768PublicKey,
  loadFastMlkem768,
  mlkem768Decapsulate,
  mlkem768Encapsulate,
  mlkem768Keygen,
  randomBytes,
  sha256,
  x25519Keygen,
  x25519PublicKey,
  x25519SharedSecret,
} from './crypto.js';
import { concatBytes, fromHex, toHex, utf8 } from './encoding.js';
import { expectCode } from '../../test/support/expect-error.js';

// Every test below runs with the fast paths this machine has (see crypto-fallback.spec.ts for
// the JavaScript-only ones); the backend tests check that they are in use.
await loadFastMlkem768();

/** Hex as printed in the RFCs, possibly split over lines. */
const hex = (text: string): Uint8Array => fromHex(text.replace(/\s+/g, ''));
const range = (from: number, to: number): Uint8Array => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('X25519 (RFC 7748)', () => {
  it.each([
    [
      '§5.2 vector 1',
      'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
      'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
      'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
    ],
    [
      // The u-coordinate has its top bit set, which X25519 must ignore.
      '§5.2 vector 2',
      '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
      'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
      '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
    ],
  ])('%s', (_name, scalar, u, expected) => {
    expect(toHex(x25519SharedSecret(hex(scalar), hex(u)))).toBe(expected);
  });

  it('§5.2 iterated: after 1 and after 1,000 iterations', () => {
    // k = u = 9; each step: k, u = X25519(k, u), k.
    let k = hex('0900000000000000000000000000000000000000000000000000000000000000');
    let u = k;
    for (let i = 1; i <= 1000; i++) {
      [k, u] = [x25519SharedSecret(k, u), k];
      if (i === 1) expect(toHex(k)).toBe('422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079');
    }
    expect(toHex(k)).toBe('684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51');
  });

  it('§6.1 Diffie-Hellman: public keys and the shared secret', () => {
    const alicePrivate = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bobPrivate = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const alicePublic = x25519PublicKey(alicePrivate);
    const bobPublic = x25519Keygen(bobPrivate).publicKey;
    expect(toHex(alicePublic)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(toHex(bobPublic)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(toHex(x25519SharedSecret(alicePrivate, bobPublic))).toBe(shared);
    expect(toHex(x25519SharedSecret(bobPrivate, alicePublic))).toBe(shared);
  });

  it.each([
    ['zero', '0000000000000000000000000000000000000000000000000000000000000000'],
    ['one (order 4)', '0100000000000000000000000000000000000000000000000000000000000000'],
    ['a point of order 8', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'],
  ])('refuses the low-order public key %s', (_name, u) => {
    expectCode(() => x25519SharedSecret(x25519Keygen().secretKey, hex(u)), 'invalid_key');
  });

  it('refuses keys of the wrong length', () => {
    const { secretKey, publicKey } = x25519Keygen();
    expectCode(() => x25519SharedSecret(secretKey, publicKey.subarray(1)), 'invalid_key');
    expectCode(() => x25519SharedSecret(secretKey.subarray(1), publicKey), 'invalid_key');
    expectCode(() => x25519PublicKey(new Uint8Array(33)), 'invalid_key');
  });
});

describe('Ed25519 (RFC 8032 §7.1)', () => {
  const vectors = [
    {
      name: 'TEST 1 (empty message)',
      secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      message: '',
      signature: `e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b
                  d25bf5f0595bbe24655141438e7a100b`,
    },
    {
      name: 'TEST 2 (one byte)',
      secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      message: '72',
      signature: `92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c
                  387b2eaeb4302aeeb00d291612bb0c00`,
    },
    {
      name: 'TEST 3 (two bytes)',
      secretKey: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
      publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
      message: 'af82',
      signature: `6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc659
                  4a7c15e9716ed28dc027beceea1ec40a`,
    },
  ].map((v) => ({
    name: v.name,
    secretKey: hex(v.secretKey),
    publicKey: hex(v.publicKey),
    message: hex(v.message),
    signature: hex(v.signature),
  }));

  describe.each(vectors)('$name', ({ secretKey, publicKey, message, signature }) => {
    it('derives the public key from the secret key', () => {
      expect(toHex(ed25519PublicKey(secretKey))).toBe(toHex(publicKey));
      expect(toHex(ed25519Keygen(secretKey).publicKey)).toBe(toHex(publicKey));
      expect(isValidEd25519PublicKey(publicKey)).toBe(true);
    });

    it('produces the published signature', () => {
      expect(toHex(ed25519Sign(message, secretKey))).toBe(toHex(signature));
    });

    it('verifies the published signature', () => {
      expect(ed25519Verify(signature, message, publicKey)).toBe(true);
    });

    it('rejects a tampered message, signature or key', () => {
      const longerMessage = concatBytes(message, new Uint8Array([0]));
      expect(ed25519Verify(signature, longerMessage, publicKey)).toBe(false);
      if (message.length > 0) {
        const flipped = message.slice();
        flipped[0] ^= 0x01;
        expect(ed25519Verify(signature, flipped, publicKey)).toBe(false);
      }
      for (const index of [0, 31, 32, 63]) {
        const tampered = signature.slice();
        tampered[index] ^= 0x01;
        expect(ed25519Verify(tampered, message, publicKey)).toBe(false);
      }
      const otherKey = ed25519Keygen().publicKey;
      expect(ed25519Verify(signature, message, otherKey)).toBe(false);
    });

    it('rejects the malleable form S + L (RFC 8032 §5.1.7 requires S < L)', () => {
      const L = 2n ** 252n + 27742317777372353535851937790883648493n;
      const s = BigInt(`0x${toHex(signature.slice(32).reverse())}`) + L;
      const sBytes = fromHex(s.toString(16).padStart(64, '0')).reverse();
      expect(ed25519Verify(concatBytes(signature.subarray(0, 32), sBytes), message, publicKey)).toBe(false);
    });
  });

  it('returns false, never throws, on garbage', () => {
    const { publicKey, secretKey } = ed25519Keygen();
    const message = utf8('hello');
    const signature = ed25519Sign(message, secretKey);
    const notAPoint = hex('0200000000000000000000000000000000000000000000000000000000000000');
    const nonCanonicalY = hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    const garbage: Array<[unknown, unknown, unknown]> = [
      [new Uint8Array(64), message, publicKey],
      [new Uint8Array(64).fill(0xff), message, publicKey],
      [signature.subarray(1), message, publicKey],
      [concatBytes(signature, new Uint8Array(1)), message, publicKey],
      [signature, message, publicKey.subarray(1)],
      [signature, message, notAPoint],
      [signature, message, nonCanonicalY],
      [signature, message, new Uint8Array(32)],
      [undefined, message, publicKey],
      [signature, 'hello', publicKey],
      [toHex(signature), message, publicKey],
      [signature, message, null],
    ];
    for (const [sig, msg, key] of garbage) {
      expect(ed25519Verify(sig as Uint8Array, msg as Uint8Array, key as Uint8Array)).toBe(false);
    }
    expect(ed25519Verify(signature, message, publicKey)).toBe(true);
  });

  it('tells valid public keys from invalid ones', () => {
    expect(isValidEd25519PublicKey(ed25519Keygen().publicKey)).toBe(true);
    expect(isValidEd25519PublicKey(hex('0200000000000000000000000000000000000000000000000000000000000000'))).toBe(
      false,
    );
    expect(isValidEd25519PublicKey(hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'))).toBe(
      false,
    );
    expect(isValidEd25519PublicKey(new Uint8Array(31))).toBe(false);
  });

  it('refuses secret keys of the wrong length', () => {
    expectCode(() => ed25519Keygen(new Uint8Array(31)), 'invalid_key');
    expectCode(() => ed25519PublicKey(new Uint8Array(64)), 'invalid_key');
    expectCode(() => ed25519Sign(utf8('x'), new Uint8Array(33)), 'invalid_key');
  });
});

describe('HKDF-SHA256 (RFC 5869 appendix A)', () => {
  it('A.1: basic test case', () => {
    const okm = hkdfSha256(hex('0b'.repeat(22)), range(0x00, 0x0c), range(0xf0, 0xf9), 42);
    expect(toHex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });

  it('A.2: longer inputs and outputs', () => {
    const okm = hkdfSha256(range(0x00, 0x4f), range(0x60, 0xaf), range(0xb0, 0xff), 82);
    expect(toHex(okm)).toBe(
      'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09' +
        'da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87',
    );
  });

  it('A.3: zero-length salt and info', () => {
    const okm = hkdfSha256(hex('0b'.repeat(22)), new Uint8Array(0), new Uint8Array(0), 42);
    expect(toHex(okm)).toBe('8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
  });
});

describe('SHA-256 and HMAC-SHA256', () => {
  it('SHA-256 of "abc" (FIPS 180-4 example)', () => {
    expect(toHex(sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('HMAC-SHA256, RFC 4231 test case 2', () => {
    const mac = hmacSha256(utf8('Jefe'), utf8('what do ya want for nothing?'));
    expect(toHex(mac)).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });
});

describe('SHA-256, HMAC and HKDF backends', () => {
  it('give the same bytes as noble on random inputs of many lengths', async () => {
    const { sha256: nobleSha256 } = await import('@noble/hashes/sha2.js');
    const { hmac } = await import('@noble/hashes/hmac.js');
    const { hkdf } = await import('@noble/hashes/hkdf.js');
    for (const length of [0, 1, 31, 32, 33, 63, 64, 65, 1023, 1024, 1025, 3500]) {
      const data = randomBytes(length);
      const key = randomBytes((length * 7) % 130);
      expect(toHex(sha256(data))).toBe(toHex(nobleSha256(data)));
      expect(toHex(hmacSha256(key, data))).toBe(toHex(hmac(nobleSha256, key, data)));
      // An info longer than node:crypto takes (1024 bytes) goes to noble.
      const out = 1 + (length % 100);
      expect(toHex(hkdfSha256(key, data.subarray(0, 40), data, out))).toBe(
        toHex(hkdf(nobleSha256, key, data.subarray(0, 40), data, out)),
      );
    }
  });
});

describe('BLAKE3 (official test vectors)', () => {
  const vectors = JSON.parse(readFileSync(new URL('../../docs/test-vectors/blake3.json', import.meta.url), 'utf8')) as {
    cases: Array<{ input_len: number; hash: string }>;
  };

  it('covers inputs past one 1024-byte chunk', () => {
    expect(vectors.cases.map((c) => c.input_len)).toEqual(expect.arrayContaining([0, 1, 1023, 1024, 1025, 8193]));
  });

  it.each(vectors.cases.map((c) => [c.input_len, c.hash] as const))('input of %i bytes', (length, expected) => {
    const input = Uint8Array.from({ length }, (_, i) => i % 251);
    expect(toHex(blake3(input))).toBe(expected.slice(0, 64));
    expect(toHex(blake3(input, expected.length / 2))).toBe(expected);
  });
});

describe('ML-KEM-768 (FIPS 203)', () => {
  it('round-trips keygen, encapsulate and decapsulate', () => {
    const { publicKey, secretKey } = mlkem768Keygen();
    expect(publicKey).toHaveLength(MLKEM768_PUBLIC_KEY_LENGTH);
    expect(secretKey).toHaveLength(MLKEM768_SECRET_KEY_LENGTH);
    expect(isValidMlkem768PublicKey(publicKey)).toBe(true);
    const { cipherText, sharedSecret } = mlkem768Encapsulate(publicKey);
    expect(cipherText).toHaveLength(MLKEM768_CIPHERTEXT_LENGTH);
    expect(sharedSecret).toHaveLength(32);
    expect(toHex(mlkem768Decapsulate(cipherText, secretKey))).toBe(toHex(sharedSecret));
  });

  it('is deterministic given the keygen seed and the encapsulation randomness', () => {
    const seed = range(0, 63);
    const a = mlkem768Keygen(seed);
    const b = mlkem768Keygen(seed);
    expect(toHex(a.publicKey)).toBe(toHex(b.publicKey));
    expect(toHex(a.secretKey)).toBe(toHex(b.secretKey));
    const m = new Uint8Array(32).fill(7);
    expect(toHex(mlkem768Encapsulate(a.publicKey, m).cipherText)).toBe(
      toHex(mlkem768Encapsulate(a.publicKey, m).cipherText),
    );
  });

  it('refuses keys, ciphertexts and seeds of the wrong length with invalid_key', () => {
    const { publicKey, secretKey } = mlkem768Keygen();
    const { cipherText } = mlkem768Encapsulate(publicKey);
    expectCode(() => mlkem768Encapsulate(publicKey.subarray(1)), 'invalid_key');
    expectCode(() => mlkem768Encapsulate(concatBytes(publicKey, new Uint8Array(1))), 'invalid_key');
    expectCode(() => mlkem768Decapsulate(cipherText.subarray(1), secretKey), 'invalid_key');
    expectCode(() => mlkem768Decapsulate(cipherText, secretKey.subarray(1)), 'invalid_key');
    expectCode(() => mlkem768Keygen(new Uint8Array(63)), 'invalid_key');
    expect(isValidMlkem768PublicKey(publicKey.subarray(1))).toBe(false);
  });

  it('refuses a public key with a coefficient out of range (FIPS 203 §7.2 modulus check)', () => {
    const { publicKey } = mlkem768Keygen();
    const bad = publicKey.slice();
    // The first 12-bit coefficient becomes 0xfff = 4095, which is not below q = 3329.
    bad[0] = 0xff;
    bad[1] |= 0x0f;
    expect(isValidMlkem768PublicKey(bad)).toBe(false);
    expectCode(() => mlkem768Encapsulate(bad), 'invalid_key');
  });

  it('checks keys as an encapsulation does: every coefficient, at its edge values, in either half of a byte triple', async () => {
    const { ml_kem768 } = await import('@noble/post-quantum/ml-kem.js');
    const nobleAccepts = (key: Uint8Array) => {
      try {
        ml_kem768.encapsulate(key, new Uint8Array(32));
        return true;
      } catch {
        return false;
      }
    };
    const { publicKey } = mlkem768Keygen();
    // Sets coefficient `c` (0..767) of the encoded vector to `value` (12 bits).
    const withCoefficient = (c: number, value: number) => {
      const key = publicKey.slice();
      const i = Math.floor(c / 2) * 3;
      if (c % 2 === 0) {
        key[i] = value & 0xff;
        key[i + 1] = (key[i + 1] & 0xf0) | (value >> 8);
      } else {
        key[i + 1] = (key[i + 1] & 0x0f) | ((value & 0x0f) << 4);
        key[i + 2] = value >> 4;
      }
      return key;
    };
    const cases = [publicKey];
    for (const c of [0, 1, 2, 3, 254, 255, 256, 511, 512, 766, 767]) {
      for (const value of [0, 3328, 3329, 3330, 4095]) cases.push(withCoefficient(c, value));
    }
    for (let i = 0; i < 20; i++) cases.push(mlkem768Keygen().publicKey, randomBytes(MLKEM768_PUBLIC_KEY_LENGTH));
    for (const key of cases) expect(isValidMlkem768PublicKey(key)).toBe(nobleAccepts(key));
    expect(cases.filter((k) => isValidMlkem768PublicKey(k)).length).toBeGreaterThan(20);
    expect(cases.filter((k) => !isValidMlkem768PublicKey(k)).length).toBeGreaterThan(20);
  });

  it('answers a modified ciphertext with the implicit-rejection secret J(z || c)', () => {
    const { publicKey, secretKey } = mlkem768Keygen();
    const { cipherText, sharedSecret } = mlkem768Encapsulate(publicKey);
    const modified = cipherText.slice();
    modified[100] ^= 0x01;
    const rejected = mlkem768Decapsulate(modified, secretKey);
    expect(toHex(rejected)).not.toBe(toHex(sharedSecret));
    // FIPS 203 Algorithm 18: z is the last 32 bytes of the decapsulation key, J = SHAKE256 to 32 bytes.
    const z = secretKey.subarray(MLKEM768_SECRET_KEY_LENGTH - 32);
    expect(toHex(rejected)).toBe(toHex(shake256(concatBytes(z, modified), { dkLen: 32 })));
  });
});

describe('randomBytes', () => {
  it('returns fresh bytes of the asked length', () => {
    expect(randomBytes(32)).toHaveLength(32);
    expect(toHex(randomBytes(32))).not.toBe(toHex(randomBytes(32)));
  });
});

describe('X25519 backends', () => {
  it('agree with noble on random keys, keys with the high bit set, and every low-order point', async () => {
    const { x25519 } = await import('@noble/curves/ed25519.js');
    const nobleOrRefused = (secretKey: Uint8Array, u: Uint8Array) => {
      try {
        const shared = x25519.getSharedSecret(secretKey, u);
        return shared.every((b) => b === 0) ? 'refused' : toHex(shared);
      } catch {
        return 'refused';
      }
    };
    const ours = (secretKey: Uint8Array, u: Uint8Array) => {
      try {
        return toHex(x25519SharedSecret(secretKey, u));
      } catch {
        return 'refused';
      }
    };
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ].map(hex);
    for (const u of lowOrder) expect(ours(x25519Keygen().secretKey, u)).toBe('refused');
    for (let i = 0; i < 50; i++) {
      const { secretKey } = x25519Keygen();
      const u = x25519Keygen().publicKey;
      if (i % 2) u[31] |= 0x80; // RFC 7748: the high bit is masked
      expect(ours(secretKey, u)).toBe(nobleOrRefused(secretKey, u));
    }
    for (const u of lowOrder) {
      const flipped = u.slice();
      flipped[31] |= 0x80;
      expect(ours(x25519Keygen().secretKey, flipped)).toBe('refused');
    }
  });
});

describe('Ed25519 backends', () => {
  it('sign the same bytes as noble', async () => {
    const { ed25519 } = await import('@noble/curves/ed25519.js');
    for (let i = 0; i < 20; i++) {
      const { secretKey } = ed25519Keygen();
      const message = randomBytes(i * 7);
      expect(toHex(ed25519Sign(message, secretKey))).toBe(toHex(ed25519.sign(message, secretKey)));
    }
  });

  it('signs with the current contents of a secret-key array that was changed after use', () => {
    const message = utf8('message');
    const secretKey = ed25519Keygen().secretKey;
    const first = ed25519Sign(message, secretKey);
    const other = ed25519Keygen();
    secretKey.set(other.secretKey);
    const second = ed25519Sign(message, secretKey);
    expect(toHex(second)).not.toBe(toHex(first));
    expect(ed25519Verify(second, message, other.publicKey)).toBe(true);
  });

  it('agree with noble (RFC 8032 strict) on valid, tampered and malleated signatures', async () => {
    const { ed25519 } = await import('@noble/curves/ed25519.js');
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    for (let i = 0; i < 20; i++) {
      const { publicKey, secretKey } = ed25519Keygen();
      const message = utf8(`message ${i}`);
      const signature = ed25519Sign(message, secretKey);
      const tampered = Uint8Array.from(signature);
      tampered[i % 64] ^= 1;
      // S + L: the same signature in a non-canonical (malleated) form.
      let s = 0n;
      for (let b = 31; b >= 0; b--) s = (s << 8n) | BigInt(signature[32 + b]);
      const sPlusL = s + L;
      const malleated = Uint8Array.from(signature);
      for (let b = 0; b < 32; b++) malleated[32 + b] = Number((sPlusL >> BigInt(8 * b)) & 0xffn);
      for (const sig of [signature, tampered, malleated]) {
        let expected: boolean;
        try {
          expected = ed25519.verify(sig, message, publicKey, { zip215: false });
        } catch {
          expected = false;
        }
        expect(ed25519Verify(sig, message, publicKey)).toBe(expected);
      }
    }
  });
});

describe('key generation and public keys through node:crypto', () => {
  it('runs here', () => {
    expect(cryptoBackends()).toMatchObject({ ed25519: 'node:crypto', x25519: 'node:crypto' });
  });

  it('derives the same public keys as noble, for given and generated secret keys', async () => {
    const { ed25519, x25519 } = await import('@noble/curves/ed25519.js');
    for (let i = 0; i < 30; i++) {
      const ed = ed25519Keygen();
      expect(toHex(ed.publicKey)).toBe(toHex(ed25519.getPublicKey(ed.secretKey)));
      const x = x25519Keygen();
      expect(toHex(x.publicKey)).toBe(toHex(x25519.getPublicKey(x.secretKey)));
      // Scalars that clamping changes (RFC 7748 §5): the low three bits and the top two.
      const scalar = randomBytes(32);
      scalar[0] |= 0x07;
      scalar[31] |= 0xc0;
      expect(toHex(x25519PublicKey(scalar))).toBe(toHex(x25519.getPublicKey(scalar)));
      expect(toHex(ed25519PublicKey(scalar))).toBe(toHex(ed25519.getPublicKey(scalar)));
    }
  });

  it.each([
    ['Ed25519', ed25519Keygen, ed25519PublicKey],
    ['X25519', x25519Keygen, x25519PublicKey],
  ] as const)(
    '%s: derives the public key of the current contents of a secret-key array',
    (_name, keygen, publicKey) => {
      const { secretKey, publicKey: first } = keygen();
      expect(toHex(publicKey(secretKey))).toBe(toHex(first));
      const other = keygen();
      secretKey.set(other.secretKey);
      expect(toHex(publicKey(secretKey))).toBe(toHex(other.publicKey));
      // A caller changing the returned key does not change what is derived next time.
      publicKey(secretKey).fill(0);
      expect(toHex(publicKey(secretKey))).toBe(toHex(other.publicKey));
    },
  );
});

describe('ML-KEM-768 backends', () => {
  // FIPS 203 §7.1: dk = dk_PKE (1152 bytes) || ek || H(ek) || z.
  const EK_OFFSET = 1152;
  const H_OFFSET = EK_OFFSET + MLKEM768_PUBLIC_KEY_LENGTH;

  it('liboqs (WebAssembly) runs here', () => {
    expect(cryptoBackends().mlkem768).toBe('liboqs (WebAssembly)');
  });

  it("makes keys in FIPS 203's layout that noble encapsulates to, and decapsulates noble's ciphertexts", async () => {
    const { ml_kem768 } = await import('@noble/post-quantum/ml-kem.js');
    const { sha3_256 } = await import('@noble/hashes/sha3.js');
    for (let i = 0; i < 10; i++) {
      const { publicKey, secretKey } = mlkem768Keygen();
      expect(toHex(secretKey.subarray(EK_OFFSET, H_OFFSET))).toBe(toHex(publicKey));
      expect(toHex(secretKey.subarray(H_OFFSET, H_OFFSET + 32))).toBe(toHex(sha3_256(publicKey)));
      expect(isValidMlkem768PublicKey(publicKey)).toBe(true);
      const fromNoble = ml_kem768.encapsulate(publicKey);
      expect(toHex(mlkem768Decapsulate(fromNoble.cipherText, secretKey))).toBe(toHex(fromNoble.sharedSecret));
      const toNoble = mlkem768Encapsulate(publicKey);
      expect(toHex(ml_kem768.decapsulate(toNoble.cipherText, secretKey))).toBe(toHex(toNoble.sharedSecret));
    }
  });

  it('encapsulates to noble keys (seeded, so reproducible) that noble decapsulates', async () => {
    const { ml_kem768 } = await import('@noble/post-quantum/ml-kem.js');
    for (let i = 0; i < 10; i++) {
      const seed = Uint8Array.from({ length: 64 }, (_, j) => (i * 64 + j) % 251);
      const { publicKey, secretKey } = mlkem768Keygen(seed);
      expect(toHex(publicKey)).toBe(toHex(ml_kem768.keygen(seed).publicKey));
      const { cipherText, sharedSecret } = mlkem768Encapsulate(publicKey);
      expect(toHex(ml_kem768.decapsulate(cipherText, secretKey))).toBe(toHex(sharedSecret));
    }
  });

  it('decapsulates exactly as noble: valid, modified and random ciphertexts (implicit rejection)', async () => {
    const { ml_kem768 } = await import('@noble/post-quantum/ml-kem.js');
    const keys = [mlkem768Keygen(), mlkem768Keygen(range(0, 63))];
    for (const { publicKey, secretKey } of keys) {
      const { cipherText } = ml_kem768.encapsulate(publicKey);
      const cases = [cipherText, randomBytes(MLKEM768_CIPHERTEXT_LENGTH), new Uint8Array(MLKEM768_CIPHERTEXT_LENGTH)];
      for (const index of [0, 1, 543, 959, 960, 1087]) {
        const modified = cipherText.slice();
        modified[index] ^= 0x80;
        cases.push(modified);
      }
      for (const c of cases) {
        expect(toHex(mlkem768Decapsulate(c, secretKey))).toBe(toHex(ml_kem768.decapsulate(c, secretKey)));
      }
    }
  });

  it('refuses the encapsulation keys noble refuses, and secret keys whose H(ek) does not match', async () => {
    const { ml_kem768 } = await import('@noble/post-quantum/ml-kem.js');
    const { publicKey, secretKey } = mlkem768Keygen();
    for (const c of [0, 1, 383, 384, 767]) {
      const bad = publicKey.slice();
      const i = Math.floor(c / 2) * 3;
      if (c % 2 === 0) {
        bad[i] = 0x01;
        bad[i + 1] = (bad[i + 1] & 0xf0) | 0x0d; // 0xd01 = 3329 = q
      } else {
        bad[i + 1] = (bad[i + 1] & 0x0f) | 0xf0;
        bad[i + 2] = 0xff; // 4095
      }
      expect(() => ml_kem768.encapsulate(bad)).toThrow();
      expectCode(() => mlkem768Encapsulate(bad), 'invalid_key');
    }
    const { cipherText } = mlkem768Encapsulate(publicKey);
    for (const index of [EK_OFFSET, H_OFFSET - 1, H_OFFSET, H_OFFSET + 31]) {
      const corrupt = secretKey.slice();
      corrupt[index] ^= 0x01;
      expect(() => ml_kem768.decapsulate(cipherText, corrupt)).toThrow();
      expect(() => mlkem768Decapsulate(cipherText, corrupt)).toThrow();
    }
  });
});
