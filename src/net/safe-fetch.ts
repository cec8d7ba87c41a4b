/**
 * The one way the node (and the CLI) makes outbound HTTP requests (docs/discovery.md §5): HTTPS only,
 * every address of the host checked by the IP classifier before any connection, the
 * connection pinned to the address that was checked (so a second DNS answer cannot switch
 * it), redirects only to the same origin and re-checked, a deadline for the whole request
 * and a cap on the response body.
 *
 * `dev` (KEYPEARS_DEV=1) also allows plain HTTP and loopback/private addresses, so several
 * nodes can run on one machine. Framework-free.
 */
import dns from 'node:dns';
import net from 'node:net';
import { KeyPearsError, type ErrorCode } from '../protocol/errors.js';
import { readCappedBody } from './capped-body.js';
import { checkDestinationAddress } from './ip-classifier.js';

/** undici is loaded on the first outbound request: a node that never makes one never needs it. */
let undiciModule: Promise<typeof import('undici')> | undefined;
const loadUndici = (): Promise<typeof import('undici')> => (undiciModule ??= import('undici'));

export const DEFAULT_TIMEOUT_MS = 5000;
/** Responses to discovery requests are small; 64 KiB is far above any valid document. */
export const DEFAULT_MAX_BYTES = 64 * 1024;
export const DEFAULT_MAX_REDIRECTS = 3;

/** Resolves a host name to IP address literals. */
export type HostResolver = (host: string, signal: AbortSignal) => Promise<string[]>;

export interface SafeFetchOptions {
  /** KEYPEARS_DEV: allow http: and loopback/private addresses. */
  dev: boolean;
  /** `host:port` nameservers for A/AAAA lookups (KEYPEARS_DNS_SERVERS); empty: the system resolver. */
  dnsServers?: readonly string[];
  /** Replaces the DNS lookup (the CLI and tests inject one); its answers are still checked. */
  resolveHost?: HostResolver;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Deadline for the whole request, DNS and body included. Default 5 s. */
  timeoutMs?: number;
  /** Largest body read; larger responses fail with `response_too_large`. Default 64 KiB. */
  maxBytes?: number;
  /** Same-origin redirects followed for GET. Default 3; 0 refuses every redirect. */
  maxRedirects?: number;
  signal?: AbortSignal;
  /**
   * Keep-alive connections to reuse (one agent per origin and checked address); without it,
   * each request opens a connection of its own and closes it.
   */
  agents?: PeerAgents;
}

export interface SafeResponse {
  status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: Uint8Array;
  /** The URL that answered (after same-origin redirects). */
  url: string;
  /** The IP address connected to. */
  address: string;
  text(): string;
  /** Parses the body as JSON; throws `code` (default `invalid_response`) when it is not JSON. */
  json(code?: ErrorCode): unknown;
}

/** Why a request failed, for callers that treat "nothing there" differently from "try later". */
export type FetchFailure = 'host_not_found' | 'connection_refused' | 'tls' | 'network';

const fetchFailed = (reason: FetchFailure, message: string) => new KeyPearsError('fetch_failed', message, { reason });

/** Checks scheme and shape of a URL the node is about to request. */
export function checkUrl(raw: string | URL, opts: { dev: boolean }): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new KeyPearsError('invalid_request', `not an absolute URL: ${JSON.stringify(String(raw).slice(0, 200))}`);
  }
  if (url.protocol !== 'https:' && !(opts.dev && url.protocol === 'http:')) {
    throw new KeyPearsError(
      'insecure_scheme',
      `refusing ${url.protocol.slice(0, -1)}:// URL ${url.origin}: only https is allowed` +
        (url.protocol === 'http:' ? ' (http only with KEYPEARS_DEV=1)' : ''),
    );
  }
  if (url.username || url.password) throw new KeyPearsError('invalid_request', 'URLs with credentials are not fetched');
  return url;
}

/** URL hostnames keep IPv6 literals in brackets. */
const bareHost = (url: URL): string => (url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname);

/** `promise`, or the abort reason as soon as `signal` aborts (calling `onAbort` first). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal, onAbort?: () => void): Promise<T> {
  if (signal.aborted) {
    onAbort?.();
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort?.();
      reject(signal.reason);
    };
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', abort);
        reject(e);
      },
    );
  });
}

const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);

/**
 * A host resolver over the given nameservers (A and AAAA), or the system resolver when
 * there are none.
 */
export function createHostResolver(dnsServers: readonly string[] = []): HostResolver {
  if (dnsServers.length === 0) {
    return async (host, signal) => {
      const answers = await abortable(dns.promises.lookup(host, { all: true, verbatim: true }), signal);
      return answers.map((a) => a.address);
    };
  }
  return async (host, signal) => {
    const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 2 });
    resolver.setServers([...dnsServers]);
    const settle = (p: Promise<string[]>) =>
      p.then(
        (v) => ({ ok: true as const, v }),
        (e: NodeJS.ErrnoException) => ({ ok: false as const, e }),
      );
    const [v4, v6] = await abortable(
      Promise.all([settle(resolver.resolve4(host)), settle(resolver.resolve6(host))]),
      signal,
      () => resolver.cancel(),
    );
    const found = [...(v4.ok ? v4.v : []), ...(v6.ok ? v6.v : [])];
    if (found.length > 0) return found;
    const failures = [v4, v6].filter((r) => !r.ok).map((r) => (r as { e: NodeJS.ErrnoException }).e);
    const hard = failures.find((e) => !NOT_FOUND_CODES.has(String(e.code)));
    if (hard) throw hard;
    const error = new Error(`${host} has no A or AAAA record`) as NodeJS.ErrnoException;
    error.code = 'ENOTFOUND';
    throw error;
  };
}

