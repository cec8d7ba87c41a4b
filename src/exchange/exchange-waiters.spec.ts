import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type pg from 'pg';
import type { DatabaseConnection } from '../database/database-connection.js';
import { Clock } from '../common/clock.js';
import { DatabasePubSub } from '../database/pubsub.js';
import { ExchangeWaiters, MAX_WAITERS, RECHECK_MS } from './exchange-waiters.js';

// The embedded database's mode: changes wake this process's waiters only (no NOTIFY, no LISTEN).
const embedded: DatabaseConnection = { poolConfig: {}, embedded: true, close: async () => {} };

/** Lets pending promise callbacks run (timers stay fake). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('ExchangeWaiters', () => {
  let waiters: ExchangeWaiters;
  let reads: number;
  let value: string[];
  const read = async () => {
    reads++;
    return [...value];
  };
  const ready = (v: string[]) => v.length > 0;

  beforeEach(() => {
    jest.useFakeTimers();
    waiters = new ExchangeWaiters(new DatabasePubSub(embedded, {} as pg.Pool), new Clock());
    reads = 0;
    value = [];
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('answers at once without a wait, or when the answer is already ready', async () => {
    await expect(waiters.waitFor('a', read, ready, { ms: 0 })).resolves.toEqual([]);
    value = ['x'];
    await expect(waiters.waitFor('a', read, ready, { ms: 30_000 })).resolves.toEqual(['x']);
    expect(reads).toBe(2);
    expect(waiters.waiting).toBe(0);
  });

  it("reads again at once when the account's exchanges change, and not for another account's", async () => {
    const answer = waiters.waitFor('a', read, ready, { ms: 30_000 });
    await settle();
    expect(waiters.waiting).toBe(1);
    await waiters.changed('b');
    await settle();
    expect(reads).toBe(1);
    value = ['x'];
    await waiters.changed('a');
    await expect(answer).resolves.toEqual(['x']);
    expect(reads).toBe(2);
    expect(waiters.waiting).toBe(0);
  });

  it(`reads again every ${RECHECK_MS} ms without a signal (a change made where no signal reaches)`, async () => {
    const answer = waiters.waitFor('a', read, ready, { ms: 30_000 });
    await settle();
    await jest.advanceTimersByTimeAsync(RECHECK_MS - 1);
    expect(reads).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(reads).toBe(2);
    value = ['x'];
    await jest.advanceTimersByTimeAsync(RECHECK_MS);
    await expect(answer).resolves.toEqual(['x']);
  });

  it('answers what it reads when the wait ends', async () => {
    const answer = waiters.waitFor('a', read, ready, { ms: 7_000 });
    await jest.advanceTimersByTimeAsync(7_000);
    await expect(answer).resolves.toEqual([]);
    expect(reads).toBe(3); // at 0, at the recheck, at the deadline
    expect(waiters.waiting).toBe(0);
  });

  it('stops waiting when the client goes away', async () => {
    const gone = new AbortController();
    const answer = waiters.waitFor('a', read, ready, { ms: 30_000, signal: gone.signal });
    await settle();
    gone.abort();
    await expect(answer).resolves.toEqual([]);
    expect(waiters.waiting).toBe(0);
  });

  it(`answers at once beyond ${MAX_WAITERS} waiting requests`, async () => {
    const waiting = Array.from({ length: MAX_WAITERS }, () => waiters.waitFor('a', read, ready, { ms: 30_000 }));
    await settle();
    expect(waiters.waiting).toBe(MAX_WAITERS);
    await expect(waiters.waitFor('b', read, ready, { ms: 30_000 })).resolves.toEqual([]);
    value = ['x'];
    await waiters.changed('a');
    await expect(Promise.all(waiting)).resolves.toHaveLength(MAX_WAITERS);
    expect(waiters.waiting).toBe(0);
  });

  it('answers every waiting request at shutdown, and later ones at once', async () => {
    const answer = waiters.waitFor('a', read, ready, { ms: 30_000 });
    await settle();
    waiters.beforeApplicationShutdown();
    await expect(answer).resolves.toEqual([]);
    await expect(waiters.waitFor('a', read, ready, { ms: 30_000 })).resolves.toEqual([]);
    expect(waiters.waiting).toBe(0);
  });
});
