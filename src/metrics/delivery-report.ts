/**
 * What the outbox reports of each delivery attempt: the counters of NodeMetrics and, for a
 * failed attempt, one log line an operator can select on (docs/operators.md, "Logs"):
 * `{"msg": "delivery failed", "peer", "messageId", "kind", "attempt", "status" or "error",
 * "outcome", "nextAttemptAt"}`.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { NODE_LOGGER } from '../common/logger.module.js';
import { isKeyPearsError } from '../protocol/errors.js';
import { NodeMetrics } from './node-metrics.js';

/** One attempt at one outbox message. */
export interface DeliveryAttempt {
  /** The domain the message is for. */
  peer: string;
  messageId: bigint | string;
  kind: string;
  /** 1 for the first attempt. */
  attempt: number;
}

export type FailedDelivery = DeliveryAttempt & {
  error: unknown;
} & (
    | { outcome: 'retry'; nextAttemptAt: Date }
    /** The peer refused the message itself: retrying cannot change that. */
    | { outcome: 'refused' }
    /** The delivery horizon has passed. */
    | { outcome: 'given_up' }
  );

/** The peer's HTTP status when it answered one, else the error's code and message. */
function describeFailure(error: unknown): { status?: number; error: string } {
  if (isKeyPearsError(error)) {
    const status = error.details?.status;
    return { ...(typeof status === 'number' ? { status } : {}), error: `${error.code}: ${error.message}` };
  }
  return { error: error instanceof Error ? error.message : String(error) };
}

@Injectable()
export class DeliveryReport {
  private readonly logger: Logger;

  constructor(
    private readonly metrics: NodeMetrics,
    @Inject(NODE_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ context: 'Delivery' });
  }

  delivered(attempt: DeliveryAttempt): void {
    this.metrics.deliveryAttempt(attempt.peer, 'delivered');
  }

  failed(failure: FailedDelivery): void {
    this.metrics.deliveryAttempt(failure.peer, failure.outcome);
    const next = failure.outcome === 'retry' ? failure.nextAttemptAt.toISOString() : null;
    const then =
      failure.outcome === 'retry' ? `next try at ${next}` : failure.outcome === 'refused' ? 'refused' : 'given up';
    this.logger.warn(
      {
        peer: failure.peer,
        messageId: String(failure.messageId),
        kind: failure.kind,
        attempt: failure.attempt,
        ...describeFailure(failure.error),
        outcome: failure.outcome,
        nextAttemptAt: next,
      },
      `delivery to ${failure.peer} failed (attempt ${failure.attempt}, ${then})`,
    );
  }
}
