import { describe, expect, it } from '@jest/globals';
import { toB64u } from '../protocol/encoding.js';
import { PrekeyUploadSchema } from '../protocol/wire.js';
import { parseKeyMaterial } from './key-material.js';

const record = (publicKeyBytes: number, signatureBytes = 64) => ({
  id: 1,
  publicKey: toB64u(new Uint8Array(publicKeyBytes).fill(9)),
  signature: toB64u(new Uint8Array(signatureBytes).fill(1)),
});

const codeOf = (value: unknown) => {
  try {
    parseKeyMaterial(PrekeyUploadSchema, value);
    return 'ok';
  } catch (e) {
    return (e as { code: string }).code;
  }
};

describe('parseKeyMaterial', () => {
  it('passes well-formed input through', () => {
    expect(codeOf({ signedPrekey: record(32) })).toBe('ok');
  });

  it('calls a wrong-length key invalid_key and a wrong-length signature bad_signature', () => {
    expect(codeOf({ signedPrekey: record(31) })).toBe('invalid_key');
    expect(codeOf({ pqLastResort: record(32) })).toBe('invalid_key');
    expect(codeOf({ signedPrekey: record(32, 63) })).toBe('bad_signature');
    expect(codeOf({ signedPrekey: record(31, 63) })).toBe('invalid_key');
  });

  it('calls anything else invalid_request', () => {
    expect(codeOf({})).toBe('invalid_request');
    expect(codeOf({ signedPrekey: { ...record(32), id: -1 } })).toBe('invalid_request');
    expect(codeOf({ signedPrekey: record(31), extra: 1 })).toBe('invalid_request');
  });
});
