/**
 * Drains the outbox (docs/protocol.md §9.4): claims due messages (safe with several replicas on one
 * database, see OutboxRepository.claimDue), delivers them to the node serving their target
 * domain, in batches where the peer takes them (§9.5), and reschedules failures with
 * exponential backoff and full jitter until the delivery horizon, when the message and its
 * exchange are marked failed. Also expires exchanges that were never confirmed, and deletes
 * finished messages past their retention.
 *
 * **Peers never wait for each other.** Each peer has a lane: up to
 * `KEYPEARS_DELIVERY_CONCURRENCY_PER_PEER` requests in flight, each carrying one claimed batch.
 * A claim gives every peer with a free place in its lane a batch of its own, and the worker
 * claims again as soon as any request ends, so a peer that hangs holds up only its own lane,
 * for at most one request deadline. A peer that keeps failing is paused: after a failed
 * request its lane takes nothing for a backoff of its own (full jitter, doubling per
 * consecutive failure up to `KEYPEARS_OUTBOX_BACKOFF_MAX_MS`), then one request at a time
 * until one succeeds; its other messages wait, unattempted, instead of each being retried in
 * lock-step. The lanes are this process's: each replica paces the peers it delivers to.
 *
 * Runs every `outboxPollMs` of the node's Clock (a test's clock moves it), and at once after
 * an enqueue (`kick`). Stops on
 * shutdown: in-flight requests are aborted, and their messages become due again when their
 * lease runs out (the receiver is idempotent, so a second delivery changes nothing).
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { FederationClient, type DeliveryOutcome } from '../../federation/federation.client.js';
import { DeliveryReport } from '../../metrics/delivery-report.js';
import { NodeMetrics } from '../../metrics/node-metrics.js';
import { parseAddress } from '../../protocol/address.js';
import { isKeyPearsError, KeyPearsError } from '../../protocol/errors.js';
import { MAX_BATCH_MESSAGES, type FederationMessage } from '../../protocol/exchange-api.js';
import { ExchangeRepository } from '../exchange.repository.js';
import { ExchangeWaiters } from '../exchange-waiters.js';
import { OutboxRepository, type DueMessage } from './outbox.repository.js';

/** Messages claimed for one peer at a time: one batch (the receiving side takes at most this many). */
const CLAIM_PER_PEER = MAX_BATCH_MESSAGES;
/** First retry delay bound; doubles with each attempt up to `outboxBackoffMaxMs`. */
const BACKOFF_BASE_MS = 1000;
const EXPIRY_SWEEP_INTERVAL_MS = 60_000;
/** Finished messages deleted per sweep at most (a sweep a minute keeps up with 160 messages/s). */
const RETENTION_BATCH = 10_000;
/** Answers that retrying cannot change: the message itself is refused. */
const PERMANENT_PEER_CODES = new Set([
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
]);

/** Full jitter: a uniformly random delay up to the exponential bound. */
export function backoffDelayMs(attempts: number, capMs: number, random: () => number = Math.random): number {
  const bound = Math.min(capMs, BACKOFF_BASE_MS * 2 ** Math.min(attempts - 1, 30));
  return Math.floor(random() * bound);
}

/** One peer's lane: what it has in flight, and its pause after failures. */
interface Lane {
  inFlight: number;
  /** Failed requests in a row; while above 0 the lane sends one request at a time. */
  failures: number;
  /** Epoch ms until which the lane takes nothing. */
  pausedUntil: number;
}

