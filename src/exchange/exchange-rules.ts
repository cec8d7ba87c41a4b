/** Rules both sides of the exchange apply: the node of the initiator and that of the responder. */
import { KeyPearsError } from '../protocol/errors.js';
import type { ExchangeInitiation } from '../protocol/wire.js';
import type { StoredExchange } from './exchange.repository.js';

/** Both sides expire an exchange at the same instant: its creation plus the configured lifetime. */
export const expiryOf = (initiation: ExchangeInitiation, ttlSeconds: number): Date =>
  new Date((initiation.createdAt + ttlSeconds) * 1000);

/** True when an exchange that was never confirmed is past its deadline (the sweep may not have marked it yet). */
export const isOverdue = (row: StoredExchange, now: Date): boolean =>
  (row.status === 'pending' || row.status === 'delivered') && row.expiresAt.getTime() <= now.getTime();

/**
 * Refuses to change an exchange that ended (failed, expired, or past its deadline).
 *
 * @throws KeyPearsError `conflict` (failed) or `exchange_expired`.
 */
export function requireWaiting(row: StoredExchange, now: Date): void {
  if (row.status === 'failed') {
    throw new KeyPearsError('conflict', `the exchange failed: ${row.failureReason ?? 'unknown reason'}`);
  }
  if (row.status === 'expired' || row.expiresAt.getTime() <= now.getTime()) {
    throw new KeyPearsError('exchange_expired', 'the exchange expired before it was confirmed');
  }
}

/** Field-by-field equality of two wire messages (stored JSON may order keys differently). */
export function sameMessage(stored: object | null, received: object): boolean {
  if (stored === null) return false;
  const a = stored as Record<string, unknown>;
  const b = received as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}
