/**
 * What another node may make this node store, at the service level (no HTTP, a real database,
 * a clock the test moves): every check InboundExchangeService and the federation claim make
 * on a message that passed its schema and came from an authenticated origin
 * (docs/protocol.md, "POST /api/v1/federation/claim" and "POST /api/v1/federation/messages").
 *
 * Each test runs in a day of its own on the clock, so fixed rate-limit windows start afresh
 * and never straddle a boundary.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { AccountsModule } from '../../src/accounts/accounts.module.js';
import { DirectoryModule } from '../../src/directory/directory.module.js';
import { BlockService } from '../../src/exchange/blocks/block.service.js';
import { BundleBrokerService } from '../../src/exchange/bundle-broker.service.js';
import { ExchangeModule } from '../../src/exchange/exchange.module.js';
import { ExchangeRepository } from '../../src/exchange/exchange.repository.js';
import { ExchangeService } from '../../src/exchange/exchange.service.js';
import { ExchangeWaiters } from '../../src/exchange/exchange-waiters.js';
import { InboundExchangeService } from '../../src/exchange/inbound-exchange.service.js';
import { FederationClient } from '../../src/federation/federation.client.js';
import type { FederationOrigin } from '../../src/federation/federation.guard.js';
import { fromB64u, toB64u } from '../../src/protocol/encoding.js';
import type { InitiationMessage } from '../../src/protocol/exchange-api.js';
import {
  decodeBundle,
  type ExchangeConfirmation,
  type ExchangeInitiation,
  type PublicKeyRecord,
} from '../../src/protocol/wire.js';
import type { Keystore } from '../../src/sdk/keystore.js';
import { expectAsyncCode } from '../support/expect-error.js';
import { initiationMessage, publishedAs, remoteUser, type RemoteUser } from '../support/remote-user.js';
import { startServiceGraph, type ServiceGraph } from '../support/service-graph.js';
import {
  bundleOf,
  confirmationBy,
  localUser,
  signedConfirmation,
  startsExchange,
  type LocalUser,
} from '../support/service-users.js';

const ORIGIN_LIMIT = 5;
const PAIR_LIMIT = 2;
const CLAIM_PAIR_LIMIT = 3;
const CLAIM_SOURCE_LIMIT = 5;
const TTL_SECONDS = 7 * 86_400;

let graph: ServiceGraph;
let inbound: InboundExchangeService;
let exchanges: ExchangeService;
let repository: ExchangeRepository;
let waiters: ExchangeWaiters;
let bob: LocalUser;
let carol: LocalUser;
let serial = 0;

/** Delivery to other nodes is not what these tests look at (no outbox round runs here). */
const federation = {
  post: async () => {
    throw new Error('no federation in this test');
  },
};

beforeAll(async () => {
  graph = await startServiceGraph({
    imports: [AccountsModule, DirectoryModule, ExchangeModule],
    env: {
      KEYPEARS_DOMAINS: 'b.test',
      KEYPEARS_EXCHANGE_LIMIT_PER_ORIGIN: String(ORIGIN_LIMIT),
      KEYPEARS_EXCHANGE_LIMIT_PER_PAIR: String(PAIR_LIMIT),
      KEYPEARS_CLAIM_LIMIT_PER_PAIR: String(CLAIM_PAIR_LIMIT),
      KEYPEARS_CLAIM_LIMIT_PER_SOURCE: String(CLAIM_SOURCE_LIMIT),
      KEYPEARS_EXCHANGE_TTL_SECONDS: String(TTL_SECONDS),
    },
    overrides: [[FederationClient, federation]],
    start: new Date(Date.UTC(2031, 0, 1)),
  });
  const get = graph.module.get.bind(graph.module);
  [inbound, exchanges, repository, waiters] = [
    get(InboundExchangeService),
    get(ExchangeService),
    get(ExchangeRepository),
    get(ExchangeWaiters),
  ];
  [bob, carol] = [await localUser(graph, 'bob@b.test', 100), await localUser(graph, 'carol@b.test', 5)];
}, 60_000);

afterAll(async () => {
  await graph?.close();
});

beforeEach(() => {
  graph.freshDay();
  jest.restoreAllMocks();
});

