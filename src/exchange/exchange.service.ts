/**
 * The exchange as the nodes carry it (docs/protocol.md, "The exchange" and "State machine").
 *
 * Outgoing: a local user's initiation or confirmation is checked, stored, and either handed
 * to the local recipient in-process (same node) or written to the outbox in the same
 * transaction, for the delivery worker to carry to the peer's node.
 *
 * Incoming: a message from another node (or from this node, for a local peer) is checked
 * completely (origin, recipient, every signature, freshness, blocks, rate limits) before
 * anything is stored, and stored idempotently: the same message twice is one exchange.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { RateLimitService } from '../common/rate-limit/rate-limit.service.js';
import { parseWith } from '../common/zod.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import type { AccountKey } from '../identity/account.repository.js';
import { AccountRepository } from '../identity/account.repository.js';
import { KeysService } from '../keys/keys.service.js';
import { parseAddress } from '../protocol/address.js';
import { KeyPearsError } from '../protocol/errors.js';
import { EXCHANGE_MAX_FUTURE_SECONDS, verifyConfirmationSignature } from '../protocol/exchange.js';
import {
  BlockRequestSchema,
  BundleRequestSchema,
  ConfirmationMessageSchema,
  ConfirmExchangeRequestSchema,
  InitiationMessageSchema,
  isSettled,
  StartExchangeRequestSchema,
  type ConfirmationMessage,
  type ExchangeStatus,
  type ExchangeStatusResponse,
  type ExchangeView,
  type FederationAck,
  type InitiationMessage,
} from '../protocol/exchange-api.js';
import { checkIncomingInitiation, checkOutgoingInitiation } from '../protocol/exchange-message.js';
import {
  decodeBundle,
  decodePublicIdentity,
  PrekeyBundleSchema,
  parseWire,
  type ExchangeConfirmation,
  type ExchangeInitiation,
  type PrekeyBundle,
  type PublicIdentity,
} from '../protocol/wire.js';
import { FederationClient } from '../federation/federation.client.js';
import { BlockRepository } from './block.repository.js';
import { FEDERATION_CLAIM_PATH } from './federation-paths.js';
import { ExchangeRepository, type ExchangeRow } from './exchange.repository.js';
import { ExchangeSignals, NO_WAIT, type WaitRequest } from './exchange-signals.js';
import { OutboxWorker } from './outbox.worker.js';

/** Who delivered a message: another node (authenticated by the federation guard) or this node. */
export interface MessageOrigin {
  /** The origin node's base URL, or `local`. */
  node: string;
  /** True when discovery says the origin node serves this domain. */
  servesDomain(domain: string): Promise<boolean>;
}

const INBOX_LIMIT = 100;
/** An initiation handed to the node must have been made recently (clock differences allowed). */
const MAX_INITIATION_AGE_AT_START_SECONDS = 600;