@Injectable()
export class OutboxWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxWorker.name);
  /** Ends the wait for the next round (a kick, or shutdown). */
  private wait: AbortController | undefined;
  private running: Promise<void> | undefined;
  private kicked = false;
  /** No timer runs: before start-up (a test drives the rounds itself) and after shutdown. */
  private stopped = true;
  /** Shutting down: rounds and deliveries in progress end early. */
  private destroyed = false;
  private abort = new AbortController();
  private lastSweep = 0;
  private readonly lanes = new Map<string, Lane>();
  /** Deliveries in flight, across lanes. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Wakes a round waiting for a delivery to end, a kick or the poll interval. */
  private wake: (() => void) | undefined;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly exchanges: ExchangeRepository,
    private readonly federation: FederationClient,
    private readonly waiters: ExchangeWaiters,
    private readonly report: DeliveryReport,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: NodeMetrics,
  ) {
    metrics.observeOutbox(() => this.outbox.depth(this.clock.now()));
  }

  onApplicationBootstrap(): void {
    this.stopped = false;
    this.abort = new AbortController();
    this.schedule(0);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.destroyed = true;
    this.wait?.abort();
    this.abort.abort();
    this.wake?.();
    await this.running;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Asks for a round as soon as possible (after an enqueue). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.kicked = true;
      this.wake?.();
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    this.wait?.abort();
    if (this.stopped) return;
    const wait = (this.wait = new AbortController());
    void this.clock.sleep(ms, wait.signal).then(() => {
      if (!wait.signal.aborted) void this.tick();
    });
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    this.kicked = false;
    this.running = this.drain().catch((e: unknown) => {
      if (!this.destroyed) this.logger.error(`outbox round failed: ${(e as Error).message}`);
    });
    await this.running;
    this.running = undefined;
    this.schedule(this.kicked ? 0 : this.config.outboxPollMs);
  }

  /**
   * One round: hands every peer that can take messages a batch, again each time a delivery
   * ends, until nothing is due that a lane can take and nothing is in flight; then sweeps
   * expired exchanges and old messages when it is time. Public so that a test can run a round
   * at an instant of its choosing.
   */
  async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.destroyed) return;
        this.kicked = false;
        const started = await this.dispatch();
        if (started > 0) continue;
        if (this.inFlight.size === 0) break;
        await this.nextEvent();
      }
    } finally {
      if (this.destroyed) await Promise.allSettled([...this.inFlight]);
    }
    if (this.destroyed) return;
    const now = this.clock.now();
    if (now.getTime() - this.lastSweep >= EXPIRY_SWEEP_INTERVAL_MS) {
      this.lastSweep = now.getTime();
      const expired = await this.exchanges.expireDue(now);
      if (expired > 0) this.logger.log(`${expired} exchange(s) expired`);
      const before = new Date(now.getTime() - this.config.outboxRetentionSeconds * 1000);
      const deleted = await this.outbox.deleteFinished(before, RETENTION_BATCH);
      if (deleted > 0) this.logger.log(`${deleted} finished outbox message(s) past their retention deleted`);
    }
  }

  /** Waits until a delivery ends, a kick comes, or a poll interval passes (a pause may be over). */
  private nextEvent(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.config.outboxPollMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
      if (this.kicked || this.destroyed) done();
    }).finally(() => {
      this.wake = undefined;
    });
  }

  private lane(peer: string): Lane {
    let lane = this.lanes.get(peer);
    if (!lane) {
      lane = { inFlight: 0, failures: 0, pausedUntil: 0 };
      this.lanes.set(peer, lane);
    }
    return lane;
  }

  /** Claims a batch for every peer whose lane has room and starts delivering them; returns how many started. */
  private async dispatch(): Promise<number> {
    const now = this.clock.now().getTime();
    const closed: string[] = [];
    for (const [peer, lane] of this.lanes) {
      const room = lane.failures > 0 ? 1 : this.config.deliveryConcurrencyPerPeer;
      if (lane.inFlight >= room || lane.pausedUntil > now) closed.push(peer);
      else if (lane.inFlight === 0 && lane.failures === 0) this.lanes.delete(peer); // nothing to remember
    }
    const claimed = await this.outbox.claimDue(this.clock.now(), CLAIM_PER_PEER, this.config.outboxLeaseMs, closed);
    const groups = new Map<string, DueMessage[]>();
    for (const message of claimed) {
      const sender = message.payload ? senderDomainOf(message.payload) : '';
      const key = `${message.targetDomain} ${sender}`;
      groups.set(key, [...(groups.get(key) ?? []), message]);
    }
    for (const [key, messages] of groups) {
      const [peer, sender] = key.split(' ');
      const lane = this.lane(peer);
      lane.inFlight++;
      const delivery: Promise<void> = this.deliver(peer, sender, messages, lane)
        .catch((e: unknown) => {
          if (!this.destroyed) this.logger.error(`delivery to ${peer} failed: ${(e as Error).message}`);
        })
        .finally(() => {
          lane.inFlight--;
          this.inFlight.delete(delivery);
          this.wake?.();
        });
      this.inFlight.add(delivery);
    }
    return groups.size;
  }

  /** Delivers one peer's batch and records what became of each message. */
  private async deliver(peer: string, sender: string, messages: DueMessage[], lane: Lane): Promise<void> {
    const readable = messages.filter((m) => m.payload);
    const outcomes = new Map<DueMessage, DeliveryOutcome>();
    for (const m of messages) {
      if (!m.payload)
        outcomes.set(m, { error: new KeyPearsError('internal_error', m.unreadable ?? 'unreadable message') });
    }
    let peerFailure: unknown;
    if (readable.length > 0) {
      try {
        const delivery = await this.federation.deliver(
          peer,
          readable.map((m) => m.payload!),
          { senderDomain: sender, signal: this.abort.signal },
        );
        readable.forEach((m, i) => outcomes.set(m, delivery.outcomes[i]));
        peerFailure = delivery.peerFailure;
      } catch (e) {
        // Discovery failed: no message was sent.
        peerFailure = e;
        for (const m of readable) outcomes.set(m, { error: e as KeyPearsError });
      }
    }
    if (this.destroyed) return; // aborted by shutdown: the lease brings them back
    const now = this.clock.now();
    if (peerFailure === undefined) {
      lane.failures = 0;
      lane.pausedUntil = 0;
    } else if (readable.length > 0) {
      lane.failures++;
      lane.pausedUntil = now.getTime() + backoffDelayMs(lane.failures, this.config.outboxBackoffMaxMs);
    }
    const delivered = messages.filter((m) => {
      const outcome = outcomes.get(m)!;
      return 'ack' in outcome;
    });
    await this.outbox.markDelivered(delivered, now);
    for (const m of delivered) {
      this.report.delivered(attemptOf(m));
      if (m.kind === 'initiation') await this.announce(m);
    }
    for (const m of messages) {
      const outcome = outcomes.get(m)!;
      if ('error' in outcome) await this.failed(m, outcome.error, now);
    }
  }

  /** One message that was not delivered: refused for good, given up at the horizon, or rescheduled. */
  private async failed(message: DueMessage, e: unknown, now: Date): Promise<void> {
    const attempt = attemptOf(message);
    const reason = isKeyPearsError(e) ? `${e.code}: ${e.message}` : (e as Error).message;
    const peerCode = isKeyPearsError(e) ? e.details?.peerCode : undefined;
    if (typeof peerCode === 'string' && PERMANENT_PEER_CODES.has(peerCode)) {
      this.report.failed({ ...attempt, error: e, outcome: 'refused' });
      await this.outbox.markFailed(message, now, `refused by the recipient's node: ${reason}`);
      await this.announce(message);
      return;
    }
    const next = new Date(
      now.getTime() + Math.max(backoffDelayMs(message.attempts, this.config.outboxBackoffMaxMs), 10),
    );
    if (next >= message.giveUpAt) {
      this.report.failed({ ...attempt, error: e, outcome: 'given_up' });
      await this.outbox.markFailed(message, now, `not delivered before the delivery horizon: ${reason}`);
      await this.announce(message);
      return;
    }
    this.report.failed({ ...attempt, error: e, outcome: 'retry', nextAttemptAt: next });
    await this.outbox.reschedule(message.id, next, reason);
  }

  /** Wakes the requests waiting on the exchange the message changed. */
  private async announce(message: DueMessage): Promise<void> {
    if (message.accountId) await this.waiters.changed(message.accountId);
  }
}

const attemptOf = (message: DueMessage) => ({
  peer: message.targetDomain,
  messageId: message.id,
  kind: message.kind,
  attempt: message.attempts,
});

/** The domain a queued message speaks for: its sender's. */
function senderDomainOf(message: FederationMessage): string {
  const from = message.type === 'initiation' ? message.initiation.from : message.confirmation.from;
  return parseAddress(from).domain;
}