const now = () => graph.clock.unixSeconds();
/** A node of `domain` that this test has not heard from before (a budget of its own). */
const originOf = (domain = 'a.test'): FederationOrigin => ({ node: `https://kp${++serial}.${domain}`, domain });
/** A user of another node that this test has not seen before. */
const sender = (domain = 'a.test', name = 'alice'): RemoteUser =>
  remoteUser(`${name}${++serial}@${domain}`, `https://kp.${domain}`, now());

async function initiation(from: RemoteUser, to: LocalUser = bob, createdAt = now()): Promise<InitiationMessage> {
  return initiationMessage(from, await bundleOf(graph, to, from.ks.address), createdAt).message;
}

const rows = async (exchangeId: string) =>
  (await Promise.all([bob, carol].map((u) => repository.find(u.key.id, exchangeId)))).filter((r) => r !== null);

const flip = (b64u: string): string => {
  const bytes = fromB64u(b64u);
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  return toB64u(bytes);
};

describe('an initiation from another node', () => {
  it('is stored for its local recipient as delivered, wakes the recipient, and shows in the inbox', async () => {
    const alice = sender();
    const message = await initiation(alice);
    const changed = jest.spyOn(waiters, 'changed');
    const ack = await inbound.receiveInitiation(message, originOf());
    expect(ack).toEqual({ exchangeId: message.initiation.exchangeId, status: 'delivered' });
    expect(changed).toHaveBeenCalledWith(bob.key.id);
    const row = await repository.find(bob.key.id, message.initiation.exchangeId);
    expect(row).toMatchObject({
      role: 'responder',
      peerAddress: alice.ks.address,
      status: 'delivered',
      initiation: message.initiation,
      peerIdentity: message.initiatorIdentity,
      createdAt: graph.clock.now(),
      expiresAt: new Date((message.initiation.createdAt + TTL_SECONDS) * 1000),
    });
    expect((await exchanges.inbox(bob.key)).map((v) => v.id)).toContain(message.initiation.exchangeId);
  });

  it('is accepted once however often it arrives, answering the state the node holds', async () => {
    const alice = sender();
    const message = await initiation(alice);
    const origin = originOf();
    await inbound.receiveInitiation(message, origin);
    const changed = jest.spyOn(waiters, 'changed');
    expect(await inbound.receiveInitiation(message, origin)).toMatchObject({ status: 'delivered' });
    expect(changed).not.toHaveBeenCalled();
    const id = message.initiation.exchangeId;
    await exchanges.confirm(bob.key, id, {
      confirmation: confirmationBy(bob.ks, message.initiation, alice.identity),
    });
    expect(await inbound.receiveInitiation(message, origin)).toEqual({ exchangeId: id, status: 'confirmed' });
    expect(await rows(id)).toHaveLength(1);
  });

  it('refuses other content under an exchange id the recipient knows (conflict), changing nothing', async () => {
    const alice = sender();
    const first = await initiation(alice);
    await inbound.receiveInitiation(first, originOf());
    const id = first.initiation.exchangeId;
    const other = initiationMessage(alice, await bundleOf(graph, bob, alice.ks.address), now(), id).message;
    await expectAsyncCode(inbound.receiveInitiation(other, originOf()), 'conflict');
    expect((await repository.find(bob.key.id, id))!.initiation).toEqual(first.initiation);
  });

  it('refuses other content under one exchange id arriving at the same time: one is stored, the other conflicts', async () => {
    const alice = sender();
    const first = await initiation(alice);
    const id = first.initiation.exchangeId;
    const other = initiationMessage(alice, await bundleOf(graph, bob, alice.ks.address), now(), id).message;
    // Both pass the lookup before either is stored; the loser's insert finds the winner's row.
    const outcomes = await Promise.allSettled([first, other].map((m) => inbound.receiveInitiation(m, originOf())));
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'conflict' });
    const winner = outcomes.indexOf(outcomes.find((o) => o.status === 'fulfilled')!);
    expect((await repository.find(bob.key.id, id))!.initiation).toEqual([first, other][winner].initiation);
  });

  it('refuses the id of an exchange the recipient started (conflict)', async () => {
    const alice = sender();
    const { exchangeId } = await bobStarts(alice);
    const reply = initiationMessage(alice, await bundleOf(graph, bob, alice.ks.address), now(), exchangeId).message;
    await expectAsyncCode(inbound.receiveInitiation(reply, originOf()), 'conflict');
    expect((await repository.find(bob.key.id, exchangeId))!.role).toBe('initiator');
  });

  it('refuses a recipient on a domain this node does not serve (domain_not_served)', async () => {
    const alice = sender();
    const dave = remoteUser('dave@c.test', 'https://kp.c.test', now());
    const { message } = initiationMessage(alice, dave.bundle(), now());
    await expectAsyncCode(inbound.receiveInitiation(message, originOf()), 'domain_not_served');
  });

  it('refuses an address this node does not have (not_found)', async () => {
    const alice = sender();
    const nobody = remoteUser('nobody@b.test', graph.config.publicUrl, now());
    const { message } = initiationMessage(alice, nobody.bundle(), now());
    await expectAsyncCode(inbound.receiveInitiation(message, originOf()), 'not_found');
    expect(await rows(message.initiation.exchangeId)).toHaveLength(0);
  });

  it('refuses a sender whose domain the origin does not speak for (origin_not_authorized)', async () => {
    const message = await initiation(sender('a.test'));
    await expectAsyncCode(inbound.receiveInitiation(message, originOf('c.test')), 'origin_not_authorized');
    expect(await rows(message.initiation.exchangeId)).toHaveLength(0);
  });

  it(`counts every message of an origin node, ${ORIGIN_LIMIT} a minute`, async () => {
    const origin = originOf();
    for (let i = 0; i < ORIGIN_LIMIT; i++) await inbound.receiveInitiation(await initiation(sender()), origin);
    const refused = await expectAsyncCode(
      inbound.receiveInitiation(await initiation(sender()), origin),
      'rate_limited',
    );
    expect(refused.details).toEqual({ retryAfterSeconds: 30 });
    // Another node has its own budget; the next minute, this one has a new one.
    await inbound.receiveInitiation(await initiation(sender()), originOf());
    graph.clock.advance(30_000);
    await inbound.receiveInitiation(await initiation(sender()), origin);
  });

  it(`counts exchanges from one sender to one recipient, ${PAIR_LIMIT} an hour`, async () => {
    const alice = sender();
    for (let i = 0; i < PAIR_LIMIT; i++) await inbound.receiveInitiation(await initiation(alice), originOf());
    const over = await initiation(alice);
    await expectAsyncCode(inbound.receiveInitiation(over, originOf()), 'rate_limited');
    expect(await rows(over.initiation.exchangeId)).toHaveLength(0);
    await inbound.receiveInitiation(await initiation(alice, carol), originOf());
    await inbound.receiveInitiation(await initiation(sender()), originOf());
    graph.clock.advance(3_600_000 - 30_000);
    await inbound.receiveInitiation(await initiation(alice), originOf());
  });

  it('refuses a sender the recipient blocks, by address or by domain (blocked), storing nothing', async () => {
    const blocks = graph.module.get(BlockService);
    const alice = sender();
    await blocks.add(bob.key, alice.ks.address);
    const refused = await initiation(alice);
    await expectAsyncCode(inbound.receiveInitiation(refused, originOf()), 'blocked');
    expect(await rows(refused.initiation.exchangeId)).toHaveLength(0);
    await inbound.receiveInitiation(await initiation(alice, carol), originOf());
    await blocks.remove(bob.key, alice.ks.address);

    await blocks.add(bob.key, 'a.test');
    await expectAsyncCode(inbound.receiveInitiation(await initiation(sender('a.test')), originOf()), 'blocked');
    await inbound.receiveInitiation(await initiation(sender('c.test')), originOf('c.test'));
    await blocks.remove(bob.key, 'a.test');
  });

  it('accepts an initiation dated up to 300 s ahead of the clock, and refuses one dated later (invalid_exchange)', async () => {
    const at = now();
    const ahead = await initiation(sender(), bob, at);
    const tooFar = await initiation(sender(), bob, at);
    graph.clock.set((at - 301) * 1000);
    await expectAsyncCode(inbound.receiveInitiation(tooFar, originOf()), 'invalid_exchange');
    graph.clock.set((at - 300) * 1000);
    expect((await inbound.receiveInitiation(ahead, originOf())).status).toBe('delivered');
  });

  it('refuses an initiation as old as the exchange lifetime (exchange_expired), and accepts one a second younger', async () => {
    const at = now();
    const young = await initiation(sender(), bob, at);
    const old = await initiation(sender(), bob, at);
    graph.clock.set((at + TTL_SECONDS) * 1000);
    await expectAsyncCode(inbound.receiveInitiation(old, originOf()), 'exchange_expired');
    graph.clock.set((at + TTL_SECONDS - 1) * 1000);
    expect((await inbound.receiveInitiation(young, originOf())).status).toBe('delivered');
  });
});

