/**
 * The node's configuration (README, "Configuration"), read from the environment once at
 * start-up and validated as a whole: main.ts and the operator commands pass `process.env`
 * in here, and the rest of the node receives an `AppConfig` by injection. The settings the
 * CLI reads too are parsed by src/net/settings.ts.
 */
import path from 'node:path';
import { parseDomain } from '../protocol/address.js';
import { normalizeNodeUrl } from '../protocol/discovery.js';
import { MAX_BATCH_MESSAGES } from '../protocol/exchange-api.js';
import { classifyAddress } from '../net/ip-classifier.js';
import { flag, integer, nonEmpty, parseDiscoverySettings, SettingError, type Env } from '../net/settings.js';
import { parseTrustedProxies } from '../net/source-address.js';

export type RegistrationPolicy = 'open' | 'invite' | 'closed';

/**
 * Where GET /api/metrics is served (docs/operators.md, "Metrics"): with `port`, on a listener
 * of its own (and not on the public one); else, with `token`, on the public listener to a
 * scrape that presents the token; else nowhere.
 */
export interface MetricsSettings {
  /** KEYPEARS_METRICS_PORT: the metrics listener's port (0: any free one); undefined: none. */
  port: number | undefined;
  /** KEYPEARS_METRICS_HOST: the metrics listener's address; loopback unless a token is set. */
  host: string;
  /** KEYPEARS_METRICS_TOKEN: the bearer token a scrape must present; undefined: none asked. */
  token: string | undefined;
}

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
  /** How long delivered and given-up outbox messages are kept before the worker deletes them. */
  outboxRetentionSeconds: number;
  /**
   * Deadline of one outbound federation request, discovery of the peer included. The outbox
   * lease must be longer (loadConfig refuses one that is not).
   */
  federationTimeoutMs: number;
  /** Federation requests in flight to one peer at a time (each may carry several messages). */
  deliveryConcurrencyPerPeer: number;
  /**
   * Most messages the outbox puts into one federation request to a peer that takes batches
   * (docs/protocol.md §9.5); 1 sends one request per message, to every peer.
   */
  federationBatchMax: number;
  /** Initiations one local sender may have waiting for delivery (pending) at a time. */
  outstandingInitiationsPerSender: number;
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
  metrics: MetricsSettings;
  /**
   * KEYPEARS_TRUST_PROXY: the reverse proxies (addresses, CIDR ranges, or `loopback`,
   * `linklocal`, `uniquelocal`) whose X-Forwarded-For names the client; empty: none, the
   * connection's peer is the client.
   */
  trustProxy: string[];
  /** KEYPEARS_IPV6_SOURCE_PREFIX: IPv6 sources are counted per network of this prefix length. */
  ipv6SourcePrefix: number;
  /** KEYPEARS_REQUEST_TIMEOUT_MS: the whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** KEYPEARS_HEADERS_TIMEOUT_MS: the request's headers must arrive within this. */
  headersTimeoutMs: number;
  /** KEYPEARS_KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** KEYPEARS_MAX_CONNECTIONS: open connections the public listener accepts at once. */
  maxConnections: number;
}

/** http:// is accepted (it is the default for a local node); peers outside dev mode will not federate with it. */
function parsePublicUrl(raw: string): string {
  try {
    return normalizeNodeUrl(raw, { allowHttp: true });
  } catch (e) {
    throw new SettingError('KEYPEARS_PUBLIC_URL', (e as Error).message);
  }
}

/** RFC 6750's token characters; long enough that guessing is hopeless. */
const METRICS_TOKEN_RE = /^[A-Za-z0-9._~+/-]{32,256}=*$/;

const isLoopbackHost = (host: string): boolean => host === 'localhost' || classifyAddress(host).class === 'loopback';

function parseMetricsSettings(env: Env, port: number): MetricsSettings {
  const token = nonEmpty(env, 'KEYPEARS_METRICS_TOKEN');
  if (token !== undefined && !METRICS_TOKEN_RE.test(token)) {
    throw new SettingError(
      'KEYPEARS_METRICS_TOKEN',
      'must be 32 to 256 characters of A-Z, a-z, 0-9 and ._~+/- (e.g. openssl rand -hex 32)',
    );
  }
  const rawHost = nonEmpty(env, 'KEYPEARS_METRICS_HOST');
  const metricsPort =
    nonEmpty(env, 'KEYPEARS_METRICS_PORT') === undefined
      ? undefined
      : integer(env, 'KEYPEARS_METRICS_PORT', 0, 0, 65535);
  if (metricsPort === undefined && rawHost !== undefined) {
    throw new SettingError('KEYPEARS_METRICS_HOST', 'needs KEYPEARS_METRICS_PORT (the metrics listener it is for)');
  }
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) {
    throw new SettingError('KEYPEARS_METRICS_PORT', `must differ from PORT (${port}): it is a listener of its own`);
  }
  const host = rawHost ?? '127.0.0.1';
  if (metricsPort !== undefined && token === undefined && !isLoopbackHost(host)) {
    throw new SettingError(
      'KEYPEARS_METRICS_HOST',
      `${host} is not a loopback address: set KEYPEARS_METRICS_TOKEN too, or keep the metrics on 127.0.0.1`,
    );
  }
  return { port: metricsPort, host, token };
}

