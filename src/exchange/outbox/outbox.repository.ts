import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../database/prisma.service.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { FederationMessageSchema, type FederationMessage } from '../../protocol/exchange-api.js';
import { describeZodError } from '../../protocol/wire.js';
import type { OutboxDepth } from '../../metrics/node-metrics.js';

/** Kinds of outbox message, one per federation message type. */
export type OutboxKind = FederationMessage['type'];

export interface NewOutboxMessage {
  /** Unique per logical message (`initiation:<exchangeId>`): enqueuing twice stores one row. */
  dedupeKey: string;
  kind: OutboxKind;
  targetDomain: string;
  payload: FederationMessage;
  giveUpAt: Date;
  /** The exchange row marked failed if delivery gives up. */
  exchangeRowId: string;
  /** When it is enqueued: its first attempt is due at once. */
  now: Date;
}

/** A message claimed for delivery. */
export interface DueMessage {
  id: bigint;
  kind: OutboxKind;
  targetDomain: string;
  /**
   * The message to deliver, checked again against its schema since it is read back from the
   * database; null when it no longer parses (then `unreadable` says why).
   */
  payload: FederationMessage | null;
  unreadable?: string;
  /** Attempts including the one now being made. */
  attempts: number;
  giveUpAt: Date;
  exchangeRowId: string | null;
  /** The account whose exchange the message belongs to (its waiting requests are woken on a change). */
  accountId: string | null;
}

interface DueRow {
  id: bigint;
  kind: string;
  target_domain: string;
  payload: unknown;
  attempts: number;
  give_up_at: Date;
  exchange_row_id: string | null;
  account_id: string | null;
}

function readPayload(payload: unknown): Pick<DueMessage, 'payload' | 'unreadable'> {
  const parsed = FederationMessageSchema.safeParse(payload);
  if (parsed.success) return { payload: parsed.data };
  return { payload: null, unreadable: `the stored message does not parse: ${describeZodError(parsed.error)}` };
}

/**
 * The outbox of messages for other nodes (docs/protocol.md §9.4). Rows are
 * written in the same transaction as the state change they announce, claimed by one worker at
 * a time across replicas, and kept after delivery or failure for the retention period
 * (KEYPEARS_OUTBOX_RETENTION_SECONDS) as a record of what happened.
 */