@Injectable()
export class ExchangeService {
  constructor(
    private readonly exchanges: ExchangeRepository,
    private readonly blocks: BlockRepository,
    private readonly accounts: AccountRepository,
    private readonly keys: KeysService,
    private readonly rateLimits: RateLimitService,
    private readonly federation: FederationClient,
    private readonly worker: OutboxWorker,
    private readonly signals: ExchangeSignals,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private isLocal(domain: string): boolean {
    return this.config.domains.includes(domain);
  }

  /** The origin for messages between two users of this node. */
  private readonly localOrigin: MessageOrigin = {
    node: 'local',
    servesDomain: async (domain) => this.isLocal(domain),
  };

  // --- Client API ------------------------------------------------------------------------

  /**
   * A verified prekey bundle for any address: claimed locally, or from the address's node over
   * federation on the user's behalf (clients never talk to foreign nodes).
   *
   * @throws KeyPearsError `not_found`, `rate_limited`, `no_node_for_domain`, `peer_error`, `peer_unavailable`.
   */
  async claimBundle(account: AccountKey, body: unknown, source: string): Promise<PrekeyBundle> {
    const { address } = parseWith(BundleRequestSchema, body);
    if (address === account.address) throw new KeyPearsError('invalid_request', 'cannot exchange keys with yourself');
    const { domain } = parseAddress(address);
    if (this.isLocal(domain)) return this.keys.claimBundle(address, { address: account.address, source });
    // The peer limits per requester too; this keeps one local user from spending this node's budget there.
    await this.rateLimits.consume(
      `fedclaim:pair:${account.address}>${address}`,
      { limit: this.config.claimLimitPerPair, windowSeconds: 3600 },
      `bundle claims for ${address}`,
    );
    const answer = await this.federation
      .post(
        domain,
        FEDERATION_CLAIM_PATH,
        { requester: account.address, address },
        {
          senderDomain: parseAddress(account.address).domain,
        },
      )
      .catch((e: unknown) => {
        // What the user can act on passes through; anything else stays a peer error.
        const peerCode = e instanceof KeyPearsError ? e.details?.peerCode : undefined;
        if (peerCode === 'not_found') throw new KeyPearsError('not_found', `${address} is not registered on its node`);
        if (peerCode === 'rate_limited') {
          throw new KeyPearsError('rate_limited', `the node of ${domain} refuses more claims for now`, {
            retryAfterSeconds: 60,
          });
        }
        throw e;
      });
    try {
      const bundle = parseWire(PrekeyBundleSchema, answer, 'invalid_bundle');
      decodeBundle(bundle, address);
      return bundle;
    } catch (e) {
      throw new KeyPearsError('peer_error', `the node of ${domain} sent an invalid bundle: ${(e as Error).message}`);
    }
  }

  /**
   * Accepts a local user's initiation: checks it against the bundle it was derived from, then
   * hands it to the recipient (same node) or queues it for delivery. Idempotent per exchange id.
   *
   * @throws KeyPearsError `invalid_request`, `invalid_exchange`, `bad_signature`, `conflict`,
   *   and for a same-node recipient whatever `receiveInitiation` throws.
   */
  async start(account: AccountKey, body: unknown): Promise<ExchangeStatusResponse> {
    const { initiation, bundle } = parseWith(StartExchangeRequestSchema, body);
    const self = await this.requireAccount(account.address);
    const existing = await this.exchanges.find(self.id, initiation.exchangeId);
    if (existing) return this.replayed(existing, initiation);

    const { responderPrekeys } = checkOutgoingInitiation(initiation, bundle, {
      address: self.address,
      identityKey: self.identityKey,
      identityDhKey: self.identityDhKey,
    });
    const now = this.clock.unixSeconds();
    if (initiation.createdAt > now + EXCHANGE_MAX_FUTURE_SECONDS) {
      throw new KeyPearsError('invalid_exchange', 'the initiation is dated in the future');
    }
    if (initiation.createdAt < now - MAX_INITIATION_AGE_AT_START_SECONDS) {
      throw new KeyPearsError('invalid_exchange', 'the initiation is too old; start a new exchange');
    }
    const initiatorIdentity = await this.keys.lookupPublicIdentity(self.address).catch((e: unknown) => {
      if (e instanceof KeyPearsError && e.code === 'not_found') {
        throw new KeyPearsError('conflict', 'publish your prekeys before starting an exchange');
      }
      throw e;
    });
    const message: InitiationMessage = { type: 'initiation', initiation, initiatorIdentity, responderPrekeys };
    const peerIdentity: PublicIdentity = pickIdentity(bundle);
    const toDomain = parseAddress(initiation.to).domain;
    const row = {
      exchangeId: initiation.exchangeId,
      accountId: self.id,
      role: 'initiator' as const,
      peerAddress: initiation.to,
      initiation,
      peerIdentity,
      usedLastResort: initiation.pqPrekeyKind === 'pq-last-resort',
      expiresAt: this.expiryOf(initiation),
      now: this.clock.now(),
    };

    if (this.isLocal(toDomain)) {
      // Same node: the recipient's checks run first, so a refusal stores nothing on either side.
      await this.receiveInitiation(message, this.localOrigin);
      const stored = await this.exchanges.insert({ ...row, status: 'delivered' });
      return statusOf(stored);
    }
    const stored = await this.exchanges.insert(
      { ...row, status: 'pending' },
      {
        dedupeKey: `initiation:${initiation.exchangeId}:${initiation.from}`,
        kind: 'initiation',
        targetDomain: toDomain,
        payload: message,
        giveUpAt: this.giveUpAt(),
      },
    );
    this.worker.kick();
    return statusOf(stored);
  }

  /** Incoming exchanges waiting for the user's answer; with `wait`, an empty inbox waits for one to arrive. */
  async inbox(account: AccountKey, wait: WaitRequest = NO_WAIT): Promise<ExchangeView[]> {
    return this.signals.waitFor(
      account.id,
      async () => {
        const rows = await this.exchanges.listInbox(account.id, this.clock.now(), INBOX_LIMIT);
        return rows.map((r) => this.view(r));
      },
      (views) => views.length > 0,
      wait,
    );
  }

  /**
   * One exchange of the user. With `wait`, answers when its status is no longer `unless`
   * (without `unless`: once it is settled: confirmed, failed or expired), or when the wait ends.
   *
   * @throws KeyPearsError `not_found`.
   */
  async get(
    account: AccountKey,
    exchangeId: string,
    wait: WaitRequest = NO_WAIT,
    unless?: ExchangeStatus,
  ): Promise<ExchangeView> {
    return this.signals.waitFor(
      account.id,
      async () => this.view(await this.requireExchange(account, exchangeId)),
      (view) => (unless === undefined ? isSettled(view.status) : view.status !== unless),
      wait,
    );
  }

  /**
   * The responder's confirmation: checked (Bob's signature, the exchange it answers), stored,
   * and handed to the initiator (same node) or queued for delivery. Idempotent.
   *
   * @throws KeyPearsError `not_found`, `invalid_request`, `invalid_exchange`, `bad_signature`,
   *   `conflict` (already answered differently, failed or expired).
   */
  async confirm(account: AccountKey, exchangeId: string, body: unknown): Promise<ExchangeStatusResponse> {
    const { confirmation } = parseWith(ConfirmExchangeRequestSchema, body);
    const row = await this.requireExchange(account, exchangeId);
    if (row.role !== 'responder') {
      throw new KeyPearsError('conflict', 'only the recipient of an exchange confirms it');
    }
    if (confirmation.exchangeId !== row.exchangeId || confirmation.from !== account.address) {
      throw new KeyPearsError('invalid_exchange', 'the confirmation is not for this exchange');
    }
    if (confirmation.to !== row.peerAddress) {
      throw new KeyPearsError('invalid_exchange', `the confirmation must be addressed to ${row.peerAddress}`);
    }
    if (!verifyConfirmationSignature(confirmation, account.identityKey)) {
      throw new KeyPearsError('bad_signature', 'the confirmation signature does not verify');
    }
    if (row.status === 'confirmed') {
      if (sameMessage(row.confirmation, confirmation)) return statusOf(row);
      throw new KeyPearsError('conflict', 'this exchange was already confirmed with another confirmation');
    }
    this.requireWaiting(row);
    const message: ConfirmationMessage = { type: 'confirmation', confirmation };
    const toDomain = parseAddress(row.peerAddress).domain;
    const now = this.clock.now();
    if (this.isLocal(toDomain)) {
      await this.receiveConfirmation(message, this.localOrigin);
      if (!(await this.exchanges.confirm(row, confirmation, now))) return this.get(account, exchangeId);
    } else {
      const done = await this.exchanges.confirm(row, confirmation, now, {
        dedupeKey: `confirmation:${row.exchangeId}:${confirmation.from}`,
        kind: 'confirmation',
        targetDomain: toDomain,
        payload: message,
        giveUpAt: this.giveUpAt(),
      });
      if (!done) return this.get(account, exchangeId);
      this.worker.kick();
    }
    return statusOf((await this.exchanges.find(row.accountId, row.exchangeId))!);
  }

  /** Blocks an address or a whole domain from sending this user exchanges. */
  async block(account: AccountKey, body: unknown): Promise<{ blocks: string[] }> {
    const { pattern } = parseWith(BlockRequestSchema, body);
    if (pattern === account.address) throw new KeyPearsError('invalid_request', 'cannot block yourself');
    await this.blocks.add(account.id, pattern, this.clock.now());
    return { blocks: await this.blocks.list(account.id) };
  }

  /** @throws KeyPearsError `not_found` when the pattern was not blocked. */
  async unblock(account: AccountKey, pattern: string): Promise<{ blocks: string[] }> {
    if (!(await this.blocks.remove(account.id, pattern))) throw new KeyPearsError('not_found', 'no such block');
    return { blocks: await this.blocks.list(account.id) };
  }

  async listBlocks(account: AccountKey): Promise<{ blocks: string[] }> {
    return { blocks: await this.blocks.list(account.id) };
  }

  // --- Messages from nodes ---------------------------------------------------------------

  /**
   * The checks every inbound exchange message passes first: the recipient is a local account,
   * the origin node stays within its rate limit, and discovery says it serves the sender's domain.
   */
  private async admitMessage(from: string, to: string, origin: MessageOrigin) {
    const fromDomain = parseAddress(from).domain;
    const recipient = await this.localRecipient(to);
    if (origin.node !== 'local') {
      await this.rateLimits.consume(
        `exchange:origin:${origin.node}`,
        { limit: this.config.exchangeLimitPerOrigin, windowSeconds: 60 },
        'messages from this node',
      );
    }
    if (!(await origin.servesDomain(fromDomain))) {
      throw new KeyPearsError('origin_not_authorized', `the sending node does not serve ${fromDomain}`);
    }
    return { recipient, fromDomain };
  }

  /**
   * Stores an initiation for a local recipient after checking everything about it.
   *
   * @throws KeyPearsError `invalid_request`, `origin_not_authorized`, `domain_not_served`,
   *   `not_found`, `rate_limited`, `conflict`, `invalid_exchange`, `bad_signature`,
   *   `exchange_expired`, `blocked`.
   */
  async receiveInitiation(body: unknown, origin: MessageOrigin): Promise<FederationAck> {
    const message = parseWire(InitiationMessageSchema, body);
    const { initiation } = message;
    const { recipient, fromDomain } = await this.admitMessage(initiation.from, initiation.to, origin);
    const existing = await this.exchanges.find(recipient.id, initiation.exchangeId);
    if (existing) {
      if (existing.role === 'responder' && sameMessage(existing.initiation, initiation)) {
        return { exchangeId: existing.exchangeId, status: existing.status as ExchangeStatus };
      }
      throw new KeyPearsError('conflict', 'another exchange with this id exists');
    }
    checkIncomingInitiation(initiation, message.initiatorIdentity, message.responderPrekeys, {
      address: recipient.address,
      identityKey: recipient.identityKey,
      identityDhKey: recipient.identityDhKey,
    });
    const now = this.clock.unixSeconds();
    if (initiation.createdAt > now + EXCHANGE_MAX_FUTURE_SECONDS) {
      throw new KeyPearsError('invalid_exchange', 'the initiation is dated in the future');
    }
    if (this.expiryOf(initiation).getTime() <= now * 1000) {
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
      expiresAt: this.expiryOf(initiation),
      now: this.clock.now(),
    });
    await this.signals.changed(recipient.id);
    return { exchangeId: stored.exchangeId, status: stored.status as ExchangeStatus };
  }