describe('the signatures inside an initiation', () => {
  /** Refused with `code`, and nothing stored. */
  async function refused(message: InitiationMessage, code: string): Promise<void> {
    await expectAsyncCode(inbound.receiveInitiation(message, originOf()), code);
    expect(await rows(message.initiation.exchangeId)).toHaveLength(0);
  }

  it("refuses an initiator identity that is not the sender's (invalid_exchange), or does not verify (bad_signature)", async () => {
    const message = await initiation(sender());
    const identity = message.initiatorIdentity;
    await refused({ ...message, initiatorIdentity: sender().identity }, 'invalid_exchange');
    await refused(
      { ...message, initiatorIdentity: { ...identity, fingerprint: sender().identity.fingerprint } },
      'invalid_exchange',
    );
    const unsigned = { ...identity.identityDhKey, signature: flip(identity.identityDhKey.signature) };
    await refused({ ...message, initiatorIdentity: { ...identity, identityDhKey: unsigned } }, 'bad_signature');
  });

  it("refuses an initiation signed with other keys than the sender's published identity (invalid_exchange)", async () => {
    const alice = sender();
    const message = await initiation(alice);
    // Valid identities of the same address: another identity key with the same identity DH
    // key, the same identity key with another DH key, or both keys other.
    const otherIdentityKey = publishedAs({ ...alice.ks, identitySecretKey: sender().ks.identitySecretKey }, now(), 0);
    expect(otherIdentityKey.identity.identityDhKey.publicKey).toBe(alice.identity.identityDhKey.publicKey);
    await refused({ ...message, initiatorIdentity: otherIdentityKey.identity }, 'invalid_exchange');
    const ks: Keystore = {
      ...alice.ks,
      identityDh: { ...alice.ks.identityDh, secretKey: sender().ks.identityDh.secretKey },
    };
    const otherDhKey = publishedAs(ks, now(), 0).identity;
    expect(otherDhKey.identityKey).toBe(alice.identity.identityKey);
    await refused({ ...message, initiatorIdentity: otherDhKey }, 'invalid_exchange');
    const impostor = remoteUser(alice.ks.address, alice.ks.node, now()).identity;
    await refused({ ...message, initiatorIdentity: impostor }, 'invalid_exchange');
  });

  it('refuses a responder prekey with another id than the one the initiation names (invalid_exchange)', async () => {
    const message = await initiation(sender());
    const { responderPrekeys } = message;
    // Signed by Bob, but a one-time prekey: not the signed prekey the initiation names.
    const wrong: PublicKeyRecord = responderPrekeys.oneTimePrekey!;
    await refused({ ...message, responderPrekeys: { ...responderPrekeys, signedPrekey: wrong } }, 'invalid_exchange');
  });

  it('refuses a one-time prekey the initiation does not name, and a missing one it names (invalid_exchange)', async () => {
    const alice = sender();
    const named = await initiation(alice);
    const { oneTimePrekey, ...withoutOneTime } = named.responderPrekeys;
    expect(named.initiation.oneTimePrekeyId).toBe(oneTimePrekey!.id);
    await refused({ ...named, responderPrekeys: withoutOneTime }, 'invalid_exchange');

    const bundle = await bundleOf(graph, bob, alice.ks.address);
    const { oneTimePrekey: unused, ...noOneTime } = bundle;
    const unnamed = initiationMessage(alice, noOneTime, now()).message;
    expect(unnamed.initiation.oneTimePrekeyId).toBeUndefined();
    await refused(
      { ...unnamed, responderPrekeys: { ...unnamed.responderPrekeys, oneTimePrekey: unused } },
      'invalid_exchange',
    );
  });

  it('refuses a responder prekey the recipient did not sign (bad_signature)', async () => {
    const message = await initiation(sender());
    const { responderPrekeys } = message;
    for (const field of ['signedPrekey', 'oneTimePrekey', 'pqPrekey'] as const) {
      const record = responderPrekeys[field]!;
      await refused(
        {
          ...message,
          responderPrekeys: { ...responderPrekeys, [field]: { ...record, signature: flip(record.signature) } },
        },
        'bad_signature',
      );
    }
  });

  it("refuses an initiation whose sender's signature does not verify (bad_signature)", async () => {
    const message = await initiation(sender());
    const tampered = [
      { signature: flip(message.initiation.signature) },
      { pqCiphertext: flip(message.initiation.pqCiphertext) },
      { ephemeralKey: flip(message.initiation.ephemeralKey) },
    ];
    for (const change of tampered)
      await refused({ ...message, initiation: { ...message.initiation, ...change } }, 'bad_signature');
    expect((await inbound.receiveInitiation(message, originOf())).status).toBe('delivered');
  });
});

