/**
 * The exchange as a local user drives it (docs/protocol.md, "Client exchange API" and "State
 * machine"): starting one, the inbox, one exchange's state (both with long polling), and the
 * responder's confirmation.
 *
 * A local user's initiation or confirmation is checked, stored, and either handed to the
 * local recipient in-process (same node: the recipient's node's checks of
 * InboundExchangeService run first) or written to the outbox in the same transaction, for the
 * delivery worker to carry to the peer's node.
 */
import { Inject, Injectable } from '@nestjs/common';
import { AccountRepository, type AccountKey } from '../accounts/account.repository.js';
import { Clock } from '../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { DirectoryService } from '../directory/directory.service.js';
import { parseAddress } from '../protocol/address.js';
import { KeyPearsError } from '../protocol/errors.js';
import { EXCHANGE_MAX_FUTURE_SECONDS, verifyConfirmationSignature } from '../protocol/exchange.js';
import {
  isSettled,
  type ConfirmationMessage,
  type ConfirmExchangeRequest,
  type ExchangeStatus,
  type ExchangeStatusResponse,
  type ExchangeView,
  type InitiationMessage,
  type StartExchangeRequest,
} from '../protocol/exchange-api.js';
import { checkOutgoingInitiation } from '../protocol/exchange-message.js';
import type { ExchangeInitiation, PrekeyBundle, PublicIdentity } from '../protocol/wire.js';
import { ExchangeRepository, type StoredExchange } from './exchange.repository.js';
import { expiryOf, isOverdue, requireWaiting, sameMessage } from './exchange-rules.js';
import { ExchangeWaiters, NO_WAIT, type WaitRequest } from './exchange-waiters.js';
import { InboundExchangeService } from './inbound-exchange.service.js';
import { OutboxWorker } from './outbox/outbox.worker.js';

const INBOX_LIMIT = 100;
/** An initiation handed to the node must have been made recently (clock differences allowed). */
const MAX_INITIATION_AGE_AT_START_SECONDS = 600;
const EXCHANGE_ID_RE = /^[A-Za-z0-9_-]{22}$/;

