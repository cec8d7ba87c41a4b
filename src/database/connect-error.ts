/**
 * What a failed first connection to the node's database means to an operator, in one line:
 * the server is unreachable, refuses the credentials, or has no such database. The message
 * names the server and the database, never the password.
 */
import type { PoolConfig } from 'pg';
import { KeyPearsError } from '../protocol/errors.js';

/** `host:port/database` of a pool config, without credentials. */
export function describeDatabase(config: PoolConfig): string {
  if (config.connectionString !== undefined) {
    try {
      const url = new URL(config.connectionString);
      return `${url.hostname || 'localhost'}:${url.port || '5432'}${url.pathname || '/'}`;
    } catch {
      return 'DATABASE_URL';
    }
  }
  return `${String(config.host ?? 'localhost')}:${config.port ?? 5432}/${config.database ?? ''}`;
}

/** Node's socket error codes that mean nothing answered at the server's address. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * The KeyPearsError for a failed connection to the database at `config` (database_missing,
 * database_unreachable), or undefined for a failure that is not about connecting.
 */
export function connectError(error: unknown, config: PoolConfig): KeyPearsError | undefined {
  const where = describeDatabase(config);
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  if (code === '3D000') {
    return new KeyPearsError(
      'database_missing',
      `the database server at ${where} has no such database (create it with createdb, or correct DATABASE_URL)`,
    );
  }
  if (code === '28P01' || code === '28000') {
    return new KeyPearsError(
      'database_unreachable',
      `the database server at ${where} refused the credentials of DATABASE_URL (${text})`,
    );
  }
  if ((typeof code === 'string' && UNREACHABLE.has(code)) || /timeout|terminated unexpectedly/i.test(text)) {
    return new KeyPearsError('database_unreachable', `cannot reach the database server at ${where} (${text})`);
  }
  return undefined;
}
