import { describe, expect, it } from '@jest/globals';
import { refusal } from '../../test/support/expect-error.js';
import fc from 'fast-check';
import {
  concatBytes,
  encodingBackend,
  equalBytes,
  fromB64u,
  fromB64uSized,
  fromHex,
  lengthPrefixed,
  toB64u,
  toHex,
  utf8,
} from './encoding.js';

it('uses Node’s Buffer codecs on Node.js (encoding-fallback.spec.ts checks the others against them)', () => {
  expect(encodingBackend()).toBe('node:buffer');
});

describe('hex', () => {
  it('encodes lower-case and decodes its own output', () => {
    expect(toHex(new Uint8Array([0x00, 0xab, 0xff]))).toBe('00abff');
    expect(fromHex('00abff')).toEqual(new Uint8Array([0x00, 0xab, 0xff]));
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });

  it('encodes only the viewed part of a subarray', () => {
    const bytes = new Uint8Array([1, 2, 3, 4]);
    expect(toHex(bytes.subarray(1, 3))).toBe('0203');
  });

  it.each(['00ABFF', 'Ab', 'abc', '0g', ' 00', '00\n', '0x00', '-1'])('refuses %j', (text) => {
    const error = refusal(() => fromHex(text, 'signature'));
    expect(error.code).toBe('invalid_request');
    expect(error.message).toBe('signature must be lower-case hexadecimal');
  });

  it('refuses non-strings and uses the given code', () => {
    expect(refusal(() => fromHex(42 as unknown as string)).code).toBe('invalid_request');
    expect(refusal(() => fromHex('zz', 'key', 'invalid_key')).code).toBe('invalid_key');
  });

  it('round-trips any bytes', () => {
    fc.assert(fc.property(fc.uint8Array(), (bytes) => expect(fromHex(toHex(bytes))).toEqual(bytes)));
  });
});

describe('base64url', () => {
  it('encodes RFC 4648 test strings without padding', () => {
    const cases: Array<[string, string]> = [
      ['', ''],
      ['f', 'Zg'],
      ['fo', 'Zm8'],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg'],
      ['fooba', 'Zm9vYmE'],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of cases) {
      expect(toB64u(utf8(plain))).toBe(encoded);
      expect(fromB64u(encoded)).toEqual(utf8(plain));
    }
  });

  it('uses the URL-safe alphabet', () => {
    expect(toB64u(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(fromB64u('-_8')).toEqual(new Uint8Array([0xfb, 0xff]));
  });

  it.each([
    ['Zg==', 'must be unpadded base64url'],
    ['Zm8=', 'must be unpadded base64url'],
    ['+_8', 'must be unpadded base64url'],
    ['-/8', 'must be unpadded base64url'],
    ['Zm9v Yg', 'must be unpadded base64url'],
    ['Z', 'must be unpadded base64url'],
    ['Zm9vY', 'must be unpadded base64url'],
    // Non-zero trailing bits: these decode to the same bytes as "Zg" and "Zm8".
    ['Zh', 'is not canonical base64url'],
    ['Zm9', 'is not canonical base64url'],
    ['AB', 'is not canonical base64url'],
  ])('refuses %j', (text, message) => {
    const error = refusal(() => fromB64u(text, 'nonce'));
    expect(error.code).toBe('invalid_request');
    expect(error.message).toBe(`nonce ${message}`);
  });

  it('round-trips any bytes, and every accepted text is the canonical encoding', () => {
    fc.assert(fc.property(fc.uint8Array(), (bytes) => expect(fromB64u(toB64u(bytes))).toEqual(bytes)));
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AZaz09-_=+/ '.split('')), maxLength: 12 }), (text) => {
        let bytes: Uint8Array;
        try {
          bytes = fromB64u(text);
        } catch {
          return;
        }
        expect(toB64u(bytes)).toBe(text);
      }),
    );
  });

  it('checks sizes of fixed-length values with invalid_key by default', () => {
    const key = new Uint8Array(32).fill(1);
    expect(fromB64uSized(toB64u(key), 32, 'identityKey')).toEqual(key);
    const error = refusal(() => fromB64uSized(toB64u(key.subarray(1)), 32, 'identityKey'));
    expect(error.code).toBe('invalid_key');
    expect(error.message).toBe('identityKey must be 32 bytes, got 31');
    expect(refusal(() => fromB64uSized('Zg==', 1, 'identityKey')).code).toBe('invalid_key');
  });
});

describe('lengthPrefixed', () => {
  it('writes each part as a 4-byte big-endian length and its bytes, strings as UTF-8', () => {
    expect(toHex(lengthPrefixed('ab', new Uint8Array([0xff]), '', 'é'))).toBe(
      '00000002' + '6162' + '00000001' + 'ff' + '00000000' + '00000002' + 'c3a9',
    );
    expect(lengthPrefixed()).toEqual(new Uint8Array(0));
  });

  it('encodes lengths above 255 on all four bytes', () => {
    const encoded = lengthPrefixed(new Uint8Array(0x010203));
    expect(toHex(encoded.subarray(0, 4))).toBe('00010203');
    expect(encoded).toHaveLength(4 + 0x010203);
  });

  it('keeps different lists of parts apart', () => {
    expect(equalBytes(lengthPrefixed('ab', 'c'), lengthPrefixed('a', 'bc'))).toBe(false);
    expect(equalBytes(lengthPrefixed('ab'), lengthPrefixed('ab', ''))).toBe(false);
  });
});

describe('concatBytes, equalBytes, utf8', () => {
  it('concatenates in order', () => {
    expect(concatBytes(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3]))).toEqual(
      new Uint8Array([1, 2, 3]),
    );
    expect(concatBytes()).toEqual(new Uint8Array(0));
  });

  it('compares contents and lengths', () => {
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
    expect(equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it('encodes UTF-8', () => {
    expect(toHex(utf8('aé€😀'))).toBe('61c3a9e282acf09f9880');
  });
});
