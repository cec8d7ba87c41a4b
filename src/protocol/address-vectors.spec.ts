/** Checks docs/test-vectors/address.json against parseAddress (docs/protocol.md §1.1). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parseAddress } from './address.js';
import { expectCode } from '../../test/support/expect-error.js';

const vectors = JSON.parse(readFileSync('docs/test-vectors/address.json', 'utf8')) as {
  valid: Array<{ input: string; canonical: string }>;
  invalid: Array<{ input: string; reason: string }>;
};

describe('docs/test-vectors/address.json', () => {
  it('has IDN cases on both sides', () => {
    expect(vectors.valid.some((v) => /[^ -~]/.test(v.input) && v.canonical.includes('xn--'))).toBe(true);
    expect(vectors.invalid.some((v) => /[^ -~]/.test(v.input))).toBe(true);
  });

  it.each(vectors.valid.map((v) => [JSON.stringify(v.input), v] as const))('valid %s', (_, v) => {
    expect(parseAddress(v.input).canonical).toBe(v.canonical);
    expect(parseAddress(v.canonical).canonical).toBe(v.canonical);
  });

  it.each(vectors.invalid.map((v) => [JSON.stringify(v.input).slice(0, 80), v] as const))('invalid %s', (_, v) => {
    expectCode(() => parseAddress(v.input), 'invalid_address');
  });
});
