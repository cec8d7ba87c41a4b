/**
 * Federation end to end on loopback: a nameserver, three nodes with their own databases
 * (a.test, b.test behind a proxy, c.test), users driven through the SDK. Covers the signed
 * node-to-node requests (origin, destination, replay, time window) and every delivery failure
 * mode of the exchange: the peer down, the sender down, the sender restarted mid-delivery.
 * The three nodes share one clock that moves only when a test moves it: a retry's backoff or
 * a lease runs out because the test moves the clock past it, not after real time.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PrismaService } from '../src/database/prisma.service.js';
import { FederationClient } from '../src/federation/federation.client.js';
import { NodeKeysService } from '../src/node-keys/node-keys.service.js';
import { fromB64u, toB64u, utf8 } from '../src/protocol/encoding.js';
import { initiateExchange } from '../src/protocol/exchange.js';
import type { InitiationMessage } from '../src/protocol/exchange-api.js';
import { signRequest } from '../src/protocol/http-signature.js';
import type { DecodedPrekeyBundle } from '../src/protocol/wire.js';
import { acceptExchange, exchangeSecret, refreshExchange, startExchange } from '../src/sdk/exchange.js';
import { startTestNameserver, type LoopbackNameserver } from './support/dns-server.js';
import { eventually, exchangeUser, type ExchangeUser } from './support/exchange-users.js';
import { startHoldingProxy, type HoldingProxy } from './support/holding-proxy.js';
import { MovableClock } from './support/movable-clock.js';
import { startTestNode, type TestNode } from './support/test-node.js';

const MESSAGES = '/api/v1/federation/messages';
const BATCH = '/api/v1/federation/batch';
/** The clock of the three nodes, their users' signatures and the requests signed here. */
const clock = new MovableClock(Date.now());
let ns: LoopbackNameserver;
let proxy: HoldingProxy;
let a: TestNode;
let b: TestNode;
let c: TestNode;
let alice: ExchangeUser;
let bob: ExchangeUser;

beforeAll(async () => {
  ns = await startTestNameserver();
  // Nodes announce batches (docs/protocol.md §9.5), so the outbox delivers through BATCH.
  proxy = await startHoldingProxy(BATCH);
  const env = {
    KEYPEARS_DNS_SERVERS: ns.address,
    KEYPEARS_OUTBOX_POLL_MS: '50',
    KEYPEARS_OUTBOX_BACKOFF_MAX_MS: '300',
    KEYPEARS_OUTBOX_LEASE_MS: '3000',
    KEYPEARS_FEDERATION_TIMEOUT_MS: '2500',
  };
  [a, b, c] = await Promise.all([
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'a.test' }, { clock }),
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'b.test', KEYPEARS_PUBLIC_URL: proxy.url }, { clock }),
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'c.test' }, { clock }),
  ]);
  proxy.targetPort = b.config.port;
  ns.setTxt('_keypears.a.test', `v=KP1; node=${a.config.publicUrl}`);
  ns.setTxt('_keypears.b.test', `v=KP1; node=${b.config.publicUrl}`);
  ns.setTxt('_keypears.c.test', `v=KP1; node=${c.config.publicUrl}`);
  [alice, bob] = await Promise.all([exchangeUser(a, 'alice@a.test', 5), exchangeUser(b, 'bob@b.test', 5)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy(), c?.destroy()]);
  await Promise.all([ns?.stop(), proxy?.close()]);
});

const prisma = (t: TestNode) => t.node.app.get(PrismaService);

/**
 * Waits for `check` while the clock moves on by the longest backoff (KEYPEARS_OUTBOX_BACKOFF_MAX_MS)
 * between two looks: every retry that is due by then is made, and none before.
 */
const eventuallyAsTimePasses = <T>(check: () => Promise<T | undefined>, what?: string) =>
  eventually(
    async () => {
      clock.advance(300);
      return check();
    },
    20_000,
    what,
  );
