/**
 * The outbox and exchange expiry at the service level (no HTTP, a real database, a clock the
 * test moves; docs/protocol.md, "Reliable delivery" and "State machine"): what each delivery
 * attempt does to the message and its exchange, the lease, the backoff, the delivery horizon,
 * refusals that end an exchange, and the deadline after which an exchange is expired. The
 * other node is a stand-in for the federation client that answers as the test says; the
 * worker runs a round when the test calls `drain()`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { AccountsModule } from '../../src/accounts/accounts.module.js';
import { DirectoryModule } from '../../src/directory/directory.module.js';
import { ExchangeModule } from '../../src/exchange/exchange.module.js';
import { ExchangeRepository } from '../../src/exchange/exchange.repository.js';
import { ExchangeService } from '../../src/exchange/exchange.service.js';
import { ExchangeWaiters } from '../../src/exchange/exchange-waiters.js';
import { InboundExchangeService } from '../../src/exchange/inbound-exchange.service.js';
import { OutboxRepository } from '../../src/exchange/outbox/outbox.repository.js';
import { OutboxWorker } from '../../src/exchange/outbox/outbox.worker.js';
import {
  FederationClient,
  type DeliveryOutcome,
  type FederationPostOptions,
} from '../../src/federation/federation.client.js';
import { KeyPearsError } from '../../src/protocol/errors.js';
import type { FederationMessage } from '../../src/protocol/exchange-api.js';
import type { ExchangeInitiation } from '../../src/protocol/wire.js';
import { expectAsyncCode } from '../support/expect-error.js';
import { remoteUser, type RemoteUser } from '../support/remote-user.js';
import { startServiceGraph, type ServiceGraph } from '../support/service-graph.js';
import {
  confirmationBy,
  localUser,
  receivesExchange,
  startsExchange,
  type LocalUser,
} from '../support/service-users.js';

const LEASE_MS = 30_000;
const BACKOFF_MAX_MS = 8_000;
const HORIZON_SECONDS = 3_600;
const TTL_SECONDS = 7 * 86_400;
const RETENTION_SECONDS = 86_400;
const PENDING_LIMIT = 8;
/**
 * Answers that retrying cannot change, as docs/protocol.md ("Reliable delivery") lists them:
 * written out rather than taken from the worker, so that a change to the worker's set shows here.
 */
const PERMANENT = [
  'invalid_request',
  'invalid_exchange',
  'bad_signature',
  'invalid_key',
  'not_found',
  'blocked',
  'conflict',
  'exchange_expired',
  'domain_not_served',
  'payload_too_large',
];

interface Delivery {
  domain: string;
  body: FederationMessage;
  options: FederationPostOptions;
}

/** The other node: records what it is sent and answers with `answer`. */
const peer = {
  deliveries: [] as Delivery[],
  answer: async (_: Delivery): Promise<unknown> => ({}),
};
const federation = {
  /**
   * As FederationClient.deliver: one outcome per message; a peer that cannot be reached
   * (peer_unavailable) is also the delivery's peer failure.
   */
  deliver: async (domain: string, messages: FederationMessage[], options: FederationPostOptions) => {
    const outcomes: DeliveryOutcome[] = [];
    let peerFailure: KeyPearsError | undefined;
    for (const body of messages) {
      const delivery = { domain, body, options };
      peer.deliveries.push(delivery);
      try {
        await peer.answer(delivery);
        outcomes.push({ ack: { exchangeId: 'x', status: 'delivered' } });
      } catch (e) {
        const error = e as KeyPearsError;
        if (error.code === 'peer_unavailable') peerFailure = error;
        outcomes.push({ error });
      }
    }
    return { outcomes, peerFailure };
  },
};
const unavailable = async (): Promise<never> => {
  throw new KeyPearsError('peer_unavailable', 'https://kp.a.test answered 503', { status: 503 });
};
const refusing = (peerCode: string) => async (): Promise<never> => {
  throw new KeyPearsError('peer_error', `https://kp.a.test answered 4xx ${peerCode}`, { status: 400, peerCode });
};

