/**
 * The encodings where only JavaScript runs (a browser): without node:buffer, encoding.ts uses
 * @scure/base and noble's hex, and must give the answers Node's Buffer gives (encoding.spec.ts
 * runs with Buffer's codecs): the same text for any bytes, and the same verdict, canonical or
 * not, for any text.
 */
import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';

jest.unstable_mockModule('node:buffer', () => {
  throw new Error('not available in this runtime');
});

const encoding = await import('./encoding.js');
const { refusal } = await import('../../test/support/expect-error.js');

/** What Buffer decides: the bytes when `text` is the canonical encoding of them. */
function bufferCanonical(text: string, kind: 'base64' | 'base64url'): Uint8Array | undefined {
  const bytes = Buffer.from(text, kind);
  return bytes.toString(kind) === text ? new Uint8Array(bytes) : undefined;
}

const B64U_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Short strings over an alphabet plus a few strangers, so both verdicts come up often. */
const textOver = (alphabet: string) =>
  fc.array(fc.constantFrom(...alphabet, '=', '+', '-', ' ', 'é'), { maxLength: 12 }).map((chars) => chars.join(''));

describe('without node:buffer', () => {
  it('uses the JavaScript codecs', () => {
    expect(encoding.encodingBackend()).toBe('scure');
  });

  it('encodes any bytes as Buffer does: hex, base64url without padding, base64 with padding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(8), (whole, start) => {
        const bytes = whole.subarray(Math.min(start, whole.length));
        const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        expect(encoding.toHex(bytes)).toBe(buffer.toString('hex'));
        expect(encoding.toB64u(bytes)).toBe(buffer.toString('base64url'));
        expect(encoding.toB64(bytes)).toBe(buffer.toString('base64'));
        expect(encoding.fromHex(encoding.toHex(bytes))).toEqual(new Uint8Array(buffer));
      }),
      { numRuns: 500 },
    );
  });

  it('takes exactly the base64url texts Buffer reads back to themselves, with the same bytes', () => {
    fc.assert(
      fc.property(textOver(B64U_ALPHABET), (text) => {
        const expected =
          /^[A-Za-z0-9_-]*$/.test(text) && text.length % 4 !== 1 ? bufferCanonical(text, 'base64url') : undefined;
        expect(encoding.isCanonicalB64u(text)).toBe(expected !== undefined);
        if (expected) expect(encoding.fromB64u(text)).toEqual(expected);
        else expect(refusal(() => encoding.fromB64u(text)).code).toBe('invalid_request');
      }),
      { numRuns: 2000 },
    );
  });

  it('takes exactly the padded base64 texts Buffer reads back to themselves', () => {
    fc.assert(
      fc.property(textOver(B64_ALPHABET), (text) => {
        expect(encoding.fromB64Canonical(text)).toEqual(bufferCanonical(text, 'base64'));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a base64url text with unused bits set, as not canonical', () => {
    // 'AB' carries 12 bits for one byte: its last 4 bits must be zero ('AA' is canonical).
    expect(encoding.fromB64u('AA')).toEqual(new Uint8Array([0]));
    expect(refusal(() => encoding.fromB64u('AB', 'key')).message).toBe('key is not canonical base64url');
    expect(encoding.fromB64Canonical('AB==')).toBeUndefined();
  });
});