  /**
   * Records the responder's confirmation on the local initiator's exchange, after checking the
   * origin and the responder's signature (the MAC is the initiator's client's to check).
   *
   * @throws KeyPearsError `invalid_request`, `origin_not_authorized`, `domain_not_served`,
   *   `not_found`, `bad_signature`, `conflict`, `rate_limited`.
   */
  async receiveConfirmation(body: unknown, origin: MessageOrigin): Promise<FederationAck> {
    const { confirmation } = parseWire(ConfirmationMessageSchema, body);
    const { recipient } = await this.admitMessage(confirmation.from, confirmation.to, origin);
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
    this.requireWaiting(row);
    if (!(await this.exchanges.confirm(row, confirmation, this.clock.now()))) {
      throw new KeyPearsError('conflict', 'the exchange is no longer waiting for a confirmation');
    }
    await this.signals.changed(recipient.id);
    return { exchangeId: row.exchangeId, status: 'confirmed' };
  }

  // --- Helpers ---------------------------------------------------------------------------

  private async requireAccount(address: string) {
    const account = await this.accounts.findByAddress(address);
    if (!account) throw new KeyPearsError('not_found', 'no such address');
    return account;
  }

  /** The local account a message is for; the same answer for every address that is not one. */
  private async localRecipient(address: string) {
    const { domain } = parseAddress(address);
    if (!this.isLocal(domain)) throw new KeyPearsError('domain_not_served', `this node does not serve ${domain}`);
    return this.requireAccount(address);
  }

