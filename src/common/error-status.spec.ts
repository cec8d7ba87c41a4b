import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ERROR_STATUS } from './error-status.js';
import { KT_FAILURE_CODES } from '../protocol/transparency/log-verifier.js';

describe('error codes', () => {
  it('are all documented in docs/errors.md with their status', () => {
    const doc = readFileSync('docs/errors.md', 'utf8');
    const documented = new Map(
      [...doc.matchAll(/^\| `([a-z0-9_]+)` +\| (\d{3}) +\|/gm)].map((m) => [m[1], Number(m[2])] as const),
    );
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect({ code, status: documented.get(code) }).toEqual({ code, status });
    }
    expect([...documented.keys()].filter((c) => !(c in ERROR_STATUS))).toEqual([]);
  });

  it('include every failure of the transparency verifier, as a peer failure (502)', () => {
    expect(KT_FAILURE_CODES.map((code) => [code, ERROR_STATUS[code]])).toEqual(KT_FAILURE_CODES.map((c) => [c, 502]));
  });

  it('are snake_case and map to error statuses', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(code).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
      expect(status >= 400 && status < 600).toBe(true);
    }
  });
});