/** Bob starts an exchange with a user of another node (queued for delivery). */
async function bobStarts(peer: RemoteUser): Promise<{ exchangeId: string; initiation: ExchangeInitiation }> {
  const initiation = await startsExchange(graph, bob, peer);
  return { exchangeId: initiation.exchangeId, initiation };
}

describe('a confirmation from another node', () => {
  /** An exchange Bob started with a new user of another node, and that user's confirmation of it. */
  async function bobsExchange() {
    const alice = sender();
    const started = await bobStarts(alice);
    return { alice, ...started, confirmation: confirmationBy(alice.ks, started.initiation, bob.identity) };
  }
  const deliver = (confirmation: ExchangeConfirmation, origin = originOf()) =>
    inbound.receiveConfirmation({ type: 'confirmation', confirmation }, origin);
  const stored = async (exchangeId: string) => (await repository.find(bob.key.id, exchangeId))!;

  it("marks the initiator's exchange confirmed, wakes the initiator, and is accepted once", async () => {
    const { exchangeId, confirmation } = await bobsExchange();
    const origin = originOf();
    const changed = jest.spyOn(waiters, 'changed');
    const confirmedAt = graph.clock.now();
    expect(await deliver(confirmation, origin)).toEqual({ exchangeId, status: 'confirmed' });
    expect(changed).toHaveBeenCalledWith(bob.key.id);
    expect(await stored(exchangeId)).toMatchObject({ status: 'confirmed', confirmation, confirmedAt });
    changed.mockClear();
    graph.clock.advance(1000);
    expect(await deliver(confirmation, origin)).toEqual({ exchangeId, status: 'confirmed' });
    expect(changed).not.toHaveBeenCalled();
    expect((await stored(exchangeId)).confirmedAt).toEqual(confirmedAt);
  });

  it('refuses another confirmation of a confirmed exchange (conflict)', async () => {
    const { alice, exchangeId, confirmation } = await bobsExchange();
    await deliver(confirmation);
    await expectAsyncCode(deliver(signedConfirmation(alice.ks, { exchangeId, to: bob.ks.address })), 'conflict');
    expect((await stored(exchangeId)).confirmation).toEqual(confirmation);
  });

  it("is not_found for an unknown exchange, one the recipient answers, and another peer's", async () => {
    const { alice, exchangeId } = await bobsExchange();
    const unknownId = toB64u(new Uint8Array(16).fill(9));
    await expectAsyncCode(
      deliver(signedConfirmation(alice.ks, { exchangeId: unknownId, to: bob.ks.address })),
      'not_found',
    );
    const incoming = await initiation(alice);
    await inbound.receiveInitiation(incoming, originOf());
    const answered = incoming.initiation.exchangeId;
    await expectAsyncCode(
      deliver(signedConfirmation(alice.ks, { exchangeId: answered, to: bob.ks.address })),
      'not_found',
    );
    await expectAsyncCode(deliver(signedConfirmation(sender().ks, { exchangeId, to: bob.ks.address })), 'not_found');
    expect((await stored(exchangeId)).status).toBe('pending');
  });

  it('refuses a confirmation the peer did not sign (bad_signature)', async () => {
    const { exchangeId, confirmation } = await bobsExchange();
    await expectAsyncCode(deliver({ ...confirmation, signature: flip(confirmation.signature) }), 'bad_signature');
    expect((await stored(exchangeId)).status).toBe('pending');
  });

  it('refuses a confirmation of an exchange that failed (conflict)', async () => {
    const { exchangeId, confirmation } = await bobsExchange();
    await graph.query(`UPDATE exchange SET status = 'failed', failure_reason = 'refused' WHERE exchange_id = $1`, [
      exchangeId,
    ]);
    const refused = await expectAsyncCode(deliver(confirmation), 'conflict');
    expect(refused.message).toBe('the exchange failed: refused');
    expect((await stored(exchangeId)).status).toBe('failed');
  });

  it('refuses a confirmation at the deadline, and after the sweep marked the exchange expired (exchange_expired)', async () => {
    const { exchangeId, initiation: started, confirmation } = await bobsExchange();
    const deadline = (started.createdAt + TTL_SECONDS) * 1000;
    graph.clock.set(deadline);
    await expectAsyncCode(deliver(confirmation), 'exchange_expired');
    expect(await repository.expireDue(graph.clock.now())).toBeGreaterThanOrEqual(1);
    // Marked expired, the exchange stays so even for a clock that is behind.
    graph.clock.set(deadline - 60_000);
    await expectAsyncCode(deliver(confirmation), 'exchange_expired');
    expect((await stored(exchangeId)).status).toBe('expired');
  });

  it('refuses a confirmation whose exchange stopped waiting after it was read (conflict)', async () => {
    const { exchangeId, confirmation } = await bobsExchange();
    const find = repository.find.bind(repository);
    // Another replica gives up on the exchange between this one's read and its update.
    jest.spyOn(repository, 'find').mockImplementationOnce(async (...args) => {
      const row = await find(...args);
      await graph.query(`UPDATE exchange SET status = 'failed' WHERE exchange_id = $1`, [exchangeId]);
      return row;
    });
    await expectAsyncCode(deliver(confirmation), 'conflict');
    expect((await stored(exchangeId)).status).toBe('failed');
  });

  it('passes the same admission as an initiation: local recipient, origin speaking for the sender', async () => {
    const { alice, exchangeId, confirmation } = await bobsExchange();
    await expectAsyncCode(deliver(confirmation, originOf('c.test')), 'origin_not_authorized');
    await expectAsyncCode(deliver(signedConfirmation(alice.ks, { exchangeId, to: 'bob@c.test' })), 'domain_not_served');
    await expectAsyncCode(deliver(signedConfirmation(alice.ks, { exchangeId, to: 'nobody@b.test' })), 'not_found');
    expect((await stored(exchangeId)).status).toBe('pending');
  });
});

