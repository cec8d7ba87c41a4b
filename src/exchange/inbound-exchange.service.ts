/**
 * What another node may make this node store (docs/protocol.md, "POST /api/v1/federation/messages"):
 * an initiation for a local recipient, or the responder's confirmation of a local initiator's
 * exchange. Each message is checked completely (origin, recipient, every signature, freshness,
 * blocks, rate limits) before anything is stored, and stored idempotently: the same message
 * twice is one exchange. A message between two users of this node passes the same checks,
 * in-process, with the origin `local`.
 *
 * The message has already passed its schema (the federation controller parses it once), and
 * the request carrying it the federation guard: `origin` is the authenticated sending node.
 */
import { Inject, Injectable } from '@nestjs/common';
import { AccountRepository, type LocalAccount } from '../accounts/account.repository.js';
import { Clock } from '../common/clock.js';
import { RateLimitService } from '../common/rate-limit/rate-limit.service.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import type { FederationOrigin } from '../federation/federation.guard.js';
import { parseAddress } from '../protocol/address.js';
import { isDatabaseUnavailable } from '../database/prisma-errors.js';
import { isKeyPearsError, KeyPearsError } from '../protocol/errors.js';
import { EXCHANGE_MAX_FUTURE_SECONDS, verifyConfirmationSignature } from '../protocol/exchange.js';
import type {
  ConfirmationMessage,
  FederationAck,
  FederationBatchAnswer,
  FederationBatchResult,
  FederationMessage,
  InitiationMessage,
} from '../protocol/exchange-api.js';
import { checkIncomingInitiation } from '../protocol/exchange-message.js';
import { decodePublicIdentity } from '../protocol/wire.js';
import { BlockService } from './blocks/block.service.js';
import { ExchangeRepository } from './exchange.repository.js';
import { expiryOf, requireWaiting, sameMessage } from './exchange-rules.js';
import { ExchangeWaiters } from './exchange-waiters.js';

/** Messages of one batch handled at the same time (each is a few database round trips). */
const BATCH_CONCURRENCY = 8;

/** Who delivered a message: another node (authenticated by the federation guard), or this node itself. */
export type MessageOrigin = FederationOrigin | 'local';

@Injectable()
export class InboundExchangeService {
  constructor(
    private readonly exchanges: ExchangeRepository,
    private readonly accounts: AccountRepository,
    private readonly blocks: BlockService,
    private readonly rateLimits: RateLimitService,
    private readonly waiters: ExchangeWaiters,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** @throws whatever receiveInitiation or receiveConfirmation throws. */
  receive(message: FederationMessage, origin: MessageOrigin): Promise<FederationAck> {
    return message.type === 'initiation'
      ? this.receiveInitiation(message, origin)
      : this.receiveConfirmation(message, origin);
  }

  /**
   * The messages of a batch (docs/protocol.md §9.5), each handled exactly as `receive` would
   * handle it alone, several at a time: one result per message, in order, either its ack or
   * the error it would have been answered with. Only an unexpected failure (not a
   * KeyPearsError, and not the database being away) fails the whole request.
   */
  async receiveBatch(messages: FederationMessage[], origin: FederationOrigin): Promise<FederationBatchAnswer> {
    const results: FederationBatchResult[] = new Array(messages.length);
    let next = 0;
    const work = async () => {
      while (next < messages.length) {
        const i = next++;
        try {
          results[i] = await this.receive(messages[i], origin);
        } catch (e) {
          if (isKeyPearsError(e)) results[i] = { error: { code: e.code, message: e.message.slice(0, 1000) } };
          else if (isDatabaseUnavailable(e)) {
            results[i] = { error: { code: 'database_unavailable', message: 'the database is unavailable' } };
          } else throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, messages.length) }, work));
    return { results };
  }