  private async requireExchange(account: AccountKey, exchangeId: string): Promise<ExchangeRow> {
    const row = /^[A-Za-z0-9_-]{22}$/.test(exchangeId) ? await this.exchanges.find(account.id, exchangeId) : null;
    if (!row) throw new KeyPearsError('not_found', 'no such exchange');
    return row;
  }

  /** Refuses to change an exchange that ended (failed, expired, or past its deadline). */
  private requireWaiting(row: ExchangeRow): void {
    if (row.status === 'failed') {
      throw new KeyPearsError('conflict', `the exchange failed: ${row.failureReason ?? 'unknown reason'}`);
    }
    if (row.status === 'expired' || row.expiresAt.getTime() <= this.clock.now().getTime()) {
      throw new KeyPearsError('exchange_expired', 'the exchange expired before it was confirmed');
    }
  }

  /** Both sides expire an exchange at the same instant: its creation plus the configured lifetime. */
  private expiryOf(initiation: ExchangeInitiation): Date {
    return new Date((initiation.createdAt + this.config.exchangeTtlSeconds) * 1000);
  }

  private giveUpAt(): Date {
    return new Date(this.clock.now().getTime() + this.config.deliveryHorizonSeconds * 1000);
  }

  private replayed(existing: ExchangeRow, initiation: ExchangeInitiation): ExchangeStatusResponse {
    if (existing.role !== 'initiator' || !sameMessage(existing.initiation, initiation)) {
      throw new KeyPearsError('conflict', 'another exchange with this id exists');
    }
    return statusOf(existing);
  }