/**
 * Resolves the URL's host and checks every address it has; no connection is made. An IP
 * literal is checked as it is. A name with any forbidden address is refused as a whole.
 *
 * @returns the address to connect to.
 * @throws KeyPearsError `destination_forbidden`, or `fetch_failed` (`host_not_found`, `network`).
 */
export async function resolveDestination(
  url: URL,
  opts: { dev: boolean; resolveHost: HostResolver; signal: AbortSignal },
): Promise<string> {
  const host = bareHost(url);
  if (net.isIP(host)) {
    checkDestinationAddress(host, { dev: opts.dev });
    return host;
  }
  let addresses: string[];
  try {
    addresses = await opts.resolveHost(host, opts.signal);
  } catch (e) {
    if (opts.signal.aborted) throw e;
    const code = String((e as NodeJS.ErrnoException).code ?? '');
    if (NOT_FOUND_CODES.has(code)) throw fetchFailed('host_not_found', `${host} does not resolve to an address`);
    throw fetchFailed('network', `could not resolve ${host}: ${code || (e as Error).message}`);
  }
  if (addresses.length === 0) throw fetchFailed('host_not_found', `${host} does not resolve to an address`);
  for (const address of addresses) checkDestinationAddress(address, { dev: opts.dev, host });
  return addresses[0];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Where a redirect may go: only the same origin (scheme, host and port), so a server cannot
 * bounce the node to another host, a downgraded scheme or another port.
 *
 * @throws KeyPearsError `redirect_refused`.
 */
export function checkRedirect(from: URL, location: string | undefined): URL {
  if (!location) throw new KeyPearsError('redirect_refused', `${from.origin} answered a redirect without a Location`);
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    throw new KeyPearsError('redirect_refused', `${from.origin} redirected to an invalid URL`);
  }
  if (target.origin !== from.origin || target.username || target.password) {
    throw new KeyPearsError(
      'redirect_refused',
      `${from.origin} redirected to ${target.origin}: redirects to another host, port or scheme are not followed`,
    );
  }
  return target;
}

function mapError(error: unknown, url: URL, timeoutMs: number, timedOut: boolean): unknown {
  if (error instanceof KeyPearsError) return error;
  if (timedOut) return new KeyPearsError('fetch_timeout', `${url.origin} did not answer within ${timeoutMs} ms`);
  const code = String((error as { code?: unknown })?.code ?? '');
  const cause = String(((error as { cause?: { code?: unknown } })?.cause?.code as string | undefined) ?? '');
  // undici's ResponseExceededMaxSizeError, by its documented code.
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return new KeyPearsError('response_too_large', `${url.origin} sent a response larger than allowed`);
  }
  if (code === 'ECONNREFUSED' || cause === 'ECONNREFUSED') {
    return fetchFailed('connection_refused', `${url.origin} refused the connection`);
  }
  if (/^(ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|ERR_SSL)/.test(code) || /^ERR_SSL/.test(cause)) {
    return fetchFailed('tls', `TLS with ${url.origin} failed (${code})`);
  }
  return fetchFailed(
    'network',
    `request to ${url.origin} failed (${code || cause || (error as Error)?.message || 'error'})`,
  );
}