const bobRows = (id: string) => prisma(b).exchange.count({ where: { exchangeId: id } });

/** Alice starts, Bob accepts, Alice sees it confirmed: both hold the same secret. */
async function completes(id: string): Promise<void> {
  await eventually(async () => ((await bob.client.inbox()).exchanges.some((e) => e.id === id) ? true : undefined));
  expect((await acceptExchange(bob.ctx, id)).status).toBe('confirmed');
  await eventually(async () => ((await refreshExchange(alice.ctx, id)).status === 'confirmed' ? true : undefined));
  expect(exchangeSecret(alice.ks, id)).toBe(exchangeSecret(bob.ks, id));
}

/** A signed federation request from `from`'s node key, with every part overridable. */
async function federationPost(
  from: TestNode,
  to: TestNode,
  body: unknown,
  opts: { domain?: string; destination?: string; now?: number; path?: string } = {},
) {
  const key = await from.node.app.get(NodeKeysService).currentKey();
  const url = `${to.config.publicUrl}${opts.path ?? MESSAGES}`;
  const bytes = utf8(JSON.stringify(body));
  const covered = {
    'keypears-origin': from.config.publicUrl,
    'keypears-destination': opts.destination ?? to.config.publicUrl,
    'keypears-domain': opts.domain ?? from.config.domains[0],
  };
  const headers = {
    'content-type': 'application/json',
    ...covered,
    ...signRequest({
      method: 'POST',
      targetUri: url,
      body: bytes,
      keyId: key.keyId,
      secretKey: key.secretKey,
      headers: covered,
      now: opts.now ?? clock.unixSeconds(),
    }),
  };
  const send = async () => {
    const res = await fetch(url, { method: 'POST', headers, body: bytes });
    return { status: res.status, body: (await res.json()) as { error?: { code: string } } & Record<string, unknown> };
  };
  return { send };
}

/** Alice's side of the derivation for a bundle she claimed (what her SDK does before sending). */
const aliceInitiates = (peerBundle: DecodedPrekeyBundle) =>
  initiateExchange({
    self: {
      address: 'alice@a.test',
      identitySecretKey: alice.ks.identitySecretKey,
      identityDhSecretKey: alice.ks.identityDh.secretKey,
    },
    peerBundle,
    createdAt: clock.unixSeconds(),
  });

/** An initiation message exactly as Alice's node would deliver it (a bundle claimed from Bob). */
async function aliceInitiation(): Promise<InitiationMessage> {
  const { bundle, decoded } = await alice.client.exchangeBundle('bob@b.test');
  const { initiation } = aliceInitiates(decoded);
  const identity = await (await fetch(`${a.url}/api/v1/identities/alice%40a.test`)).json();
  const pq = initiation.pqPrekeyKind === 'pq-one-time' ? bundle.pqOneTimePrekey! : bundle.pqLastResort;
  return {
    type: 'initiation',
    initiation,
    initiatorIdentity: identity as InitiationMessage['initiatorIdentity'],
    responderPrekeys: {
      signedPrekey: bundle.signedPrekey,
      ...(bundle.oneTimePrekey ? { oneTimePrekey: bundle.oneTimePrekey } : {}),
      pqPrekey: pq,
    },
  };
}

