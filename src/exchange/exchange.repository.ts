import { Injectable } from '@nestjs/common';
import { isUniqueViolation } from '../database/prisma-errors.js';
import { PrismaService } from '../database/prisma.service.js';
import type { Exchange, Prisma } from '../generated/prisma/client.js';
import type { ExchangeRole, ExchangeStatus } from '../protocol/exchange-api.js';
import type { ExchangeConfirmation, ExchangeInitiation, PublicIdentity } from '../protocol/wire.js';
import { OutboxRepository, type NewOutboxMessage } from './outbox.repository.js';

export type ExchangeRow = Exchange;

export interface NewExchange {
  exchangeId: string;
  accountId: string;
  role: ExchangeRole;
  peerAddress: string;
  status: ExchangeStatus;
  initiation: ExchangeInitiation;
  peerIdentity: PublicIdentity;
  usedLastResort: boolean;
  expiresAt: Date;
  now: Date;
}

const json = (value: unknown): Prisma.InputJsonValue => value as Prisma.InputJsonValue;

/** One side of an exchange per local account; a same-node exchange has two rows. */
@Injectable()
export class ExchangeRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly outbox: OutboxRepository,
  ) {}

  find(accountId: string, exchangeId: string): Promise<ExchangeRow | null> {
    return this.prisma.exchange.findUnique({ where: { exchangeId_accountId: { exchangeId, accountId } } });
  }

  /** Incoming exchanges waiting for the account's answer, oldest first. */
  listInbox(accountId: string, now: Date, limit: number): Promise<ExchangeRow[]> {
    return this.prisma.exchange.findMany({
      where: { accountId, role: 'responder', status: 'delivered', expiresAt: { gt: now } },
      orderBy: { createdAt: 'asc' },
      take: limit,
    });
  }

  /**
   * Stores a new exchange row, with the outbox message that carries it on when given, in one
   * transaction. Returns the existing row instead when this account already has this
   * exchange id (a retry, or a redelivery), so that a message stored twice is one exchange.
   */
  async insert(row: NewExchange, message?: Omit<NewOutboxMessage, 'exchangeRowId'>): Promise<ExchangeRow> {
    try {
      return await this.prisma.$transaction(async (tx) => {
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
        if (message) await this.outbox.enqueue(tx, { ...message, exchangeRowId: created.id });
        return created;
      });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const existing = await this.find(row.accountId, row.exchangeId);
      if (!existing) throw e;
      return existing;
    }
  }

  /**
   * Records a confirmation on a row that is still waiting for one (`pending` or `delivered`),
   * with the outbox message carrying it on when given, in one transaction. Returns false when
   * the row was not waiting any more (confirmed, failed or expired meanwhile).
   */
  async confirm(
    row: ExchangeRow,
    confirmation: ExchangeConfirmation,
    now: Date,
    message?: Omit<NewOutboxMessage, 'exchangeRowId'>,
  ): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.exchange.updateMany({
        where: { id: row.id, status: { in: ['pending', 'delivered'] }, expiresAt: { gt: now } },
        data: { status: 'confirmed', confirmation: json(confirmation), confirmedAt: now, updatedAt: now },
      });
      if (count !== 1) return false;
      if (message) await this.outbox.enqueue(tx, { ...message, exchangeRowId: row.id });
      return true;
    });
  }

  /** Moves an initiator's row from `pending` to `delivered` (same-node delivery). */
  async markDelivered(rowId: string, now: Date): Promise<void> {
    await this.prisma.exchange.updateMany({
      where: { id: rowId, status: 'pending' },
      data: { status: 'delivered', updatedAt: now },
    });
  }

  async markFailed(rowId: string, reason: string, now: Date): Promise<void> {
    await this.prisma.exchange.updateMany({
      where: { id: rowId, status: { in: ['pending', 'delivered'] } },
      data: { status: 'failed', failureReason: reason.slice(0, 500), updatedAt: now },
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
