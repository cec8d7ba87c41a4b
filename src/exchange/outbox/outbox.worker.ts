/**
 * Drains the outbox (docs/protocol.md §9.4): claims due messages (safe with several replicas on one
 * database, see OutboxRepository.claimDue), delivers each to the node serving its target
 * domain, and reschedules failures with exponential backoff and full jitter until the
 * delivery horizon, when the message and its exchange are marked failed. Also expires
 * exchanges that were never confirmed.
 *
 * Runs every `outboxPollMs` of the node's Clock (a test's clock moves it), and at once after
 * an enqueue (`kick`). Stops on
 * shutdown: in-flight requests are aborted, and their messages become due again when their
 * lease runs out (the receiver is idempotent, so a second delivery changes nothing).
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { FederationClient } from '../../federation/federation.client.js';
import { DeliveryReport } from '../../metrics/delivery-report.js';
import { NodeMetrics } from '../../metrics/node-metrics.js';
import { parseAddress } from '../../protocol/address.js';
import { isKeyPearsError, KeyPearsError } from '../../protocol/errors.js';
import type { FederationMessage } from '../../protocol/exchange-api.js';
import { ExchangeRepository } from '../exchange.repository.js';
import { ExchangeWaiters } from '../exchange-waiters.js';
import { FEDERATION_MESSAGES_PATH } from '../federation-paths.js';
import { OutboxRepository, type DueMessage } from './outbox.repository.js';

/** Messages claimed per round; each round delivers them concurrently. */
const BATCH_SIZE = 16;
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
    await this.running;
  }

  /** Asks for a round as soon as possible (after an enqueue). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.kicked = true;
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
   * One round: delivers due messages until none is due, then sweeps expired exchanges when it
   * is time. Public so that a test can run a round at an instant of its choosing.
   */
  async drain(): Promise<void> {
    for (;;) {
      if (this.destroyed) return;
      const batch = await this.outbox.claimDue(this.clock.now(), BATCH_SIZE, this.config.outboxLeaseMs);
      if (batch.length === 0) break;
      await Promise.all(batch.map((m) => this.deliver(m)));
    }
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

  private async deliver(message: DueMessage): Promise<void> {
    const attempt = {
      peer: message.targetDomain,
      messageId: message.id,
      kind: message.kind,
      attempt: message.attempts,
    };
    try {
      if (!message.payload) throw new KeyPearsError('internal_error', message.unreadable ?? 'unreadable message');
      await this.federation.post(message.targetDomain, FEDERATION_MESSAGES_PATH, message.payload, {
        senderDomain: senderDomainOf(message.payload),
        signal: this.abort.signal,
      });
      await this.outbox.markDelivered(message, this.clock.now());
      this.report.delivered(attempt);
      if (message.kind === 'initiation') await this.announce(message);
      return;
    } catch (e) {
      if (this.destroyed) return; // aborted by shutdown: the lease brings it back
      const reason = isKeyPearsError(e) ? `${e.code}: ${e.message}` : (e as Error).message;
      const peerCode = isKeyPearsError(e) ? e.details?.peerCode : undefined;
      const now = this.clock.now();
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
  }

  /** Wakes the requests waiting on the exchange the message changed. */
  private async announce(message: DueMessage): Promise<void> {
    if (message.accountId) await this.waiters.changed(message.accountId);
  }
}

/** The domain a queued message speaks for: its sender's. */
function senderDomainOf(message: FederationMessage): string {
  const from = message.type === 'initiation' ? message.initiation.from : message.confirmation.from;
  return parseAddress(from).domain;
}
