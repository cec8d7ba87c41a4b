import { Injectable } from '@nestjs/common';
import { isUniqueViolation } from '../database/prisma-errors.js';
import { PrismaService } from '../database/prisma.service.js';
import type { Exchange, Prisma } from '../generated/prisma/client.js';
import type { ExchangeRole, ExchangeStatus } from '../protocol/exchange-api.js';
import { KeyPearsError } from '../protocol/errors.js';
import type { ExchangeConfirmation, ExchangeInitiation, PublicIdentity } from '../protocol/wire.js';
import { sameMessage } from './exchange-rules.js';
import { OutboxRepository, type NewOutboxMessage } from './outbox/outbox.repository.js';

/** One side of an exchange, as a local account's node keeps it. */
export interface StoredExchange {
  /** The row's own id (an exchange between two users of this node has two rows). */
  rowId: string;
  exchangeId: string;
  accountId: string;
  role: ExchangeRole;
  peerAddress: string;
  /** As stored; past `expiresAt`, a `pending` or `delivered` exchange is expired even before the sweep marks it. */
  status: ExchangeStatus;
  initiation: ExchangeInitiation;
  confirmation: ExchangeConfirmation | null;
  /** The peer's public identity as verified when stored. */
  peerIdentity: PublicIdentity | null;
  usedLastResort: boolean;
  failureReason: string | null;
  createdAt: Date;
  expiresAt: Date;
  confirmedAt: Date | null;
}

/** A new row: the exchange as first stored, with the peer's verified identity and the time. */
export type NewExchange = Pick<
  StoredExchange,
  'exchangeId' | 'accountId' | 'role' | 'peerAddress' | 'status' | 'initiation' | 'usedLastResort' | 'expiresAt'
> & { peerIdentity: PublicIdentity; now: Date };

/** The outbox message that carries a change on, written in the change's transaction. */
export type CarriedBy = Omit<NewOutboxMessage, 'exchangeRowId' | 'now'>;

const json = (value: unknown): Prisma.InputJsonValue => value as Prisma.InputJsonValue;

/** The JSON columns hold the wire objects the node verified before storing them. */
function stored(row: Exchange): StoredExchange {
  return {
    rowId: row.id,
    exchangeId: row.exchangeId,
    accountId: row.accountId,
    role: row.role as ExchangeRole,
    peerAddress: row.peerAddress,
    status: row.status as ExchangeStatus,
    initiation: row.initiation as unknown as ExchangeInitiation,
    confirmation: (row.confirmation as unknown as ExchangeConfirmation | null) ?? null,
    peerIdentity: (row.peerIdentity as unknown as PublicIdentity | null) ?? null,
    usedLastResort: row.usedLastResort,
    failureReason: row.failureReason,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    confirmedAt: row.confirmedAt,
  };
}

/** One side of an exchange per local account; a same-node exchange has two rows. */
@Injectable()
export class ExchangeRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly outbox: OutboxRepository,
  ) {}

  async find(accountId: string, exchangeId: string): Promise<StoredExchange | null> {
    const row = await this.prisma.exchange.findUnique({ where: { exchangeId_accountId: { exchangeId, accountId } } });
    return row && stored(row);
  }

  /** Incoming exchanges waiting for the account's answer, oldest first. */
  async listInbox(accountId: string, now: Date, limit: number): Promise<StoredExchange[]> {
    const rows = await this.prisma.exchange.findMany({
      where: { accountId, role: 'responder', status: 'delivered', expiresAt: { gt: now } },
      orderBy: { createdAt: 'asc' },
      take: limit,
    });
    return rows.map(stored);
  }

  /**
   * Stores a new exchange row, with the outbox message that carries it on when given, in one
   * transaction. Returns the existing row instead when this account already has this
   * exchange id with the same role and the same initiation (a retry, or a redelivery that
   * raced with the first delivery), so that a message stored twice is one exchange.
   *
   * @param pendingLimit when given, the most `pending` initiator exchanges the account may
   *   have (counted under a lock on the account row, so concurrent starts cannot pass it).
   * @throws KeyPearsError `conflict` when another exchange holds the id, `too_many_pending`
   *   over `pendingLimit`.
   */
  async insert(row: NewExchange, carriedBy?: CarriedBy, pendingLimit?: number): Promise<StoredExchange> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        if (pendingLimit !== undefined) await this.requirePendingBelow(tx, row.accountId, pendingLimit);
        const created = await tx.exchange.create({
          data: {
            exchangeId: row.exchangeId,
            accountId: row.accountId,
            role: row.role,
            peerAddress: row.peerAddress,
            status: row.status,
            initiation: json(row.initiation),
            peerIdentity: json(row.peerIdentity),
            usedLastResort: row.usedLastResort,
            expiresAt: row.expiresAt,
            createdAt: row.now,
            updatedAt: row.now,
          },
        });
        if (carriedBy) await this.outbox.enqueue(tx, { ...carriedBy, exchangeRowId: created.id, now: row.now });
        return stored(created);
      });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const existing = await this.find(row.accountId, row.exchangeId);
      if (!existing) throw e;
      // The same check as before the insert: a concurrent insert of other content under this id wins, and this one conflicts.
      if (existing.role !== row.role || !sameMessage(existing.initiation, row.initiation)) {
        throw new KeyPearsError('conflict', 'another exchange with this id exists');
      }
      return existing;
    }
  }

  private async requirePendingBelow(tx: Prisma.TransactionClient, accountId: string, limit: number): Promise<void> {
    await tx.$queryRaw`SELECT 1 FROM account WHERE id = ${accountId}::uuid FOR UPDATE`;
    const pending = await tx.exchange.count({ where: { accountId, role: 'initiator', status: 'pending' } });
    if (pending >= limit) {
      throw new KeyPearsError(
        'too_many_pending',
        `${pending} of your initiations are not delivered yet (at most ${limit}); try again when some are`,
      );
    }
  }

  /**
   * Records a confirmation on a row that is still waiting for one (`pending` or `delivered`,
   * before its deadline), with the outbox message carrying it on when given, in one
   * transaction. Returns false when the row was not waiting any more (confirmed, failed or
   * expired meanwhile).
   */
  async confirm(
    row: StoredExchange,
    confirmation: ExchangeConfirmation,
    now: Date,
    carriedBy?: CarriedBy,
  ): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.exchange.updateMany({
        where: { id: row.rowId, status: { in: ['pending', 'delivered'] }, expiresAt: { gt: now } },
        data: { status: 'confirmed', confirmation: json(confirmation), confirmedAt: now, updatedAt: now },
      });
      if (count !== 1) return false;
      if (carriedBy) await this.outbox.enqueue(tx, { ...carriedBy, exchangeRowId: row.rowId, now });
      return true;
    });
  }

  /** Marks every exchange past its deadline that was never confirmed as `expired`. */
  async expireDue(now: Date): Promise<number> {
    const { count } = await this.prisma.exchange.updateMany({
      where: { status: { in: ['pending', 'delivered'] }, expiresAt: { lte: now } },
      data: { status: 'expired', updatedAt: now },
    });
    return count;
  }
}
