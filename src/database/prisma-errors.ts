/** Recognises the Prisma and pg errors that repositories and the error boundary translate into the project's own codes. */
import { Prisma } from '../generated/prisma/client.js';

/** A unique constraint (or primary key) was violated. */
export const isUniqueViolation = (e: unknown): boolean =>
  e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002';

/** Socket errors of a connection to the database server that is refused, cut or unreachable. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'ENOENT', // the embedded database's socket file is gone
]);
/**
 * SQLSTATEs of a server that cannot serve now: class 08 (connection exception), shutting
 * down or starting up (57P01-57P03), too many connections (53300).
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
/**
 * Prisma's own: server unreachable or closed the connection (P1001, P1002, P1008, P1017),
 * no connection from the pool in time (P2024), a transaction that could not start or finish
 * within its limits (P2028, PrismaService's transactionOptions).
 */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028']);
/** pg and pg-pool report these without a code. */
const PG_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection terminated due to connection timeout)/;
/** The pg driver adapter's kinds for the same conditions. */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/**
 * True when `e` (or an error it wraps) says the database cannot be reached or cannot serve
 * now, rather than that a query is wrong: the error boundary answers those 503
 * `database_unavailable` on every route.
 */
export function isDatabaseUnavailable(e: unknown): boolean {
  // The error, what it wraps (`cause`), and what Prisma's driver adapter reports under `meta`.
  const pending: unknown[] = [e];
  for (let seen = 0; pending.length > 0 && seen < 12; seen++) {
    const error = pending.shift();
    if (!error || typeof error !== 'object') continue;
    const { code, kind, originalCode, message, cause, meta } = error as Record<string, unknown>;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || PRISMA_CODES.has(code))) return true;
    for (const state of [code, originalCode]) {
      if (typeof state === 'string' && UNAVAILABLE_SQLSTATE.test(state)) return true;
    }
    if (typeof kind === 'string' && ADAPTER_KINDS.has(kind)) return true;
    if (typeof message === 'string') {
      if (PG_MESSAGES.test(message)) return true;
      // Prisma's "Database error. Code: `57P01`" names the server's SQLSTATE in its text only.
      const state = /Database error\. Code: `([0-9A-Z]{5})`/.exec(message)?.[1];
      if (state && UNAVAILABLE_SQLSTATE.test(state)) return true;
    }
    pending.push(cause, (meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError);
  }
  return false;
}