  /**
   * Stores an initiation for a local recipient after checking everything about it.
   *
   * @throws KeyPearsError `origin_not_authorized`, `domain_not_served`, `not_found`,
   *   `rate_limited`, `conflict`, `invalid_exchange`, `bad_signature`, `exchange_expired`,
   *   `blocked`.
   */
  async receiveInitiation(message: InitiationMessage, origin: MessageOrigin): Promise<FederationAck> {
    const { initiation } = message;
    const { recipient, fromDomain } = await this.admit(initiation.from, initiation.to, origin);
    const existing = await this.exchanges.find(recipient.id, initiation.exchangeId);
    if (existing) {
      if (existing.role === 'responder' && sameMessage(existing.initiation, initiation)) {
        return { exchangeId: existing.exchangeId, status: existing.status };
      }
      throw new KeyPearsError('conflict', 'another exchange with this id exists');
    }
    checkIncomingInitiation(initiation, message.initiatorIdentity, message.responderPrekeys, recipient);
    const now = this.clock.now();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    if (initiation.createdAt > nowSeconds + EXCHANGE_MAX_FUTURE_SECONDS) {
      throw new KeyPearsError('invalid_exchange', 'the initiation is dated in the future');
    }
    const expiresAt = expiryOf(initiation, this.config.exchangeTtlSeconds);
    if (expiresAt.getTime() <= nowSeconds * 1000) {
      throw new KeyPearsError('exchange_expired', 'the initiation is older than the exchange lifetime');
    }
    if (await this.blocks.isBlocked(recipient.id, initiation.from, fromDomain)) {
      throw new KeyPearsError('blocked', `${initiation.to} does not accept exchanges from ${initiation.from}`);
    }
    await this.rateLimits.consume(
      `exchange:pair:${initiation.from}>${initiation.to}`,
      { limit: this.config.exchangeLimitPerPair, windowSeconds: 3600 },
      `exchanges from ${initiation.from} to ${initiation.to}`,
    );
    const stored = await this.exchanges.insert({
      exchangeId: initiation.exchangeId,
      accountId: recipient.id,
      role: 'responder',
      peerAddress: initiation.from,
      status: 'delivered',
      initiation,
      peerIdentity: message.initiatorIdentity,
      usedLastResort: initiation.pqPrekeyKind === 'pq-last-resort',
      expiresAt,
      now,
    });
    await this.waiters.changed(recipient.id);
    return { exchangeId: stored.exchangeId, status: stored.status };
  }

  /**
   * Records the responder's confirmation on the local initiator's exchange, after checking the
   * origin and the responder's signature (the MAC is the initiator's client's to check).
   *
   * @throws KeyPearsError `origin_not_authorized`, `domain_not_served`, `not_found`,
   *   `bad_signature`, `conflict`, `exchange_expired`, `rate_limited`.
   */
  async receiveConfirmation(message: ConfirmationMessage, origin: MessageOrigin): Promise<FederationAck> {
    const { confirmation } = message;
    const { recipient } = await this.admit(confirmation.from, confirmation.to, origin);
    const row = await this.exchanges.find(recipient.id, confirmation.exchangeId);
    if (!row || row.role !== 'initiator' || row.peerAddress !== confirmation.from) {
      throw new KeyPearsError('not_found', 'no such exchange');
    }
    const peer = decodePublicIdentity(row.peerIdentity, row.peerAddress);
    if (!verifyConfirmationSignature(confirmation, peer.identityKey)) {
      throw new KeyPearsError('bad_signature', 'the confirmation signature does not verify');
    }
    if (row.status === 'confirmed') {
      if (sameMessage(row.confirmation, confirmation)) return { exchangeId: row.exchangeId, status: 'confirmed' };
      throw new KeyPearsError('conflict', 'this exchange was already confirmed with another confirmation');
    }
    const now = this.clock.now();
    requireWaiting(row, now);
    if (!(await this.exchanges.confirm(row, confirmation, now))) {
      throw new KeyPearsError('conflict', 'the exchange is no longer waiting for a confirmation');
    }
    await this.waiters.changed(recipient.id);
    return { exchangeId: row.exchangeId, status: 'confirmed' };
  }

  /**
   * The checks every inbound message passes first: the recipient is a local account, the
   * origin node stays within its rate limit, and the origin speaks for the sender's domain.
   */
  private async admit(
    from: string,
    to: string,
    origin: MessageOrigin,
  ): Promise<{ recipient: LocalAccount; fromDomain: string }> {
    const fromDomain = parseAddress(from).domain;
    const recipient = await this.localRecipient(to);
    if (origin !== 'local') {
      await this.rateLimits.consume(
        `exchange:origin:${origin.node}`,
        { limit: this.config.exchangeLimitPerOrigin, windowSeconds: 60 },
        'messages from this node',
      );
    }
    const speaksFor = origin === 'local' ? this.config.domains.includes(fromDomain) : origin.domain === fromDomain;
    if (!speaksFor) {
      throw new KeyPearsError('origin_not_authorized', `the sending node does not serve ${fromDomain}`);
    }
    return { recipient, fromDomain };
  }

  /** The local account a message is for; the same answer for every address that is not one. */
  private async localRecipient(address: string): Promise<LocalAccount> {
    const { domain } = parseAddress(address);
    if (!this.config.domains.includes(domain)) {
      throw new KeyPearsError('domain_not_served', `this node does not serve ${domain}`);
    }
    const account = await this.accounts.findByAddress(address);
    if (!account) throw new KeyPearsError('not_found', 'no such address');
    return account;
  }
}