let graph: ServiceGraph;
let worker: OutboxWorker;
let outbox: OutboxRepository;
let exchanges: ExchangeService;
let repository: ExchangeRepository;
let waiters: ExchangeWaiters;
let bob: LocalUser;
let serial = 0;

beforeAll(async () => {
  graph = await startServiceGraph({
    imports: [AccountsModule, DirectoryModule, ExchangeModule],
    env: {
      KEYPEARS_DOMAINS: 'b.test',
      KEYPEARS_OUTBOX_LEASE_MS: String(LEASE_MS),
      KEYPEARS_OUTBOX_BACKOFF_MAX_MS: String(BACKOFF_MAX_MS),
      KEYPEARS_DELIVERY_HORIZON_SECONDS: String(HORIZON_SECONDS),
      KEYPEARS_EXCHANGE_TTL_SECONDS: String(TTL_SECONDS),
      KEYPEARS_OUTBOX_RETENTION_SECONDS: String(RETENTION_SECONDS),
      KEYPEARS_OUTSTANDING_INITIATIONS_PER_SENDER: String(PENDING_LIMIT),
      KEYPEARS_EXCHANGE_LIMIT_PER_PAIR: '1000',
      KEYPEARS_CLAIM_LIMIT_PER_PAIR: '1000',
    },
    overrides: [[FederationClient, federation]],
    start: new Date(Date.UTC(2032, 0, 1)),
  });
  const get = graph.module.get.bind(graph.module);
  [worker, outbox, exchanges, repository, waiters] = [
    get(OutboxWorker),
    get(OutboxRepository),
    get(ExchangeService),
    get(ExchangeRepository),
    get(ExchangeWaiters),
  ];
  bob = await localUser(graph, 'bob@b.test', 30);
}, 60_000);

afterAll(async () => {
  await graph?.close();
});

beforeEach(async () => {
  graph.freshDay();
  jest.restoreAllMocks();
  peer.deliveries = [];
  peer.answer = async () => ({});
  // Every test starts with nothing due: what earlier tests left open is closed.
  await graph.query('UPDATE outbox_message SET failed_at = now() WHERE delivered_at IS NULL AND failed_at IS NULL');
  await graph.query(`UPDATE exchange SET status = 'failed' WHERE status = 'pending'`);
});

const now = () => graph.clock.now();
const sender = (): RemoteUser => remoteUser(`alice${++serial}@a.test`, 'https://kp.a.test', graph.clock.unixSeconds());

const A_NODE = { node: 'https://kp.a.test', domain: 'a.test' };
/** Bob starts an exchange with a user of another node: stored pending, its initiation queued. */
const bobStarts = (peerUser: RemoteUser = sender()) => startsExchange(graph, bob, peerUser);
/** An exchange from a user of another node, delivered to Bob. */
const bobReceives = (from: RemoteUser = sender()) => receivesExchange(graph, bob, from, A_NODE);

interface OutboxRow {
  attempts: number;
  next_attempt_at: Date;
  give_up_at: Date;
  delivered_at: Date | null;
  failed_at: Date | null;
  last_error: string | null;
}

async function messageOf(exchangeId: string, kind = 'initiation'): Promise<OutboxRow> {
  const [row] = await graph.query(
    `SELECT attempts, next_attempt_at, give_up_at, delivered_at, failed_at, last_error
       FROM outbox_message WHERE dedupe_key LIKE $1`,
    [`${kind}:${exchangeId}:%`],
  );
  return row as OutboxRow;
}

const exchangeOf = async (exchangeId: string) => (await repository.find(bob.key.id, exchangeId))!;