describe('a message between two users of this node (origin local)', () => {
  it("is not counted against any origin's budget", async () => {
    for (let i = 0; i <= ORIGIN_LIMIT; i++) {
      expect((await inbound.receiveInitiation(await initiation(sender('b.test', 'local')), 'local')).status).toBe(
        'delivered',
      );
    }
  });

  it('must come from an address of a domain this node serves (origin_not_authorized)', async () => {
    await expectAsyncCode(
      inbound.receiveInitiation(await initiation(sender('a.test')), 'local'),
      'origin_not_authorized',
    );
  });
});

describe('a bundle claim from another node', () => {
  const broker = () => graph.module.get(BundleBrokerService);

  it("hands out a local address's bundle for a requester of the origin's domain", async () => {
    const bundle = await broker().claimForNode(originOf(), { requester: `r${++serial}@a.test`, address: 'bob@b.test' });
    expect(decodeBundle(bundle, 'bob@b.test').address).toBe('bob@b.test');
  });

  it("refuses a requester outside the origin's domain (origin_not_authorized)", async () => {
    await expectAsyncCode(
      broker().claimForNode(originOf('c.test'), { requester: `r${++serial}@a.test`, address: 'bob@b.test' }),
      'origin_not_authorized',
    );
  });

  it(`counts claims per (requester, address), ${CLAIM_PAIR_LIMIT} an hour, and per origin node, ${CLAIM_SOURCE_LIMIT} a minute`, async () => {
    const origin = originOf();
    const requester = `r${++serial}@a.test`;
    for (let i = 0; i < CLAIM_PAIR_LIMIT; i++)
      await broker().claimForNode(origin, { requester, address: 'bob@b.test' });
    await expectAsyncCode(broker().claimForNode(origin, { requester, address: 'bob@b.test' }), 'rate_limited');
    await broker().claimForNode(origin, { requester, address: 'carol@b.test' });
    await expectAsyncCode(
      broker().claimForNode(origin, { requester: `r${++serial}@a.test`, address: 'bob@b.test' }),
      'rate_limited',
    );
    await broker().claimForNode(originOf(), { requester: `r${++serial}@a.test`, address: 'bob@b.test' });
  });
});