@Injectable()
export class ExchangeService {
  constructor(
    private readonly exchanges: ExchangeRepository,
    private readonly accounts: AccountRepository,
    private readonly directory: DirectoryService,
    private readonly inbound: InboundExchangeService,
    private readonly worker: OutboxWorker,
    private readonly waiters: ExchangeWaiters,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Accepts a local user's initiation: checks it against the bundle it was derived from, then
   * hands it to the recipient (same node) or queues it for delivery. Idempotent per exchange id.
   *
   * @throws KeyPearsError `invalid_exchange`, `bad_signature`, `conflict`, `too_many_pending`
   *   (KEYPEARS_OUTSTANDING_INITIATIONS_PER_SENDER), and for a same-node recipient whatever
   *   `InboundExchangeService.receiveInitiation` throws.
   */
  async start(account: AccountKey, { initiation, bundle }: StartExchangeRequest): Promise<ExchangeStatusResponse> {
    const self = await this.accounts.findByAddress(account.address);
    if (!self) throw new KeyPearsError('not_found', 'no such address');
    const existing = await this.exchanges.find(self.id, initiation.exchangeId);
    if (existing) return replayed(existing, initiation);

    const { responderPrekeys } = checkOutgoingInitiation(initiation, bundle, self);
    const nowSeconds = this.clock.unixSeconds();
    if (initiation.createdAt > nowSeconds + EXCHANGE_MAX_FUTURE_SECONDS) {
      throw new KeyPearsError('invalid_exchange', 'the initiation is dated in the future');
    }
    if (initiation.createdAt < nowSeconds - MAX_INITIATION_AGE_AT_START_SECONDS) {
      throw new KeyPearsError('invalid_exchange', 'the initiation is too old; start a new exchange');
    }
    const initiatorIdentity = await this.directory
      .lookupPublicIdentity(parseAddress(self.address))
      .catch((e: unknown) => {
        if (e instanceof KeyPearsError && e.code === 'not_found') {
          throw new KeyPearsError('conflict', 'publish your prekeys before starting an exchange');
        }
        throw e;
      });
    const message: InitiationMessage = { type: 'initiation', initiation, initiatorIdentity, responderPrekeys };
    const toDomain = parseAddress(initiation.to).domain;
    const row = {
      exchangeId: initiation.exchangeId,
      accountId: self.id,
      role: 'initiator' as const,
      peerAddress: initiation.to,
      initiation,
      peerIdentity: pickIdentity(bundle),
      usedLastResort: initiation.pqPrekeyKind === 'pq-last-resort',
      expiresAt: expiryOf(initiation, this.config.exchangeTtlSeconds),
      now: this.clock.now(),
    };

    if (this.config.domains.includes(toDomain)) {
      // Same node: the recipient's checks run first, so a refusal stores nothing on either side.
      await this.inbound.receiveInitiation(message, 'local');
      return statusOf(await this.exchanges.insert({ ...row, status: 'delivered' }));
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
      this.config.outstandingInitiationsPerSender,
    );
    this.worker.kick();
    return statusOf(stored);
  }

  /** Incoming exchanges waiting for the user's answer; with `wait`, an empty inbox waits for one to arrive. */
  async inbox(account: AccountKey, wait: WaitRequest = NO_WAIT): Promise<ExchangeView[]> {
    return this.waiters.waitFor(
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
   * @param exchangeId as the client sent it: a string that is no exchange id is not found.
   * @throws KeyPearsError `not_found`.
   */
  async get(
    account: AccountKey,
    exchangeId: string,
    wait: WaitRequest = NO_WAIT,
    unless?: ExchangeStatus,
  ): Promise<ExchangeView> {
    return this.waiters.waitFor(
      account.id,
      async () => this.view(await this.requireExchange(account, exchangeId)),
      (view) => (unless === undefined ? isSettled(view.status) : view.status !== unless),
      wait,
    );
  }

  /**
   * The responder's confirmation: checked (the signer's signature, the exchange it answers),
   * stored, and handed to the initiator (same node) or queued for delivery. Idempotent.
   *
   * @throws KeyPearsError `not_found`, `invalid_exchange`, `bad_signature`, `conflict`
   *   (already answered differently, or failed), `exchange_expired`.
   */
  async confirm(
    account: AccountKey,
    exchangeId: string,
    { confirmation }: ConfirmExchangeRequest,
  ): Promise<ExchangeStatusResponse> {
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
    const now = this.clock.now();
    requireWaiting(row, now);
    const message: ConfirmationMessage = { type: 'confirmation', confirmation };
    const toDomain = parseAddress(row.peerAddress).domain;
    if (this.config.domains.includes(toDomain)) {
      await this.inbound.receiveConfirmation(message, 'local');
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

  private async requireExchange(account: AccountKey, exchangeId: string): Promise<StoredExchange> {
    const row = EXCHANGE_ID_RE.test(exchangeId) ? await this.exchanges.find(account.id, exchangeId) : null;
    if (!row) throw new KeyPearsError('not_found', 'no such exchange');
    return row;
  }

  private giveUpAt(): Date {
    return new Date(this.clock.now().getTime() + this.config.deliveryHorizonSeconds * 1000);
  }

  private view(row: StoredExchange): ExchangeView {
    return {
      id: row.exchangeId,
      role: row.role,
      peer: row.peerAddress,
      status: isOverdue(row, this.clock.now()) ? 'expired' : row.status,
      usedLastResort: row.usedLastResort,
      initiation: row.initiation,
      confirmation: row.confirmation,
      peerIdentity: row.peerIdentity,
      failureReason: row.failureReason,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
      confirmedAt: row.confirmedAt?.toISOString() ?? null,
    };
  }
}

function statusOf(row: StoredExchange): ExchangeStatusResponse {
  return { id: row.exchangeId, status: row.status, usedLastResort: row.usedLastResort };
}

/** Sending the same initiation again is answered with the current state; other content under its id is a conflict. */
function replayed(existing: StoredExchange, initiation: ExchangeInitiation): ExchangeStatusResponse {
  if (existing.role !== 'initiator' || !sameMessage(existing.initiation, initiation)) {
    throw new KeyPearsError('conflict', 'another exchange with this id exists');
  }
  return statusOf(existing);
}

/** The public identity part of a bundle (what the initiator's node keeps about the responder). */
function pickIdentity(bundle: PrekeyBundle): PublicIdentity {
  const { address, identityKey, identityDhKey, signedPrekey, pqLastResort, fingerprint } = bundle;
  return { address, identityKey, identityDhKey, signedPrekey, pqLastResort, fingerprint };
}