describe('delivery', () => {
  it('queues a remote initiation with its exchange, due at once, and delivers it in the next round', async () => {
    const initiation = await bobStarts();
    expect(await messageOf(initiation.exchangeId)).toMatchObject({
      attempts: 0,
      next_attempt_at: now(),
      give_up_at: new Date(now().getTime() + HORIZON_SECONDS * 1000),
      delivered_at: null,
    });
    const changed = jest.spyOn(waiters, 'changed');
    graph.clock.advance(5);
    await worker.drain();
    expect(peer.deliveries).toHaveLength(1);
    const [delivery] = peer.deliveries;
    expect(delivery).toMatchObject({ domain: 'a.test', options: { senderDomain: 'b.test' } });
    expect(delivery.body).toMatchObject({ type: 'initiation', initiation, initiatorIdentity: bob.identity });
    expect(await messageOf(initiation.exchangeId)).toMatchObject({
      attempts: 1,
      delivered_at: now(),
      last_error: null,
    });
    expect((await exchangeOf(initiation.exchangeId)).status).toBe('delivered');
    expect(changed).toHaveBeenCalledWith(bob.key.id);
    await worker.drain();
    expect(peer.deliveries).toHaveLength(1);
  });

  it('reserves a claimed message for the lease, and hands it out again when the lease runs out', async () => {
    const initiation = await bobStarts();
    const claim = (at: number) => outbox.claimDue(new Date(at), 16, LEASE_MS);
    const t = now().getTime();
    const [first, ...others] = await claim(t);
    expect(others).toEqual([]);
    expect(first).toMatchObject({ kind: 'initiation', targetDomain: 'a.test', attempts: 1, accountId: bob.key.id });
    expect(first.payload).toMatchObject({ type: 'initiation', initiation });
    expect(await claim(t)).toEqual([]);
    expect(await claim(t + LEASE_MS - 1)).toEqual([]);
    expect(await claim(t + LEASE_MS)).toMatchObject([{ id: first.id, attempts: 2 }]);
  });

  it(`retries after a backoff drawn below 1 s, doubling with each attempt up to ${BACKOFF_MAX_MS} ms`, async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    peer.answer = unavailable;
    const initiation = await bobStarts();
    for (const [attempt, bound] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [4, 8000],
      [5, BACKOFF_MAX_MS],
    ]) {
      await worker.drain();
      const message = await messageOf(initiation.exchangeId);
      expect(message).toMatchObject({ attempts: attempt, delivered_at: null, failed_at: null });
      expect(message.last_error).toMatch(/^peer_unavailable: /);
      expect(message.next_attempt_at.getTime() - now().getTime()).toBe(bound / 2);
      // Not attempted again before it is due.
      graph.clock.set(message.next_attempt_at.getTime() - 1);
      await worker.drain();
      expect(peer.deliveries).toHaveLength(attempt);
      graph.clock.advance(1);
    }
    expect((await exchangeOf(initiation.exchangeId)).status).toBe('pending');
    peer.answer = async () => ({});
    await worker.drain();
    expect((await exchangeOf(initiation.exchangeId)).status).toBe('delivered');
  });

  it('gives up at the delivery horizon and marks the exchange failed, waking its owner', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.999);
    peer.answer = unavailable;
    const initiation = await bobStarts();
    const { give_up_at: giveUpAt } = await messageOf(initiation.exchangeId);
    await worker.drain();
    // The second attempt's backoff (1998 ms) would take the next one past the horizon: it is the last.
    const changed = jest.spyOn(waiters, 'changed');
    graph.clock.set(giveUpAt.getTime() - 999);
    await worker.drain();
    const message = await messageOf(initiation.exchangeId);
    expect(message).toMatchObject({ attempts: 2, failed_at: now(), delivered_at: null });
    expect(message.last_error).toMatch(/^not delivered before the delivery horizon: peer_unavailable: /);
    expect(changed).toHaveBeenCalledWith(bob.key.id);
    const view = await exchanges.get(bob.key, initiation.exchangeId);
    expect(view).toMatchObject({ status: 'failed', failureReason: message.last_error });
    graph.clock.advance(LEASE_MS);
    await worker.drain();
    expect(peer.deliveries).toHaveLength(2);
  });

  it('marks the exchange failed at once when the other node refuses the message for good', async () => {
    for (const code of PERMANENT) {
      peer.answer = refusing(code);
      const initiation = await bobStarts();
      await worker.drain();
      const message = await messageOf(initiation.exchangeId);
      expect({ code, failed: message.failed_at }).toEqual({ code, failed: now() });
      expect(message.last_error).toMatch(new RegExp(`^refused by the recipient's node: peer_error: .*${code}`));
      expect(await exchangeOf(initiation.exchangeId)).toMatchObject({
        status: 'failed',
        failureReason: message.last_error,
      });
    }
  });

  it('retries what the other node may answer differently later', async () => {
    for (const code of ['rate_limited', 'unknown_key', 'origin_not_authorized', 'replayed_request', 'internal_error']) {
      peer.answer = refusing(code);
      const initiation = await bobStarts();
      await worker.drain();
      expect({ code, ...(await messageOf(initiation.exchangeId)) }).toMatchObject({
        code,
        failed_at: null,
        attempts: 1,
      });
      expect((await exchangeOf(initiation.exchangeId)).status).toBe('pending');
    }
  });

  it("fails the responder's confirmed exchange when its confirmation is refused", async () => {
    const alice = sender();
    const initiation = await bobReceives(alice);
    const confirmation = confirmationBy(bob.ks, initiation, alice.identity);
    expect((await exchanges.confirm(bob.key, initiation.exchangeId, { confirmation })).status).toBe('confirmed');
    peer.answer = refusing('not_found');
    await worker.drain();
    expect(peer.deliveries[0].body).toEqual({ type: 'confirmation', confirmation });
    expect((await messageOf(initiation.exchangeId, 'confirmation')).failed_at).toEqual(now());
    expect((await exchangeOf(initiation.exchangeId)).status).toBe('failed');
  });

  it('never moves an exchange back: a confirmation that came before the delivery was recorded stays', async () => {
    const alice = sender();
    const initiation = await bobStarts(alice);
    const confirmation = confirmationBy(alice.ks, initiation, bob.identity);
    await graph.module.get(InboundExchangeService).receiveConfirmation({ type: 'confirmation', confirmation }, A_NODE);
    await worker.drain();
    expect((await messageOf(initiation.exchangeId)).delivered_at).toEqual(now());
    expect((await exchangeOf(initiation.exchangeId)).status).toBe('confirmed');
  });

  it("never fails an initiator's exchange that was confirmed while its initiation was still being retried", async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.999);
    peer.answer = unavailable;
    const alice = sender();
    const initiation = await bobStarts(alice);
    const { give_up_at: giveUpAt } = await messageOf(initiation.exchangeId);
    await worker.drain();
    // Delivered after all (the answer was lost): the peer's confirmation comes back.
    const confirmation = confirmationBy(alice.ks, initiation, bob.identity);
    await graph.module.get(InboundExchangeService).receiveConfirmation({ type: 'confirmation', confirmation }, A_NODE);
    graph.clock.set(giveUpAt.getTime() - 999);
    await worker.drain();
    expect((await messageOf(initiation.exchangeId)).failed_at).toEqual(now());
    expect(await exchangeOf(initiation.exchangeId)).toMatchObject({ status: 'confirmed', failureReason: null });
  });

  it(`refuses a sender's initiation while ${PENDING_LIMIT} of theirs wait for delivery (too_many_pending)`, async () => {
    peer.answer = unavailable;
    const waiting = [];
    for (let i = 0; i < PENDING_LIMIT - 1; i++) waiting.push(await bobStarts());
    // Two at once at the last free place: exactly one gets it.
    const raced = await Promise.allSettled([bobStarts(), bobStarts()]);
    expect(raced.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((raced.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({
      code: 'too_many_pending',
    });
    await expectAsyncCode(bobStarts(), 'too_many_pending');
    peer.answer = async () => ({});
    graph.clock.advance(BACKOFF_MAX_MS);
    await worker.drain();
    expect((await exchangeOf(waiting[0].exchangeId)).status).toBe('delivered');
    await bobStarts();
  });

  it('retries a stored message that no longer parses as an internal error, sending nothing', async () => {
    const initiation = await bobStarts();
    await graph.query(`UPDATE outbox_message SET payload = '{"type":"initiation"}' WHERE dedupe_key LIKE $1`, [
      `initiation:${initiation.exchangeId}:%`,
    ]);
    await worker.drain();
    expect(peer.deliveries).toEqual([]);
    const message = await messageOf(initiation.exchangeId);
    expect(message).toMatchObject({ attempts: 1, failed_at: null, delivered_at: null });
    expect(message.last_error).toMatch(/^internal_error: the stored message does not parse/);
  });
});

describe('peers never wait for each other', () => {
  const carolOfC = () => remoteUser(`carol${++serial}@c.test`, 'https://kp.c.test', graph.clock.unixSeconds());
  const deliveredTo = (domain: string) => peer.deliveries.filter((d) => d.domain === domain).length;

  it('delivers a message queued for one peer while a request to another hangs, in the same round', async () => {
    let release: () => void = () => undefined;
    const hanging = new Promise<void>((resolve) => (release = resolve));
    peer.answer = async (d) => {
      if (d.domain === 'c.test') await hanging;
      return {};
    };
    const toC = await bobStarts(carolOfC());
    const round = worker.drain();
    // Queued while c.test's request hangs: the round claims again (at its next poll), and
    // delivers it without waiting for c.test.
    const toA = await bobStarts();
    for (let i = 0; i < 200 && (await exchangeOf(toA.exchangeId)).status !== 'delivered'; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await exchangeOf(toA.exchangeId)).status).toBe('delivered');
    expect((await exchangeOf(toC.exchangeId)).status).toBe('pending');
    release();
    await round;
    expect((await exchangeOf(toC.exchangeId)).status).toBe('delivered');
  });

  it('pauses a peer that failed: its other messages wait unattempted while other peers are served, then one request probes', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    peer.answer = async (d) => (d.domain === 'c.test' ? unavailable() : {});
    const first = await bobStarts(carolOfC());
    await worker.drain();
    expect(deliveredTo('c.test')).toBe(1);
    // Queued after the failure: due at once, but c.test is paused for 500 ms (its first backoff).
    const later = await Promise.all([bobStarts(carolOfC()), bobStarts(carolOfC())]);
    const toA = await bobStarts();
    graph.clock.advance(499);
    await worker.drain();
    expect(deliveredTo('c.test')).toBe(1);
    expect((await exchangeOf(toA.exchangeId)).status).toBe('delivered');
    for (const i of later) expect(await messageOf(i.exchangeId)).toMatchObject({ attempts: 0, last_error: null });
    // The pause is over: one request (a batch of the two waiting messages and the first one).
    peer.answer = async () => ({});
    graph.clock.advance(1);
    await worker.drain();
    expect(deliveredTo('c.test')).toBe(1 + 3);
    for (const i of [first, ...later]) expect((await exchangeOf(i.exchangeId)).status).toBe('delivered');
  });
});

