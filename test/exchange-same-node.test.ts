/**
 * The exchange between two users of one node: the same checks and state machine as across
 * nodes, delivered in-process.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PrismaService } from '../src/database/prisma.service.js';
import { acceptExchange as derive } from '../src/protocol/exchange.js';
import { decodePublicIdentity } from '../src/protocol/wire.js';
import {
  acceptExchange,
  exchangeSecret,
  forgetExchange,
  refreshExchange,
  responderKeys,
  startExchange,
} from '../src/sdk/exchange.js';
import { parsePlainKeystore, serializePlainKeystore } from '../src/sdk/keystore.js';
import { exchangeUser, type ExchangeUser } from './support/exchange-users.js';
import { startTestNode, type TestNode } from './support/test-node.js';

let t: TestNode;
let alice: ExchangeUser;
let bob: ExchangeUser;

beforeAll(async () => {
  t = await startTestNode({ KEYPEARS_DOMAINS: 'a.test' });
  alice = await exchangeUser(t, 'alice@a.test');
  bob = await exchangeUser(t, 'bob@a.test');
});

afterAll(async () => {
  await t?.destroy();
});

const exchangeRows = () => t.node.app.get(PrismaService).exchange.count();

describe('same-node exchange', () => {
  it('gives both users the same 32-byte secret, confirmed on both sides', async () => {
    const started = await startExchange(alice.ctx, 'bob@a.test');
    expect(started).toMatchObject({ status: 'delivered', peer: 'bob@a.test', usedLastResort: false });

    const inbox = await bob.client.inbox();
    expect(inbox.exchanges.map((e) => [e.id, e.peer])).toEqual([[started.id, 'alice@a.test']]);

    const oneTimeBefore = bob.ks.oneTimePrekeys.size;
    const accepted = await acceptExchange(bob.ctx, started.id);
    expect(accepted.status).toBe('confirmed');
    expect(bob.ks.oneTimePrekeys.size).toBe(oneTimeBefore - 1);

    expect(await refreshExchange(alice.ctx, started.id)).toMatchObject({ status: 'confirmed' });
    const secretA = exchangeSecret(alice.ks, started.id);
    expect(secretA).toMatch(/^[0-9a-f]{64}$/);
    expect(exchangeSecret(bob.ks, started.id)).toBe(secretA);
    expect((await bob.client.inbox()).exchanges).toEqual([]);
    expect((await alice.client.getExchange(started.id)).status).toBe('confirmed');
  });

  it('deletes the one-time secret keys an accepted exchange used: the keystore cannot derive its secret again', async () => {
    const started = await startExchange(alice.ctx, 'bob@a.test');
    await acceptExchange(bob.ctx, started.id);
    const view = await bob.client.getExchange(started.id);
    expect(view.initiation.oneTimePrekeyId).toBeDefined();
    expect(view.initiation.pqPrekeyKind).toBe('pq-one-time');
    const ks = parsePlainKeystore(serializePlainKeystore(bob.ks));
    expect(ks.oneTimePrekeys.has(view.initiation.oneTimePrekeyId!)).toBe(false);
    expect(ks.pqOneTimePrekeys.has(view.initiation.pqPrekeyId)).toBe(false);
    expect(serializePlainKeystore(bob.ks)).not.toMatch(/usedOneTimeKeys/);
    // Everything else the keystore holds, with the public messages, is not enough.
    const again = () =>
      derive({
        self: responderKeys(ks),
        initiation: view.initiation,
        initiatorIdentity: decodePublicIdentity(view.peerIdentity, view.peer),
      });
    expect(again).toThrow(expect.objectContaining({ code: 'invalid_exchange' }));
    expect(exchangeSecret(bob.ks, started.id)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('forgets a secret: exchange_forgotten afterwards, and nothing of it left in the keystore', async () => {
    const started = await startExchange(alice.ctx, 'bob@a.test');
    await acceptExchange(bob.ctx, started.id);
    const secret = exchangeSecret(bob.ks, started.id);
    expect(forgetExchange(bob.ks, started.id, 1_800_000_000)).toBe(true);
    expect(forgetExchange(bob.ks, started.id, 1_800_000_001)).toBe(false);
    expect(() => exchangeSecret(bob.ks, started.id)).toThrow(expect.objectContaining({ code: 'exchange_forgotten' }));
    const text = serializePlainKeystore(bob.ks);
    const record = (JSON.parse(text) as { exchanges: Record<string, object> }).exchanges[started.id];
    expect(record).toEqual({
      role: 'responder',
      peer: 'alice@a.test',
      status: 'confirmed',
      usedLastResort: false,
      createdAt: expect.any(Number),
      forgottenAt: 1_800_000_000,
    });
    const secretB64u = Buffer.from(secret, 'hex').toString('base64url');
    expect(text).not.toContain(secretB64u);
    expect(() => forgetExchange(bob.ks, 'AAAAAAAAAAAAAAAAAAAAAA', 0)).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
  });

  it('refuses an exchange from a blocked address, storing nothing', async () => {
    const before = await exchangeRows();
    await bob.client.block('alice@a.test');
    await expect(startExchange(alice.ctx, 'bob@a.test')).rejects.toMatchObject({ code: 'blocked' });
    expect(await exchangeRows()).toBe(before);
    await bob.client.unblock('alice@a.test');
  });

  it('refuses a whole blocked domain', async () => {
    await bob.client.block('a.test');
    await expect(startExchange(alice.ctx, 'bob@a.test')).rejects.toMatchObject({ code: 'blocked' });
    expect((await bob.client.unblock('a.test')).blocks).toEqual([]);
  });

  it('keeps the secret of an unconfirmed exchange hidden from the initiator', async () => {
    const started = await startExchange(alice.ctx, 'bob@a.test');
    expect(() => exchangeSecret(alice.ks, started.id)).toThrow(expect.objectContaining({ code: 'not_confirmed' }));
  });
});
