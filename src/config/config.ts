/**
 * The node's configuration (README, "Configuration"), read from the environment once at
 * start-up and validated as a whole: main.ts and the operator commands pass `process.env`
 * in here, and the rest of the node receives an `AppConfig` by injection. The settings the
 * CLI reads too are parsed by src/net/settings.ts.
 */
import path from 'node:path';
import { parseDomain } from '../protocol/address.js';
import { normalizeNodeUrl } from '../protocol/discovery.js';
import { flag, integer, nonEmpty, parseDiscoverySettings, SettingError, type Env } from '../net/settings.js';

export type RegistrationPolicy = 'open' | 'invite' | 'closed';

export interface AppConfig {
  /** PostgreSQL URL; undefined means the embedded database under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  host: string;
  port: number;
  /** Base URL without a trailing slash, e.g. `https://kp.example.com`. */
  publicUrl: string;
  /** Canonical (ASCII, lower-case) domains this node serves. */
  domains: string[];
  /** `host:port` nameservers for discovery; empty means the system resolver. */
  dnsServers: string[];
  /** Allows plain HTTP and loopback/private peers. Development and tests only. */
  dev: boolean;
  /**
   * Development only (KEYPEARS_DEV_WELL_KNOWN_PORT): discovery asks
   * `http://<domain>:<port>/.well-known/keypears.json` instead of `https://<domain>/...`.
   */
  devWellKnownPort: number | undefined;
  registration: RegistrationPolicy;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** How long the outbox keeps retrying a delivery before giving up. */
  deliveryHorizonSeconds: number;
  /** How long an exchange waits to be accepted. */
  exchangeTtlSeconds: number;
  /** Period of the outbox worker's poll when idle. */
  outboxPollMs: number;
  /** Upper bound of the outbox's exponential backoff between two attempts at one message. */
  outboxBackoffMaxMs: number;
  /**
   * How long a claimed outbox message is reserved for the worker that claimed it. Longer than
   * a federation request's deadline, so two replicas never send one message at the same time
   * (a second delivery after a crash is harmless: receivers are idempotent).
   */
  outboxLeaseMs: number;
  /** Exchange initiations one sender address may send to one recipient per hour. */
  exchangeLimitPerPair: number;
  /** Federation messages one origin node may deliver per minute. */
  exchangeLimitPerOrigin: number;
  /** Prekey bundle claims one requester may make for one target address per hour. */
  claimLimitPerPair: number;
  /** Prekey bundle claims one source IP address may make per minute. */
  claimLimitPerSource: number;
  /** Resolves of remote addresses that need network work (discovery or identity fetch) per source IP per minute. */
  resolveLimitPerSource: number;
  /** Registration attempts one source IP address may make per hour. */
  registrationLimitPerSource: number;
}

/** http:// is accepted (it is the default for a local node); peers outside dev mode will not federate with it. */
function parsePublicUrl(raw: string): string {
  try {
    return normalizeNodeUrl(raw, { allowHttp: true });
  } catch (e) {
    throw new SettingError('KEYPEARS_PUBLIC_URL', (e as Error).message);
  }
}

export function loadConfig(env: Env): AppConfig {
  const dev = flag(env, 'KEYPEARS_DEV');
  const host = nonEmpty(env, 'HOST') ?? '127.0.0.1';
  const port = integer(env, 'PORT', 4273, 0, 65535);

  const databaseUrl = nonEmpty(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new SettingError(
      'DATABASE_URL',
      'must start with postgresql:// (or leave it unset for the embedded database)',
    );
  }

  const domains = (nonEmpty(env, 'KEYPEARS_DOMAINS') ?? 'localhost').split(',').map((d) => {
    try {
      return parseDomain(d.trim());
    } catch (e) {
      throw new SettingError('KEYPEARS_DOMAINS', `"${d.trim()}": ${(e as Error).message}`);
    }
  });

  const registration = nonEmpty(env, 'KEYPEARS_REGISTRATION') ?? (dev ? 'open' : 'invite');
  if (registration !== 'open' && registration !== 'invite' && registration !== 'closed') {
    throw new SettingError('KEYPEARS_REGISTRATION', `must be open, invite or closed, got "${registration}"`);
  }

  const logLevel = nonEmpty(env, 'LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new SettingError('LOG_LEVEL', `must be one of fatal, error, warn, info, debug, trace, silent`);
  }

  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  return {
    databaseUrl,
    dataDir: path.resolve(nonEmpty(env, 'KEYPEARS_DATA_DIR') ?? './.keypears-node'),
    host,
    port,
    publicUrl: parsePublicUrl(nonEmpty(env, 'KEYPEARS_PUBLIC_URL') ?? `http://${hostForUrl}:${port}`),
    domains: [...new Set(domains)],
    ...parseDiscoverySettings(env),
    registration,
    logLevel: logLevel as AppConfig['logLevel'],
    deliveryHorizonSeconds: integer(env, 'KEYPEARS_DELIVERY_HORIZON_SECONDS', 86_400, 1, 30 * 86_400),
    exchangeTtlSeconds: integer(env, 'KEYPEARS_EXCHANGE_TTL_SECONDS', 7 * 86_400, 60, 365 * 86_400),
    outboxPollMs: integer(env, 'KEYPEARS_OUTBOX_POLL_MS', 1000, 10, 60_000),
    outboxBackoffMaxMs: integer(env, 'KEYPEARS_OUTBOX_BACKOFF_MAX_MS', 600_000, 100, 86_400_000),
    outboxLeaseMs: integer(env, 'KEYPEARS_OUTBOX_LEASE_MS', 30_000, 1000, 3_600_000),
    exchangeLimitPerPair: integer(env, 'KEYPEARS_EXCHANGE_LIMIT_PER_PAIR', 30, 1, 1_000_000),
    exchangeLimitPerOrigin: integer(env, 'KEYPEARS_EXCHANGE_LIMIT_PER_ORIGIN', 600, 1, 1_000_000),
    claimLimitPerPair: integer(env, 'KEYPEARS_CLAIM_LIMIT_PER_PAIR', 10, 1, 1_000_000),
    claimLimitPerSource: integer(env, 'KEYPEARS_CLAIM_LIMIT_PER_SOURCE', 60, 1, 1_000_000),
    resolveLimitPerSource: integer(env, 'KEYPEARS_RESOLVE_LIMIT_PER_SOURCE', 60, 1, 1_000_000),
    registrationLimitPerSource: integer(env, 'KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE', 20, 1, 1_000_000),
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