@Injectable()
export class OutboxRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Inserts within the caller's transaction; a second message with the same dedupe key is ignored. */
  async enqueue(tx: Prisma.TransactionClient, message: NewOutboxMessage): Promise<void> {
    await tx.outboxMessage.createMany({
      data: [
        {
          dedupeKey: message.dedupeKey,
          kind: message.kind,
          targetDomain: message.targetDomain,
          payload: message.payload as Prisma.InputJsonValue,
          giveUpAt: message.giveUpAt,
          exchangeRowId: message.exchangeRowId,
          nextAttemptAt: message.now,
          createdAt: message.now,
        },
      ],
      skipDuplicates: true,
    });
  }

  /**
   * Claims, for each of up to `maxPeers` peers with messages due at `now` (except those in
   * `excludedPeers`), up to `perPeer` of its due messages, oldest due first, in one statement:
   * rows locked by another replica's claim are skipped (FOR UPDATE SKIP LOCKED), and each
   * claimed row's next attempt is pushed `leaseMs` ahead, so no other worker picks it up while
   * this one delivers it. If this worker dies, the message becomes due again when the lease
   * runs out. One claim thus gives every peer that can take messages a batch of its own: a
   * peer with thousands due never holds up another with one.
   */
  async claimDue(
    now: Date,
    perPeer: number,
    leaseMs: number,
    excludedPeers: readonly string[] = [],
    maxPeers = 64,
  ): Promise<DueMessage[]> {
    const rows = await this.prisma.$queryRaw<DueRow[]>`
      WITH peers AS (
        SELECT DISTINCT target_domain FROM outbox_message
         WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ${now}
           AND NOT (target_domain = ANY(${[...excludedPeers]}::text[]))
         LIMIT ${maxPeers}
      ), due AS (
        SELECT m.id FROM peers p CROSS JOIN LATERAL (
          SELECT id FROM outbox_message
           WHERE target_domain = p.target_domain
             AND delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ${now}
           ORDER BY next_attempt_at
           LIMIT ${perPeer}
           FOR UPDATE SKIP LOCKED
        ) m
      )
      UPDATE outbox_message o
         SET attempts = o.attempts + 1,
             next_attempt_at = ${now}::timestamptz + make_interval(secs => ${leaseMs / 1000}::double precision)
        FROM due WHERE o.id = due.id
      RETURNING o.id, o.kind, o.target_domain, o.payload, o.attempts, o.give_up_at, o.exchange_row_id,
                (SELECT e.account_id FROM exchange e WHERE e.id = o.exchange_row_id) AS account_id`;
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind as OutboxKind,
      targetDomain: r.target_domain,
      ...readPayload(r.payload),
      attempts: Number(r.attempts),
      giveUpAt: r.give_up_at,
      exchangeRowId: r.exchange_row_id,
      accountId: r.account_id,
    }));
  }

  /**
   * Records deliveries, in one transaction; for initiations also moves the senders'
   * exchanges from `pending` to `delivered` (never backwards: a confirmation may already have
   * arrived).
   */
  async markDelivered(messages: readonly DueMessage[], now: Date): Promise<void> {
    if (messages.length === 0) return;
    const ids = messages.map((m) => m.id);
    const initiated = messages.flatMap((m) => (m.kind === 'initiation' && m.exchangeRowId ? [m.exchangeRowId] : []));
    await this.prisma.$transaction(async (tx) => {
      await tx.outboxMessage.updateMany({ where: { id: { in: ids } }, data: { deliveredAt: now, lastError: null } });
      if (initiated.length > 0) {
        await tx.exchange.updateMany({
          where: { id: { in: initiated }, status: 'pending' },
          data: { status: 'delivered', updatedAt: now },
        });
      }
    });
  }

  async reschedule(id: bigint, nextAttemptAt: Date, error: string): Promise<void> {
    await this.prisma.outboxMessage.update({ where: { id }, data: { nextAttemptAt, lastError: error.slice(0, 500) } });
  }

  /**
   * Gives up on a message and marks its exchange failed with the reason, in one transaction;
   * only while the exchange is still in the state the message was to move on: an initiation's
   * exchange while `pending` or `delivered` (never once confirmed: the peer's confirmation
   * arrived, so the initiation did too), a confirmation's exchange (the responder's) while
   * `confirmed`.
   */
  async markFailed(message: DueMessage, now: Date, reason: string): Promise<void> {
    const text = reason.slice(0, 500);
    const failable = message.kind === 'initiation' ? ['pending', 'delivered'] : ['confirmed'];
    await this.prisma.$transaction(async (tx) => {
      await tx.outboxMessage.update({ where: { id: message.id }, data: { failedAt: now, lastError: text } });
      if (message.exchangeRowId) {
        await tx.exchange.updateMany({
          where: { id: message.exchangeRowId, status: { in: failable } },
          data: { status: 'failed', failureReason: text, updatedAt: now },
        });
      }
    });
  }

  /**
   * Deletes up to `limit` messages delivered or given up before `before` (the retention of
   * KEYPEARS_OUTBOX_RETENTION_SECONDS; the exchange rows keep their outcome). Returns how many.
   */
  async deleteFinished(before: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM outbox_message WHERE id IN (
        SELECT id FROM outbox_message
         WHERE (delivered_at IS NOT NULL OR failed_at IS NOT NULL) AND COALESCE(delivered_at, failed_at) < ${before}
         LIMIT ${limit})`;
  }

  /** The undelivered messages at `now`, for the metrics (docs/operators.md, "Metrics"). */
  async depth(now: Date): Promise<OutboxDepth> {
    const [row] = await this.prisma.$queryRaw<Array<{ due: bigint; waiting: bigint; oldest: number | null }>>`
      SELECT count(*) FILTER (WHERE next_attempt_at <= ${now}) AS due,
             count(*) FILTER (WHERE next_attempt_at > ${now}) AS waiting,
             EXTRACT(EPOCH FROM ${now}::timestamptz - min(next_attempt_at) FILTER (WHERE next_attempt_at <= ${now}))::float8 AS oldest
        FROM outbox_message
       WHERE delivered_at IS NULL AND failed_at IS NULL`;
    return { due: Number(row.due), waiting: Number(row.waiting), oldestDueSeconds: Math.max(0, row.oldest ?? 0) };
  }
}