function parseTrustProxySetting(env: Env): string[] {
  const raw = nonEmpty(env, 'KEYPEARS_TRUST_PROXY');
  if (raw === undefined) return [];
  try {
    return parseTrustedProxies(raw);
  } catch (e) {
    throw new SettingError('KEYPEARS_TRUST_PROXY', (e as Error).message);
  }
}

function parseTimeouts(env: Env): Pick<AppConfig, 'requestTimeoutMs' | 'headersTimeoutMs' | 'keepAliveTimeoutMs'> {
  const requestTimeoutMs = integer(env, 'KEYPEARS_REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000);
  const headersTimeoutMs = integer(env, 'KEYPEARS_HEADERS_TIMEOUT_MS', 10_000, 1000, 600_000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new SettingError(
      'KEYPEARS_HEADERS_TIMEOUT_MS',
      `must not exceed KEYPEARS_REQUEST_TIMEOUT_MS (${requestTimeoutMs}): the headers are part of the request`,
    );
  }
  const keepAliveTimeoutMs = integer(env, 'KEYPEARS_KEEP_ALIVE_TIMEOUT_MS', 72_000, 1000, 600_000);
  return { requestTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs };
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

  const federationTimeoutMs = integer(env, 'KEYPEARS_FEDERATION_TIMEOUT_MS', 10_000, 500, 120_000);
  const outboxLeaseMs = integer(env, 'KEYPEARS_OUTBOX_LEASE_MS', 30_000, 1000, 3_600_000);
  if (outboxLeaseMs <= federationTimeoutMs) {
    throw new SettingError(
      'KEYPEARS_OUTBOX_LEASE_MS',
      `must be longer than KEYPEARS_FEDERATION_TIMEOUT_MS (${federationTimeoutMs} ms), got ${outboxLeaseMs}: ` +
        'a message whose lease ran out while its request was still in flight would be sent twice at once',
    );
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
    outboxLeaseMs,
    outboxRetentionSeconds: integer(env, 'KEYPEARS_OUTBOX_RETENTION_SECONDS', 7 * 86_400, 60, 365 * 86_400),
    federationTimeoutMs,
    deliveryConcurrencyPerPeer: integer(env, 'KEYPEARS_DELIVERY_CONCURRENCY_PER_PEER', 4, 1, 64),
    federationBatchMax: integer(env, 'KEYPEARS_FEDERATION_BATCH_MAX', MAX_BATCH_MESSAGES, 1, MAX_BATCH_MESSAGES),
    outstandingInitiationsPerSender: integer(env, 'KEYPEARS_OUTSTANDING_INITIATIONS_PER_SENDER', 100, 1, 1_000_000),
    exchangeLimitPerPair: integer(env, 'KEYPEARS_EXCHANGE_LIMIT_PER_PAIR', 30, 1, 1_000_000),
    exchangeLimitPerOrigin: integer(env, 'KEYPEARS_EXCHANGE_LIMIT_PER_ORIGIN', 600, 1, 1_000_000),
    claimLimitPerPair: integer(env, 'KEYPEARS_CLAIM_LIMIT_PER_PAIR', 10, 1, 1_000_000),
    claimLimitPerSource: integer(env, 'KEYPEARS_CLAIM_LIMIT_PER_SOURCE', 60, 1, 1_000_000),
    resolveLimitPerSource: integer(env, 'KEYPEARS_RESOLVE_LIMIT_PER_SOURCE', 60, 1, 1_000_000),
    registrationLimitPerSource: integer(env, 'KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE', 20, 1, 1_000_000),
    metrics: parseMetricsSettings(env, port),
    trustProxy: parseTrustProxySetting(env),
    ipv6SourcePrefix: integer(env, 'KEYPEARS_IPV6_SOURCE_PREFIX', 64, 32, 128),
    ...parseTimeouts(env),
    maxConnections: integer(env, 'KEYPEARS_MAX_CONNECTIONS', 1024, 1, 1_000_000),
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