/** A connector lookup that only ever answers the checked address. */
function pinnedLookup(address: string) {
  const family = net.isIP(address);
  return (
    _hostname: string,
    options: { all?: boolean },
    callback: (
      err: Error | null,
      address: string | Array<{ address: string; family: number }>,
      family?: number,
    ) => void,
  ) => {
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

async function fetchOnce(
  url: URL,
  address: string,
  opts: SafeFetchOptions & { signal: AbortSignal; maxBytes: number; timeoutMs: number },
): Promise<{ status: number; headers: Record<string, string>; body: Uint8Array }> {
  const { Agent, request } = await loadUndici();
  const agent = opts.agents
    ? await opts.agents.get(url.origin, address)
    : new Agent({
        connect: { lookup: pinnedLookup(address), timeout: opts.timeoutMs } as Record<string, unknown>,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
        maxResponseSize: opts.maxBytes,
        connections: 1,
        pipelining: 0,
      });
  try {
    const res = await request(url, {
      dispatcher: agent,
      method: opts.method ?? 'GET',
      headers: { 'user-agent': 'keypears-node', accept: 'application/json', ...opts.headers },
      body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : Buffer.from(opts.body),
      signal: opts.signal,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const body = await readCappedBody(res.body as AsyncIterable<Uint8Array>, {
      declaredLength: headers['content-length'],
      maxBytes: opts.maxBytes,
      discard: () => res.body.destroy(),
      tooLarge: (declared) =>
        new KeyPearsError(
          'response_too_large',
          declared === undefined
            ? `${url.origin} sent more than ${opts.maxBytes} bytes`
            : `${url.origin} announced ${declared} bytes; the limit is ${opts.maxBytes}`,
        ),
    });
    return { status: res.statusCode, headers, body };
  } finally {
    if (!opts.agents) void agent.destroy().catch(() => undefined);
  }
}

export interface PeerAgentLimits {
  /** Origins (with their checked address) that keep an agent; the least recently used goes first. */
  maxPeers: number;
  /** Connections one agent opens to its origin at most. */
  connectionsPerPeer: number;
  /** How long an idle connection is kept open. */
  keepAliveMs: number;
  /** Deadline of a new connection, TLS included. */
  connectTimeoutMs: number;
}

/**
 * Keep-alive connections to other nodes: one undici agent per origin and checked address, its
 * connections pinned to that address like every request of safeFetch, at most
 * `connectionsPerPeer` each, for at most `maxPeers` origins (least recently used closed first).
 */
export class PeerAgents {
  private readonly agents = new Map<string, import('undici').Agent>();

  constructor(private readonly limits: PeerAgentLimits) {}

  async get(origin: string, address: string): Promise<import('undici').Agent> {
    const { Agent } = await loadUndici();
    const key = `${origin} ${address}`;
    let agent = this.agents.get(key);
    if (agent) {
      this.agents.delete(key); // most recently used last
    } else {
      agent = new Agent({
        connect: { lookup: pinnedLookup(address), timeout: this.limits.connectTimeoutMs } as Record<string, unknown>,
        connections: this.limits.connectionsPerPeer,
        keepAliveTimeout: this.limits.keepAliveMs,
        keepAliveMaxTimeout: this.limits.keepAliveMs,
        pipelining: 1,
      });
    }
    this.agents.set(key, agent);
    for (const [oldest, old] of this.agents) {
      if (this.agents.size <= this.limits.maxPeers) break;
      this.agents.delete(oldest);
      void old.close().catch(() => undefined);
    }
    return agent;
  }

  /** Agents currently kept (for tests and metrics). */
  get size(): number {
    return this.agents.size;
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.destroy().catch(() => undefined)));
  }
}

/**
 * Fetches a URL under the rules above. Non-2xx statuses are returned, not thrown.
 *
 * @throws KeyPearsError `insecure_scheme`, `destination_forbidden`, `redirect_refused`,
 *   `response_too_large`, `fetch_timeout`, or `fetch_failed` (with `details.reason`).
 * @example const res = await safeFetch('https://kp.example.com/.well-known/keypears.json', { dev: false });
 */
export async function safeFetch(rawUrl: string | URL, options: SafeFetchOptions): Promise<SafeResponse> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const resolveHost = options.resolveHost ?? createHostResolver(options.dnsServers);
  const method = options.method ?? 'GET';

  let url = checkUrl(rawUrl, options);
  for (let hop = 0; ; hop++) {
    try {
      const address = await resolveDestination(url, { dev: options.dev, resolveHost, signal });
      const res = await fetchOnce(url, address, { ...options, signal, maxBytes, timeoutMs });
      if (REDIRECTS.has(res.status)) {
        const target = checkRedirect(url, res.headers.location);
        if (method !== 'GET')
          throw new KeyPearsError('redirect_refused', `${url.origin} redirected a ${method} request`);
        if (hop >= maxRedirects)
          throw new KeyPearsError('redirect_refused', `${url.origin}: more than ${maxRedirects} redirects`);
        url = target;
        continue;
      }
      const body = res.body;
      const finalUrl = url.href;
      return {
        ...res,
        url: finalUrl,
        address,
        text: () => new TextDecoder('utf-8', { fatal: false }).decode(body),
        json(code: ErrorCode = 'invalid_response') {
          try {
            return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)) as unknown;
          } catch {
            throw new KeyPearsError(code, `${finalUrl} did not answer with JSON`);
          }
        },
      };
    } catch (e) {
      // A caller's own deadline (a TimeoutError reason) is a timeout too.
      const callerTimedOut =
        options.signal?.aborted === true && (options.signal.reason as Error)?.name === 'TimeoutError';
      throw mapError(e, url, timeoutMs, timeout.aborted || callerTimedOut);
    }
  }
}

/** `max-age` of a Cache-Control header, in seconds, when present and well-formed. */
export function cacheControlMaxAge(header: string | undefined): number | undefined {
  if (!header) return undefined;
  let maxAge: number | undefined;
  for (const directive of header.split(',')) {
    const [name, value] = directive.trim().split('=');
    const lower = name.toLowerCase();
    if (lower === 'no-store' || lower === 'no-cache') return 0;
    if (lower === 'max-age' && value !== undefined && /^\d{1,10}$/.test(value.trim())) maxAge = Number(value.trim());
  }
  return maxAge;
}
