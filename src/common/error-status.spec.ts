import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ERROR_STATUS } from './error-status.js';

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

  it('are snake_case and map to error statuses', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(code).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
      expect(status >= 400 && status < 600).toBe(true);
    }
  });
});