describe('retention', () => {
  it(`deletes delivered and given-up messages ${RETENTION_SECONDS} s after they finished, in the sweep, and keeps the rest`, async () => {
    graph.clock.advance(120_000); // a sweep is due
    const delivered = await bobStarts();
    const refused = await bobStarts();
    const waiting = await bobStarts();
    peer.answer = async (d) => {
      if (d.body.type === 'initiation' && d.body.initiation.exchangeId === refused.exchangeId)
        return refusing('blocked')();
      if (d.body.type === 'initiation' && d.body.initiation.exchangeId === waiting.exchangeId) return unavailable();
      return {};
    };
    await worker.drain();
    const finishedAt = now().getTime();
    const present = async () =>
      Promise.all([delivered, refused, waiting].map(async (i) => (await messageOf(i.exchangeId)) !== undefined));
    graph.clock.set(finishedAt + RETENTION_SECONDS * 1000);
    await worker.drain();
    expect(await present()).toEqual([true, true, true]);
    graph.clock.set(finishedAt + RETENTION_SECONDS * 1000 + 60_001);
    await worker.drain();
    expect(await present()).toEqual([false, false, true]);
    // The exchanges keep their outcome.
    expect((await exchangeOf(delivered.exchangeId)).status).toBe('delivered');
    expect((await exchangeOf(refused.exchangeId)).status).toBe('failed');
  });
});

