/**
 * The node's configuration (README, "Configuration"), read from the environment once at start-up and
 * validated as a whole. This is the only place that looks at environment variables; the
 * rest of the node receives an `AppConfig` by injection.
 */
import path from 'node:path';
import { parseDomain } from '../protocol/address.js';
import { KeyPearsError } from '../protocol/errors.js';

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

export type Env = Record<string, string | undefined>;

class ConfigError extends KeyPearsError {
  constructor(variable: string, problem: string) {
    super('invalid_config', `${variable}: ${problem}`, { variable });
  }
}

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function flag(env: Env, name: string): boolean {
  const raw = nonEmpty(env, name);
  if (raw === undefined || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new ConfigError(name, `must be 1 or 0, got "${raw}"`);
}

/** Parses `host:port,host:port`; IPv6 hosts in brackets (`[::1]:53`). Shared with the CLI. */
export function parseDnsServers(raw: string | undefined, name = 'KEYPEARS_DNS_SERVERS'): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const item = entry.trim();
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(item);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      throw new ConfigError(name, `"${item}" is not host:port (IPv6 as [addr]:port)`);
    }
    return item;
  });
}

/** `KEYPEARS_DEV`, parsed the same way by the node and the CLI. */
export const parseDevFlag = (env: Env): boolean => flag(env, 'KEYPEARS_DEV');

/** `KEYPEARS_DEV_WELL_KNOWN_PORT`, only with KEYPEARS_DEV=1. Shared with the CLI. */
export function parseDevWellKnownPort(env: Env): number | undefined {
  if (nonEmpty(env, 'KEYPEARS_DEV_WELL_KNOWN_PORT') === undefined) return undefined;
  if (!flag(env, 'KEYPEARS_DEV')) {
    throw new ConfigError('KEYPEARS_DEV_WELL_KNOWN_PORT', 'is a development setting and needs KEYPEARS_DEV=1');
  }
  return integer(env, 'KEYPEARS_DEV_WELL_KNOWN_PORT', 0, 1, 65535);
}

/** http:// is accepted (it is the default for a local node); peers outside dev mode will not federate with it. */
function parsePublicUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('KEYPEARS_PUBLIC_URL', `"${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('KEYPEARS_PUBLIC_URL', 'must be an https:// (or, for local use, http://) URL');
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError('KEYPEARS_PUBLIC_URL', 'must not contain credentials, a query or a fragment');
  }
  return url.href.replace(/\/+$/, '');
}

export function loadConfig(env: Env): AppConfig {
  const dev = flag(env, 'KEYPEARS_DEV');
  const host = nonEmpty(env, 'HOST') ?? '127.0.0.1';
  const port = integer(env, 'PORT', 4273, 0, 65535);

  const databaseUrl = nonEmpty(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      'DATABASE_URL',
      'must start with postgresql:// (or leave it unset for the embedded database)',
    );
  }

  const domains = (nonEmpty(env, 'KEYPEARS_DOMAINS') ?? 'localhost').split(',').map((d) => {
    try {
      return parseDomain(d.trim());
    } catch (e) {
      throw new ConfigError('KEYPEARS_DOMAINS', `"${d.trim()}": ${(e as Error).message}`);
    }
  });

  const registration = nonEmpty(env, 'KEYPEARS_REGISTRATION') ?? (dev ? 'open' : 'invite');
  if (registration !== 'open' && registration !== 'invite' && registration !== 'closed') {
    throw new ConfigError('KEYPEARS_REGISTRATION', `must be open, invite or closed, got "${registration}"`);
  }

  const logLevel = nonEmpty(env, 'LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of fatal, error, warn, info, debug, trace, silent`);
  }

  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  return {
    databaseUrl,
    dataDir: path.resolve(nonEmpty(env, 'KEYPEARS_DATA_DIR') ?? './.keypears-node'),
    host,
    port,
    publicUrl: parsePublicUrl(nonEmpty(env, 'KEYPEARS_PUBLIC_URL') ?? `http://${hostForUrl}:${port}`),
    domains: [...new Set(domains)],
    dnsServers: parseDnsServers(nonEmpty(env, 'KEYPEARS_DNS_SERVERS')),
    dev,
    devWellKnownPort: parseDevWellKnownPort(env),
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