describe('exchange across two nodes', () => {
  it('gives alice@a.test and bob@b.test the same secret, confirmed on both sides', async () => {
    const started = await startExchange(alice.ctx, 'bob@b.test');
    expect(started.usedLastResort).toBe(false);
    await completes(started.id);
    expect(exchangeSecret(alice.ks, started.id)).toMatch(/^[0-9a-f]{64}$/);
    expect((await bob.client.getExchange(started.id)).status).toBe('confirmed');
  });

  it('completes with the last-resort keys when the one-time prekeys are used up, and says so', async () => {
    const carol = await exchangeUser(b, 'carol@b.test', 0);
    const started = await startExchange(alice.ctx, 'carol@b.test');
    expect(started.usedLastResort).toBe(true);
    await eventually(async () => ((await carol.client.inbox()).exchanges.length === 1 ? true : undefined));
    const inbox = (await carol.client.inbox()).exchanges[0];
    expect(inbox.usedLastResort).toBe(true);
    expect(await acceptExchange(carol.ctx, started.id)).toMatchObject({ status: 'confirmed', usedLastResort: true });
    await eventually(async () =>
      (await refreshExchange(alice.ctx, started.id)).status === 'confirmed' ? true : undefined,
    );
    expect(exchangeSecret(alice.ks, started.id)).toBe(exchangeSecret(carol.ks, started.id));
  });
});

describe('reliable delivery', () => {
  it('delivers after the recipient node was down, losing nothing', async () => {
    await b.stop();
    // Starting needs a bundle from Bob's node: while it is down, that fails cleanly.
    await expect(startExchange(alice.ctx, 'bob@b.test')).rejects.toMatchObject({ code: 'peer_unavailable' });
    await b.restart();

    // Alice's node accepts her initiation; then Bob's node goes down before it is delivered.
    const { bundle, decoded } = await alice.client.exchangeBundle('bob@b.test');
    const { initiation, secret } = aliceInitiates(decoded);
    await b.stop();
    expect((await alice.client.startExchange({ initiation, bundle })).status).toBe('pending');
    const outbox = () =>
      prisma(a).outboxMessage.findFirst({ where: { dedupeKey: { contains: initiation.exchangeId } } });
    await eventuallyAsTimePasses(async () => ((await outbox())!.attempts >= 2 ? true : undefined), 'retries');
    expect((await alice.client.getExchange(initiation.exchangeId)).status).toBe('pending');
    await b.restart();
    await eventuallyAsTimePasses(async () =>
      (await alice.client.getExchange(initiation.exchangeId)).status === 'delivered' ? true : undefined,
    );
    const view = (await bob.client.inbox()).exchanges.find((e) => e.id === initiation.exchangeId);
    expect(view?.peer).toBe('alice@a.test');
    expect(await bobRows(initiation.exchangeId)).toBe(1);
    expect((await acceptExchange(bob.ctx, initiation.exchangeId)).status).toBe('confirmed');
    expect(Buffer.from(exchangeSecret(bob.ks, initiation.exchangeId), 'hex')).toEqual(Buffer.from(secret));
  });

  it('delivers the confirmation after the initiator node was down', async () => {
    const started = await startExchange(alice.ctx, 'bob@b.test');
    await eventually(async () =>
      (await bob.client.inbox()).exchanges.some((e) => e.id === started.id) ? true : undefined,
    );
    await a.stop();
    expect((await acceptExchange(bob.ctx, started.id)).status).toBe('confirmed');
    // Bob's node tries to deliver the confirmation, and cannot while Alice's node is down.
    const pending = await eventually(
      async () => {
        const row = await prisma(b).outboxMessage.findFirst({
          where: { dedupeKey: { contains: started.id }, kind: 'confirmation' },
        });
        return row && row.attempts >= 1 ? row : undefined;
      },
      20_000,
      'a failed delivery attempt',
    );
    expect(pending.deliveredAt).toBeNull();
    await a.restart();
    await eventuallyAsTimePasses(async () =>
      (await refreshExchange(alice.ctx, started.id)).status === 'confirmed' ? true : undefined,
    );
    expect(exchangeSecret(alice.ks, started.id)).toBe(exchangeSecret(bob.ks, started.id));
  });

  it('delivers exactly once when the sender restarts in the middle of a delivery', async () => {
    proxy.hold = true;
    const heldBefore = proxy.held;
    const started = await startExchange(alice.ctx, 'bob@b.test');
    expect(started.status).toBe('pending');
    await eventually(async () => (proxy.held > heldBefore ? true : undefined), 20_000, 'a held delivery');
    expect(await bobRows(started.id)).toBe(1); // Bob's node stored it; Alice's node never heard back
    await a.restart();
    proxy.hold = false;
    // Sent again once its lease (KEYPEARS_OUTBOX_LEASE_MS) has run out on the clock.
    await eventuallyAsTimePasses(async () =>
      (await alice.client.getExchange(started.id)).status === 'delivered' ? true : undefined,
    );
    const message = await prisma(a).outboxMessage.findFirst({ where: { dedupeKey: { contains: started.id } } });
    expect(message!.attempts).toBeGreaterThanOrEqual(2);
    expect(await bobRows(started.id)).toBe(1);
    expect((await bob.client.inbox()).exchanges.filter((e) => e.id === started.id)).toHaveLength(1);
    await completes(started.id);
  });
});

