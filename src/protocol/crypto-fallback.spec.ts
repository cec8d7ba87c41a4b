/**
 * The primitives where only JavaScript runs (a browser): without node:crypto and without the
 * optional ML-KEM-768 backend, every verb falls back to noble and still meets the published
 * vectors. crypto.spec.ts runs the same vectors with the fast paths present.
 */
import { describe, expect, it, jest } from '@jest/globals';

const unavailable = () => {
  throw new Error('not available in this runtime');
};
jest.unstable_mockModule('node:crypto', unavailable);
jest.unstable_mockModule('@oqs/liboqs-js/kem', unavailable);

const crypto = await import('./crypto.js');
const { fromHex, toHex, utf8 } = await import('./encoding.js');
const { ml_kem768 } = await import('@noble/post-quantum/ml-kem.js');

const hex = (text: string): Uint8Array => fromHex(text.replace(/\s+/g, ''));

describe('without node:crypto and liboqs', () => {
  it('uses noble for every primitive, and the ML-KEM-768 fast path does not load', async () => {
    expect(await crypto.loadFastMlkem768()).toBe(false);
    expect(crypto.cryptoBackends()).toEqual({ ed25519: 'noble', x25519: 'noble', mlkem768: 'noble' });
  });

  it('X25519: RFC 7748 §6.1 public keys and shared secret, and low-order keys refused', () => {
    const alicePrivate = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bob = crypto.x25519Keygen(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    expect(toHex(crypto.x25519PublicKey(alicePrivate))).toBe(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
    expect(toHex(bob.publicKey)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    expect(toHex(crypto.x25519SharedSecret(alicePrivate, bob.publicKey))).toBe(
      '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
    );
    expect(() => crypto.x25519SharedSecret(alicePrivate, new Uint8Array(32))).toThrow('low order');
  });

  it('Ed25519: RFC 8032 §7.1 TEST 2 key, signature and verification; tampering refused', () => {
    const secretKey = hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');
    const { publicKey } = crypto.ed25519Keygen(secretKey);
    expect(toHex(publicKey)).toBe('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c');
    const signature = crypto.ed25519Sign(hex('72'), secretKey);
    expect(toHex(signature)).toBe(
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
        '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    );
    expect(crypto.ed25519Verify(signature, hex('72'), publicKey)).toBe(true);
    expect(crypto.ed25519Verify(signature, hex('73'), publicKey)).toBe(false);
  });

  it('ML-KEM-768: noble itself, round trip and implicit rejection', () => {
    const { publicKey, secretKey } = crypto.mlkem768Keygen();
    const { cipherText, sharedSecret } = crypto.mlkem768Encapsulate(publicKey);
    expect(toHex(crypto.mlkem768Decapsulate(cipherText, secretKey))).toBe(toHex(sharedSecret));
    const modified = cipherText.slice();
    modified[0] ^= 1;
    expect(toHex(crypto.mlkem768Decapsulate(modified, secretKey))).toBe(
      toHex(ml_kem768.decapsulate(modified, secretKey)),
    );
    expect(toHex(crypto.sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
