/**
 * The exchange between two users of one node: the same checks and state machine as across
 * nodes, delivered in-process.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PrismaService } from '../src/database/prisma.service.js';
import { toHex } from '../src/protocol/encoding.js';
import { acceptExchange as derive } from '../src/protocol/exchange.js';
import { decodePublicIdentity } from '../src/protocol/wire.js';
import { acceptExchange, exchangeSecret, refreshExchange, startExchange } from '../src/sdk/exchange.js';
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

  it('keeps what is needed to derive the secret again from the public messages and the keystore alone', async () => {
    const started = await startExchange(alice.ctx, 'bob@a.test');
    await acceptExchange(bob.ctx, started.id);
    const view = await bob.client.getExchange(started.id);
    const ks = parsePlainKeystore(serializePlainKeystore(bob.ks));
    const record = ks.exchanges!.get(started.id)!;
    expect(ks.oneTimePrekeys.has(view.initiation.oneTimePrekeyId!)).toBe(false);
    expect(ks.pqOneTimePrekeys.has(view.initiation.pqPrekeyId)).toBe(false);
    const again = derive({
      self: {
        address: ks.address,
        identitySecretKey: ks.identitySecretKey,
        identityDhSecretKey: ks.identityDh.secretKey,
        signedPrekeySecret: (id) => ks.signedPrekeys.find((k) => k.id === id)?.secretKey,
        oneTimePrekeySecret: (id) =>
          record.usedOneTimeKeys?.oneTimePrekey?.id === id ? record.usedOneTimeKeys.oneTimePrekey.secretKey : undefined,
        pqPrekeySecret: (kind, id) =>
          kind === 'pq-one-time' && record.usedOneTimeKeys?.pqOneTimePrekey?.id === id
            ? record.usedOneTimeKeys.pqOneTimePrekey.secretKey
            : undefined,
      },
      initiation: view.initiation,
      initiatorIdentity: decodePublicIdentity(view.peerIdentity, view.peer),
    });
    expect(toHex(again.secret)).toBe(toHex(record.secret));
    expect(again.confirmation).toEqual(record.confirmation);
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
