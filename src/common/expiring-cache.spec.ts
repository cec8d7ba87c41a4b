import { describe, expect, it } from '@jest/globals';
import { ExpiringCache } from './expiring-cache.js';

describe('ExpiringCache', () => {
  const at = (start = 0) => {
    const clock = { now: start };
    return { clock, cache: new ExpiringCache<string>(3, () => clock.now) };
  };

  it('answers an entry until its lifetime ends, then forgets it', () => {
    const { clock, cache } = at(1000);
    cache.set('a', 'A', 500);
    expect(cache.get('a')).toBe('A');
    clock.now = 1499;
    expect(cache.get('a')).toBe('A');
    clock.now = 1500;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('drops the oldest entry when full', () => {
    const { cache } = at();
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, k.toUpperCase(), 1000);
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect(['b', 'c', 'd'].map((k) => cache.get(k))).toEqual(['B', 'C', 'D']);
  });

  it('replaces an entry, renewing its place and lifetime, and a lifetime of 0 only removes', () => {
    const { clock, cache } = at();
    cache.set('a', 'A', 100);
    cache.set('b', 'B', 100);
    cache.set('c', 'C', 100);
    cache.set('a', 'A2', 1000);
    cache.set('d', 'D', 1000); // drops b, now the oldest
    expect(cache.get('b')).toBeUndefined();
    clock.now = 500;
    expect(cache.get('a')).toBe('A2');
    cache.set('a', 'A3', 0);
    expect(cache.get('a')).toBeUndefined();
  });

  it('deletes one entry, or all', () => {
    const { cache } = at();
    for (const k of ['a', 'b', 'c']) cache.set(k, k.toUpperCase(), 1000);
    cache.delete('b');
    expect(['a', 'b', 'c'].map((k) => cache.get(k))).toEqual(['A', undefined, 'C']);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
