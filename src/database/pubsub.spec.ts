import { describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import type { DatabaseConnection } from './database-connection.js';
import { DatabasePubSub } from './pubsub.js';

// The embedded database serves one process: payloads reach this process's subscribers only.
const embedded: DatabaseConnection = { poolConfig: {}, embedded: true, close: async () => {} };
const noPool = {
  query: () => {
    throw new Error('the embedded database needs no announcement');
  },
} as unknown as pg.Pool;

describe('DatabasePubSub', () => {
  it("delivers a payload to the channel's subscribers in this process, and only to them", async () => {
    const pubsub = new DatabasePubSub(embedded, noPool);
    const got: string[] = [];
    pubsub.subscribe('a', { message: (p) => got.push(`1:${p}`) });
    pubsub.subscribe('a', { message: (p) => got.push(`2:${p}`) });
    pubsub.subscribe('b', { message: (p) => got.push(`b:${p}`) });
    await pubsub.publish('a', 'x');
    expect(got).toEqual(['1:x', '2:x']);
  });

  it('stops delivering to a subscriber that unsubscribed', async () => {
    const pubsub = new DatabasePubSub(embedded, noPool);
    const got: string[] = [];
    const unsubscribe = pubsub.subscribe('a', { message: (p) => got.push(p) });
    await pubsub.publish('a', 'x');
    unsubscribe();
    await pubsub.publish('a', 'y');
    expect(got).toEqual(['x']);
  });

  it('refuses a channel name that is not a plain identifier (it is written into LISTEN)', () => {
    const pubsub = new DatabasePubSub(embedded, noPool);
    for (const name of ['', 'A', 'a;b', 'a b', '1a', 'a'.repeat(64)]) {
      expect(() => pubsub.subscribe(name, { message: () => {} })).toThrow(/invalid channel name/);
    }
  });
});
