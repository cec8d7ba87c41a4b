import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ed25519Keygen } from '../protocol/crypto.js';
import { NodeClient } from './client.js';
import { waitForInbox } from './exchange.js';

/** A node that answers every inbox request at once with an empty inbox (it does not long-poll). */
function impatientNode() {
  const urls: string[] = [];
  const client = new NodeClient({
    baseUrl: 'http://node.test',
    allowInsecureHttp: true,
    signer: { address: 'bob@node.test', secretKey: ed25519Keygen().secretKey },
    fetch: async (input) => {
      urls.push(String(input));
      return new Response(JSON.stringify({ exchanges: [] }), { headers: { 'content-type': 'application/json' } });
    },
  });
  return { client, urls };
}

describe('waitForInbox', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('asks the node to hold each request, for at most 30 s', async () => {
    const { client, urls } = impatientNode();
    const waiting = waitForInbox(client, { timeoutMs: 120_000 });
    await jest.advanceTimersByTimeAsync(0);
    expect(urls[0]).toBe('http://node.test/api/v1/exchanges/inbox?wait=30');
    await jest.advanceTimersByTimeAsync(120_000);
    await expect(waiting).resolves.toEqual([]);
    expect(urls.at(-1)).toMatch(/\/inbox(\?wait=[01])?$/);
  });

  it('asks a node that answers at once no more than twice a second', async () => {
    const { client, urls } = impatientNode();
    const waiting = waitForInbox(client, { timeoutMs: 10_000 });
    await jest.advanceTimersByTimeAsync(10_000);
    await expect(waiting).resolves.toEqual([]);
    expect(urls.length).toBeGreaterThanOrEqual(15);
    expect(urls.length).toBeLessThanOrEqual(21);
  });
});