describe('signed node-to-node requests', () => {
  const unknownConfirmation = () => ({
    type: 'confirmation',
    confirmation: {
      exchangeId: toB64u(new Uint8Array(16).fill(7)),
      from: 'alice@a.test',
      to: 'bob@b.test',
      mac: toB64u(new Uint8Array(32)),
      signature: toB64u(new Uint8Array(64)),
    },
  });

  it('takes a batch of messages with one result per message, in order, and the same results again', async () => {
    const message = await aliceInitiation();
    const batch = { messages: [message, unknownConfirmation()] };
    const first = await (await federationPost(a, b, batch, { path: BATCH })).send();
    expect(first.status).toBe(200);
    const id = message.initiation.exchangeId;
    expect(first.body).toEqual({
      results: [{ exchangeId: id, status: 'delivered' }, { error: { code: 'not_found', message: expect.any(String) } }],
    });
    const again = await (await federationPost(a, b, batch, { path: BATCH })).send();
    expect(again.body).toEqual(first.body);
    expect(await bobRows(id)).toBe(1);
  });

  it('refuses a batch of more than 64 messages (invalid_request) or over 512 KiB (payload_too_large)', async () => {
    const many = { messages: Array.from({ length: 65 }, unknownConfirmation) };
    const tooMany = await (await federationPost(a, b, many, { path: BATCH })).send();
    expect([tooMany.status, tooMany.body.error?.code]).toEqual([400, 'invalid_request']);
    // Refused before anything else is looked at (straight to B's listener: the proxy in front
    // of it does not pass on an answer that comes before the whole body).
    const message = await aliceInitiation();
    const big = JSON.stringify({ messages: Array.from({ length: 64 }, () => message), padding: 'x'.repeat(200_000) });
    expect(big.length).toBeGreaterThan(512 * 1024);
    const tooBig = await fetch(`${b.url}${BATCH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect([tooBig.status, ((await tooBig.json()) as { error: { code: string } }).error.code]).toEqual([
      413,
      'payload_too_large',
    ]);
  });

  it('announces batches in the node document (the outbox delivers through them: see the restart case above)', async () => {
    const document = (await (await fetch(`${b.url}/.well-known/keypears.json`)).json()) as Record<string, unknown>;
    expect(document.batch).toEqual({ maxMessages: 64, maxBytes: 512 * 1024 });
  });

  it('refuses a replayed request', async () => {
    const request = await federationPost(a, b, unknownConfirmation());
    const first = await request.send();
    expect(first.status).toBe(404); // authenticated, then: no such exchange
    const again = await request.send();
    expect(again.status).toBe(401);
    expect(again.body.error?.code).toBe('replayed_request');
  });

  it('refuses a request for another node, expired or from the future', async () => {
    const wrong = await federationPost(a, b, unknownConfirmation(), { destination: c.config.publicUrl });
    expect((await wrong.send()).body.error?.code).toBe('wrong_destination');
    const old = await federationPost(a, b, unknownConfirmation(), { now: clock.unixSeconds() - 300 });
    expect((await old.send()).body.error?.code).toBe('signature_expired');
    const future = await federationPost(a, b, unknownConfirmation(), { now: clock.unixSeconds() + 200 });
    expect((await future.send()).body.error?.code).toBe('signature_future');
  });

  it('refuses a third node claiming to act for a.test', async () => {
    const message = await aliceInitiation();
    const asA = await federationPost(c, b, message, { domain: 'a.test' });
    const refused = await asA.send();
    // docs/protocol.md §9.1: the origin is checked against discovery before any key id.
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe('origin_not_authorized');
    const asC = await federationPost(c, b, message, { domain: 'c.test' });
    const forged = await asC.send();
    expect(forged.status).toBe(403);
    expect(forged.body.error?.code).toBe('origin_not_authorized');
    // The same message through c's own client, as c's outbox would send it.
    await expect(
      c.node.app.get(FederationClient).post('b.test', MESSAGES, message, { senderDomain: 'c.test' }),
    ).rejects.toMatchObject({ details: { peerCode: 'origin_not_authorized' } });
    expect(await bobRows(message.initiation.exchangeId)).toBe(0);
  });

  it('refuses an initiation with any byte of any field changed, storing nothing', async () => {
    const message = await aliceInitiation();
    const id = message.initiation.exchangeId;
    const flipB64u = (text: string) => {
      const bytes = fromB64u(text);
      bytes[Math.floor(bytes.length / 2)] ^= 0x01;
      return toB64u(bytes);
    };
    const i = message.initiation;
    const tampered: Array<[string, Record<string, unknown>]> = [
      ['exchangeId', { exchangeId: flipB64u(i.exchangeId) }],
      ['from', { from: 'mallory@a.test' }],
      ['to', { to: 'carol@b.test' }],
      ['identityKey', { identityKey: flipB64u(i.identityKey) }],
      ['identityDhKey', { identityDhKey: flipB64u(i.identityDhKey) }],
      ['ephemeralKey', { ephemeralKey: flipB64u(i.ephemeralKey) }],
      ['signedPrekeyId', { signedPrekeyId: i.signedPrekeyId + 1 }],
      ['oneTimePrekeyId', { oneTimePrekeyId: (i.oneTimePrekeyId ?? 0) + 1 }],
      ['pqPrekeyId', { pqPrekeyId: i.pqPrekeyId + 1 }],
      ['pqPrekeyKind', { pqPrekeyKind: i.pqPrekeyKind === 'pq-one-time' ? 'pq-last-resort' : 'pq-one-time' }],
      ['pqCiphertext', { pqCiphertext: flipB64u(i.pqCiphertext) }],
      ['createdAt', { createdAt: i.createdAt - 1 }],
      ['signature', { signature: flipB64u(i.signature) }],
    ];
    for (const [field, change] of tampered) {
      const body = { ...message, initiation: { ...i, ...change } };
      const res = await (await federationPost(a, b, body)).send();
      expect({ field, refused: [400, 403, 404, 422].includes(res.status) }).toEqual({ field, refused: true });
      expect(await prisma(b).exchange.count({ where: { exchangeId: { in: [id, String(change.exchangeId)] } } })).toBe(
        0,
      );
    }
    const keyChange = {
      ...message,
      responderPrekeys: {
        ...message.responderPrekeys,
        signedPrekey: {
          ...message.responderPrekeys.signedPrekey,
          publicKey: flipB64u(message.responderPrekeys.signedPrekey.publicKey),
        },
      },
    };
    expect((await (await federationPost(a, b, keyChange)).send()).status).toBe(422);
    expect(await bobRows(id)).toBe(0);
    // The untouched message is accepted, and accepted once however often it arrives.
    expect((await (await federationPost(a, b, message)).send()).status).toBe(202);
    expect((await (await federationPost(a, b, message)).send()).status).toBe(202);
    expect(await bobRows(id)).toBe(1);
  });
});