  private view(row: ExchangeRow): ExchangeView {
    const expired =
      (row.status === 'pending' || row.status === 'delivered') && row.expiresAt.getTime() <= this.clock.now().getTime();
    return {
      id: row.exchangeId,
      role: row.role as ExchangeView['role'],
      peer: row.peerAddress,
      status: expired ? 'expired' : (row.status as ExchangeStatus),
      usedLastResort: row.usedLastResort,
      initiation: row.initiation as ExchangeInitiation,
      confirmation: (row.confirmation as ExchangeConfirmation | null) ?? null,
      peerIdentity: (row.peerIdentity as PublicIdentity | null) ?? null,
      failureReason: row.failureReason,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
      confirmedAt: row.confirmedAt?.toISOString() ?? null,
    };
  }
}

function statusOf(row: ExchangeRow): ExchangeStatusResponse {
  return { id: row.exchangeId, status: row.status as ExchangeStatus, usedLastResort: row.usedLastResort };
}

/** The public identity part of a bundle (what the initiator's node keeps about the responder). */
function pickIdentity(bundle: PrekeyBundle): PublicIdentity {
  const { address, identityKey, identityDhKey, signedPrekey, pqLastResort, fingerprint } = bundle;
  return { address, identityKey, identityDhKey, signedPrekey, pqLastResort, fingerprint };
}

/** Field-by-field equality of two wire messages (stored JSON may order keys differently). */
function sameMessage(stored: unknown, received: Record<string, unknown>): boolean {
  if (typeof stored !== 'object' || stored === null) return false;
  const a = stored as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(received)]);
  for (const key of keys) if (a[key] !== received[key]) return false;
  return true;
}