describe('expiry', () => {
  it('shows an unanswered exchange expired from its deadline on, before the sweep marks it', async () => {
    const initiation = await bobReceives();
    const deadline = (initiation.createdAt + TTL_SECONDS) * 1000;
    graph.clock.set(deadline - 1);
    expect((await exchanges.get(bob.key, initiation.exchangeId)).status).toBe('delivered');
    expect((await exchanges.inbox(bob.key)).map((v) => v.id)).toContain(initiation.exchangeId);
    graph.clock.set(deadline);
    expect((await exchanges.get(bob.key, initiation.exchangeId)).status).toBe('expired');
    expect((await exchanges.inbox(bob.key)).map((v) => v.id)).not.toContain(initiation.exchangeId);
    expect((await exchangeOf(initiation.exchangeId)).status).toBe('delivered');
  });

  it('refuses a confirmation by the local user at the deadline (exchange_expired)', async () => {
    const alice = sender();
    const initiation = await bobReceives(alice);
    const confirmation = confirmationBy(bob.ks, initiation, alice.identity);
    graph.clock.set((initiation.createdAt + TTL_SECONDS) * 1000);
    await expectAsyncCode(exchanges.confirm(bob.key, initiation.exchangeId, { confirmation }), 'exchange_expired');
    expect((await exchangeOf(initiation.exchangeId)).status).toBe('delivered');
  });

  it('marks overdue pending and delivered exchanges expired in a round, at most once a minute, and leaves the rest', async () => {
    const alice = sender();
    const answered = await bobReceives(alice);
    await exchanges.confirm(bob.key, answered.exchangeId, {
      confirmation: confirmationBy(bob.ks, answered, alice.identity),
    });
    const pending = await bobStarts();
    const delivered = await bobReceives();
    graph.clock.advance(70_000);
    const later = await bobReceives();
    await graph.query('UPDATE outbox_message SET failed_at = now() WHERE delivered_at IS NULL AND failed_at IS NULL');
    const status = async (i: ExchangeInitiation) => (await exchangeOf(i.exchangeId)).status;
    const statuses = () => Promise.all([pending, delivered, answered, later].map(status));

    const deadline = (pending.createdAt + TTL_SECONDS) * 1000;
    graph.clock.set(deadline - 1);
    await worker.drain();
    expect(await statuses()).toEqual(['pending', 'delivered', 'confirmed', 'delivered']);
    // That round swept; the next sweep is a minute later, whatever rounds run meanwhile.
    graph.clock.set(deadline + 59_998);
    await worker.drain();
    expect(await statuses()).toEqual(['pending', 'delivered', 'confirmed', 'delivered']);
    graph.clock.set(deadline + 59_999);
    await worker.drain();
    expect(await statuses()).toEqual(['expired', 'expired', 'confirmed', 'delivered']);
    graph.clock.set(deadline + 59_999 + 60_000);
    await worker.drain();
    expect(await statuses()).toEqual(['expired', 'expired', 'confirmed', 'expired']);
  });
});
