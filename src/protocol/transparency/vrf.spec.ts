/**
 * ECVRF-EDWARDS25519-SHA512-TAI against RFC 9381 Appendix B.3 (examples 16 to 18, typed in
 * from the RFC), the refusals of §5.3 and §5.4.5, and the property that any change to the
 * proof, the input or the key makes verification fail.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import { numberToBytesLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex, toHex } from '../encoding.js';
import { vrfProofToHash, vrfProve, vrfPublicKey, vrfVerify } from './vrf.js';
import { expectCode } from '../../../test/support/expect-error.js';

const VECTORS = [
  {
    name: 'example 16',
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    alpha: '',
    pi:
      '8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f' +
      '26f8a57ccaed74ee1b190bed1f479d97' +
      '27d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805',
    beta:
      '90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff' +
      '66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae',
  },
  {
    name: 'example 17',
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    alpha: '72',
    pi:
      'f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed593' +
      '3bf0864a62558b3ed7f2fea45c92a465' +
      '301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02',
    beta:
      'eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb' +
      '5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031',
  },
  {
    name: 'example 18',
    sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    alpha: 'af82',
    pi:
      '9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf80' +
      '96bb474e53895c362d8628ee9f9ea3c0' +
      'e52c7a5c691b6c18c9979866568add7a2d41b00b05081ed0f58ee5e31b3a970e',
    beta:
      '645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c45' +
      '2118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f',
  },
];

describe('RFC 9381 Appendix B.3', () => {
  it.each(VECTORS)('$name: public key, proof, output and verification', ({ sk, pk, alpha, pi, beta }) => {
    expect(toHex(vrfPublicKey(fromHex(sk)))).toBe(pk);
    const proof = vrfProve(fromHex(sk), fromHex(alpha));
    expect(toHex(proof)).toBe(pi);
    expect(toHex(vrfProofToHash(proof))).toBe(beta);
    expect(toHex(vrfVerify(fromHex(pk), fromHex(alpha), fromHex(pi))!)).toBe(beta);
  });
});

describe('verification refuses', () => {
  const { pk, alpha, pi } = VECTORS[1];
  const proof = fromHex(pi);

  it('the proof of another input, another key, or another length', () => {
    expect(vrfVerify(fromHex(pk), fromHex('73'), proof)).toBeUndefined();
    expect(vrfVerify(fromHex(VECTORS[0].pk), fromHex(alpha), proof)).toBeUndefined();
    expect(vrfVerify(fromHex(pk), fromHex(alpha), proof.subarray(1))).toBeUndefined();
    expect(vrfVerify(fromHex(pk).subarray(1), fromHex(alpha), proof)).toBeUndefined();
    expect(vrfVerify('key' as any, fromHex(alpha), proof)).toBeUndefined();
  });

  it('an s that is not below the group order, even when it is s + q', () => {
    const s = BigInt(`0x${toHex(proof.subarray(48).slice().reverse())}`);
    const wrapped = proof.slice();
    wrapped.set(numberToBytesLE(s + ed25519.Point.Fn.ORDER, 32), 48);
    expect(vrfVerify(fromHex(pk), fromHex(alpha), wrapped)).toBeUndefined();
  });

  it('a Gamma that does not decode', () => {
    const bad = proof.slice();
    bad.set(fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), 0);
    expect(vrfVerify(fromHex(pk), fromHex(alpha), bad)).toBeUndefined();
  });

  it('a proof forged for the identity as public key (ECVRF_validate_key)', () => {
    // With Y = identity the secret scalar is 0, so Gamma = identity and s = k: anyone can
    // make a "proof" for any input. Built here from the RFC's steps, independently of vrf.ts.
    const { Point } = ed25519;
    const y = Point.ZERO;
    const pk = y.toBytes();
    const input = fromHex('af82');
    let h = Point.ZERO;
    for (let ctr = 0; h.is0(); ctr++) {
      const digest = sha512(concatBytes(Uint8Array.of(3, 1), pk, input, Uint8Array.of(ctr, 0)));
      try {
        h = Point.fromBytes(digest.subarray(0, 32)).multiply(8n);
      } catch {
        // not a point: next counter
      }
    }
    const k = 123456789n;
    const points = [y, h, Point.ZERO, Point.BASE.multiply(k), h.multiply(k)].map((p) => p.toBytes());
    const c = sha512(concatBytes(Uint8Array.of(3, 2), ...points, Uint8Array.of(0))).subarray(0, 16);
    const forged = concatBytes(Point.ZERO.toBytes(), c, numberToBytesLE(k, 32));
    expect(vrfVerify(pk, input, forged)).toBeUndefined();
  });

  it('a public key of small order (ECVRF_validate_key)', () => {
    // The identity and the point of order 2: with such a key one Gamma would serve any input.
    for (const small of [
      '0100000000000000000000000000000000000000000000000000000000000000',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ]) {
      expect(vrfVerify(fromHex(small), fromHex(alpha), proof)).toBeUndefined();
    }
  });

  it('bad secret keys when proving', () => {
    expectCode(() => vrfProve(new Uint8Array(31), new Uint8Array(0)), 'invalid_argument');
    expectCode(() => vrfProofToHash(new Uint8Array(79)), 'invalid_argument');
  });
});

describe('properties', () => {
  it('a proof verifies to its output, and any flipped bit of proof, input or key fails', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 48 }),
        fc.nat(),
        fc.constantFrom('proof', 'alpha', 'key'),
        (sk, alpha, bit, target) => {
          const pk = vrfPublicKey(sk);
          const proof = vrfProve(sk, alpha);
          const output = vrfVerify(pk, alpha, proof);
          expect(output).toEqual(vrfProofToHash(proof));
          const flip = (bytes: Uint8Array) => {
            const out = bytes.slice();
            const at = bit % (bytes.length * 8);
            out[at >> 3] ^= 1 << (at & 7);
            return out;
          };
          if (target === 'proof') expect(vrfVerify(pk, alpha, flip(proof))).toBeUndefined();
          if (target === 'key') expect(vrfVerify(flip(pk), alpha, proof)).toBeUndefined();
          if (target === 'alpha') {
            const other = alpha.length ? flip(alpha) : new Uint8Array(1);
            expect(vrfVerify(pk, other, proof)).toBeUndefined();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is deterministic, and different inputs give different outputs', () => {
    const sk = fromHex(VECTORS[0].sk);
    expect(vrfProve(sk, fromHex('01'))).toEqual(vrfProve(sk, fromHex('01')));
    expect(vrfProofToHash(vrfProve(sk, fromHex('01')))).not.toEqual(vrfProofToHash(vrfProve(sk, fromHex('02'))));
  });
});
