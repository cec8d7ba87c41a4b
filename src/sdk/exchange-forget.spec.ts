import { describe, expect, it } from '@jest/globals';
import { sampleKeystore } from '../../test/support/sample-keystore.js';
import { applyRetention, exchangeSecret, forgetExchange } from './exchange.js';
import type { StoredExchange } from './exchange-record.js';

const DAY = 86_400;
const NOW = 1_800_000_000;

const record = (id: string, createdAt: number, status: StoredExchange['status'] = 'confirmed'): StoredExchange => ({
  id,
  role: 'initiator',
  peer: 'bob@b.example',
  status,
  secret: new Uint8Array(32).fill(7),
  transcriptHash: new Uint8Array(32).fill(8),
  usedLastResort: false,
  createdAt,
  confirmKey: new Uint8Array(32).fill(9),
});

describe('forgetting', () => {
  it('forgets confirmed exchanges started forgetAfterDays ago or earlier, and nothing else', () => {
    const ks = sampleKeystore(NOW);
    const ids = ['old'.padEnd(22, 'A'), 'new'.padEnd(22, 'A'), 'pending'.padEnd(22, 'A')];
    ks.exchanges = new Map([
      [ids[0], record(ids[0], NOW - 3 * DAY)],
      [ids[1], record(ids[1], NOW - 3 * DAY + 1)],
      [ids[2], record(ids[2], NOW - 30 * DAY, 'delivered')],
    ]);
    expect(applyRetention(ks, NOW)).toEqual([]);
    ks.settings = { forgetAfterDays: 3 };
    expect(applyRetention(ks, NOW)).toEqual([ids[0]]);
    expect(applyRetention(ks, NOW)).toEqual([]);
    expect(() => exchangeSecret(ks, ids[0])).toThrow(expect.objectContaining({ code: 'exchange_forgotten' }));
    expect(exchangeSecret(ks, ids[1])).toBe('07'.repeat(32));
    expect(ks.exchanges.get(ids[0])).toEqual({
      id: ids[0],
      role: 'initiator',
      peer: 'bob@b.example',
      status: 'confirmed',
      usedLastResort: false,
      createdAt: NOW - 3 * DAY,
      forgottenAt: NOW,
    });
    expect(ks.exchanges.get(ids[2])?.secret).toBeDefined();
    expect(forgetExchange(ks, ids[2], NOW)).toBe(true);
    expect(ks.exchanges.get(ids[2])?.secret).toBeUndefined();
  });
});
