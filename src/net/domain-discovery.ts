/**
 * Which node serves a domain (docs/discovery.md): the `_keypears.<domain>` TXT
 * record and `https://<domain>/.well-known/keypears.json` are asked at the same time, then
 * the node's own document is fetched and must list the domain. Used by the node (behind its
 * PostgreSQL cache) and by the CLI. Framework-free.
 */
import {
  nodeDocumentUrl,
  parseDomainPointer,
  parseNodeDocument,
  requireDomainListed,
  selectTxtRecord,
  txtRecordName,
  WELL_KNOWN_PATH,
  type NodeDocument,
} from '../protocol/discovery.js';
import { KeyPearsError } from '../protocol/errors.js';
import { lookupTxt as defaultLookupTxt, type TxtAnswer } from './dns-txt.js';
import { cacheControlMaxAge, safeFetch, type HostResolver, type SafeResponse } from './safe-fetch.js';

/** Bounds of a positive answer's lifetime in any cache. */
export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 24 * 3600;
/** Lifetime when neither DNS nor HTTP said anything. */
export const DEFAULT_TTL_SECONDS = 3600;
/** How long to keep waiting for the other source once one of them has found a node. */
export const DEFAULT_GRACE_MS = 1000;
/**
 * One deadline for a whole discovery: the TXT lookup (its TCP retry included), the
 * well-known fetch and the node document's fetch all end by then.
 */
export const DEFAULT_DISCOVERY_DEADLINE_MS = 8000;

export type DiscoveryMethod = 'dns' | 'well-known' | 'both';

export interface DiscoveryOptions {
  /** KEYPEARS_DEV: http and loopback/private nodes allowed. */
  dev: boolean;
  /** KEYPEARS_DNS_SERVERS (TXT, A and AAAA lookups); empty: the system's nameservers. */
  dnsServers?: readonly string[];
  /**
   * Development only (KEYPEARS_DEV_WELL_KNOWN_PORT): ask `http://<domain>:<port>` for the
   * domain's well-known document instead of `https://<domain>`, so a test web server on
   * loopback can play the domain's website. Ignored unless `dev`.
   */
  devWellKnownPort?: number;
  /** Per-request deadline (default 5 s). */
  timeoutMs?: number;
  /** Deadline of the whole discovery (default 8 s), whatever each step's own. */
  deadlineMs?: number;
  /** Ends the discovery early (with its deadline, it is passed to every step). */
  signal?: AbortSignal;
  graceMs?: number;
  resolveHost?: HostResolver;
  lookupTxt?: (name: string, opts: { dnsServers?: readonly string[]; signal?: AbortSignal }) => Promise<TxtAnswer>;
}

export interface DiscoveredDomain {
  domain: string;
  /** Normalised base URL of the node. */
  nodeUrl: string;
  /** The node's validated document; it lists `domain`. */
  document: NodeDocument;
  method: DiscoveryMethod;
  /** How long the answer may be cached, within [60 s, 24 h]. */
  ttlSeconds: number;
}

type Outcome =
  | { kind: 'found'; nodeUrl: string; ttlSeconds?: number }
  | { kind: 'none' }
  /** The source answered something wrong; fatal for DNS, for the well-known only when nothing else is found. */
  | { kind: 'invalid'; error: KeyPearsError }
  /** The source could not be asked (timeout, SERVFAIL, 5xx, ...). */
  | { kind: 'failed'; error: KeyPearsError };

const asError = (e: unknown): KeyPearsError =>
  e instanceof KeyPearsError ? e : new KeyPearsError('discovery_unavailable', (e as Error)?.message ?? String(e));

export const clampTtl = (seconds: number | undefined): number =>
  Math.min(MAX_TTL_SECONDS, Math.max(MIN_TTL_SECONDS, seconds ?? DEFAULT_TTL_SECONDS));

async function askDns(domain: string, opts: DiscoveryOptions): Promise<Outcome> {
  let answer: TxtAnswer;
  try {
    answer = await (opts.lookupTxt ?? defaultLookupTxt)(txtRecordName(domain), {
      dnsServers: opts.dnsServers,
      signal: opts.signal,
    });
  } catch (e) {
    return { kind: 'failed', error: asError(e) };
  }
  if (answer.kind === 'none') return { kind: 'none' };
  try {
    const nodeUrl = selectTxtRecord(answer.records, domain, { allowHttp: opts.dev });
    return nodeUrl === undefined ? { kind: 'none' } : { kind: 'found', nodeUrl, ttlSeconds: answer.ttlSeconds };
  } catch (e) {
    return { kind: 'invalid', error: asError(e) };
  }
}

/** The URL of a domain's own well-known document. */
export function domainWellKnownUrl(domain: string, opts: Pick<DiscoveryOptions, 'dev' | 'devWellKnownPort'>): string {
  return opts.dev && opts.devWellKnownPort
    ? `http://${domain}:${opts.devWellKnownPort}${WELL_KNOWN_PATH}`
    : `https://${domain}${WELL_KNOWN_PATH}`;
}

/** Failures that mean "there is nothing there" rather than "try again later". */
const ABSENT_REASONS = new Set(['host_not_found', 'connection_refused']);

async function askWellKnown(domain: string, opts: DiscoveryOptions): Promise<Outcome> {
  let res: SafeResponse;
  try {
    res = await safeFetch(domainWellKnownUrl(domain, opts), fetchOptions(opts));
  } catch (e) {
    const error = asError(e);
    if (error.code === 'fetch_failed' && ABSENT_REASONS.has(String(error.details?.reason))) return { kind: 'none' };
    if (error.code === 'fetch_failed' || error.code === 'fetch_timeout') return { kind: 'failed', error };
    return { kind: 'invalid', error };
  }
  if (res.status >= 500) {
    return { kind: 'failed', error: new KeyPearsError('discovery_unavailable', `${res.url} answered ${res.status}`) };
  }
  if (res.status !== 200) return { kind: 'none' };
  try {
    const nodeUrl = parseDomainPointer(res.json('well_known_invalid'), domain, { allowHttp: opts.dev });
    return { kind: 'found', nodeUrl, ttlSeconds: cacheControlMaxAge(res.headers['cache-control']) };
  } catch (e) {
    return { kind: 'invalid', error: asError(e) };
  }
}

const fetchOptions = (opts: DiscoveryOptions) => ({
  dev: opts.dev,
  dnsServers: opts.dnsServers,
  resolveHost: opts.resolveHost,
  timeoutMs: opts.timeoutMs,
  signal: opts.signal,
});

/**
 * Waits for both sources, except that once one has found a node the other gets only
 * `graceMs` more (a slow website must not hold up a domain with a good TXT record).
 */
async function askBoth(domain: string, opts: DiscoveryOptions): Promise<[Outcome | undefined, Outcome | undefined]> {
  const dnsP = askDns(domain, opts);
  const wkP = askWellKnown(domain, opts);
  const first = await Promise.race([dnsP.then((o) => ['dns', o] as const), wkP.then((o) => ['wk', o] as const)]);
  const decisive = first[1].kind === 'found' || (first[0] === 'dns' && first[1].kind === 'invalid');
  let other: Outcome | undefined;
  if (decisive) {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), opts.graceMs ?? DEFAULT_GRACE_MS);
    });
    other = await Promise.race([first[0] === 'dns' ? wkP : dnsP, grace]);
    clearTimeout(timer);
  } else {
    other = await (first[0] === 'dns' ? wkP : dnsP);
  }
  return first[0] === 'dns' ? [first[1], other] : [other, first[1]];
}

/** Decides which node the two sources name, or throws the error that explains why none. */
export function combineOutcomes(
  domain: string,
  dnsOutcome: Outcome | undefined,
  wkOutcome: Outcome | undefined,
): { nodeUrl: string; method: DiscoveryMethod; ttlSeconds?: number } {
  const dnsO = dnsOutcome ?? { kind: 'none' as const };
  const wkO = wkOutcome ?? { kind: 'none' as const };
  if (dnsO.kind === 'invalid') throw dnsO.error;
  if (dnsO.kind === 'found' && wkO.kind === 'found') {
    if (dnsO.nodeUrl !== wkO.nodeUrl) {
      throw new KeyPearsError(
        'discovery_conflict',
        `${domain}: the TXT record names ${dnsO.nodeUrl} but the well-known document names ${wkO.nodeUrl}`,
      );
    }
    const ttls = [dnsO.ttlSeconds, wkO.ttlSeconds].filter((t): t is number => t !== undefined);
    return { nodeUrl: dnsO.nodeUrl, method: 'both', ttlSeconds: ttls.length ? Math.min(...ttls) : undefined };
  }
  if (dnsO.kind === 'found') return { nodeUrl: dnsO.nodeUrl, method: 'dns', ttlSeconds: dnsO.ttlSeconds };
  if (wkO.kind === 'found') return { nodeUrl: wkO.nodeUrl, method: 'well-known', ttlSeconds: wkO.ttlSeconds };
  if (wkO.kind === 'invalid') throw wkO.error;
  const failures = [dnsO, wkO].filter((o): o is Extract<Outcome, { kind: 'failed' }> => o.kind === 'failed');
  if (failures.length > 0) {
    throw new KeyPearsError(
      'discovery_unavailable',
      `discovery of ${domain} failed: ${failures.map((f) => f.error.message).join('; ')}`,
    );
  }
  throw new KeyPearsError(
    'no_node_for_domain',
    `${domain} has no KeyPears node (no ${txtRecordName(domain)} TXT record and no well-known document)`,
  );
}

/**
 * Fetches and validates a node's document. A node that cannot be reached is
 * `discovery_unavailable`; a node that answers nonsense is `node_document_invalid`.
 */
export async function fetchNodeDocument(
  nodeUrl: string,
  opts: DiscoveryOptions,
): Promise<{ document: NodeDocument; maxAgeSeconds?: number }> {
  let res: SafeResponse;
  try {
    res = await safeFetch(nodeDocumentUrl(nodeUrl), fetchOptions(opts));
  } catch (e) {
    const error = asError(e);
    if (error.code === 'fetch_failed' || error.code === 'fetch_timeout') {
      throw new KeyPearsError('discovery_unavailable', `node ${nodeUrl} is unreachable: ${error.message}`, {
        reason: error.details?.reason ?? error.code,
      });
    }
    throw error;
  }
  if (res.status >= 500) throw new KeyPearsError('discovery_unavailable', `node ${nodeUrl} answered ${res.status}`);
  if (res.status !== 200) {
    throw new KeyPearsError('node_document_invalid', `node ${nodeUrl} has no node document (HTTP ${res.status})`);
  }
  const document = parseNodeDocument(res.json('node_document_invalid'), nodeUrl, { allowHttp: opts.dev });
  return { document, maxAgeSeconds: cacheControlMaxAge(res.headers['cache-control']) };
}

/**
 * Finds the node serving `domain` (already canonical) and checks that the node claims it.
 *
 * @throws KeyPearsError `no_node_for_domain` (404), `discovery_unavailable` (503), or one of
 *   `discovery_record_invalid`, `discovery_record_ambiguous`, `discovery_conflict`,
 *   `well_known_invalid`, `node_document_invalid`, `domain_not_listed`, `insecure_scheme`,
 *   `destination_forbidden`, `redirect_refused`, `response_too_large` (502).
 * @example const { nodeUrl } = await discoverDomain('b.example', { dev: false });
 */
export async function discoverDomain(domain: string, options: DiscoveryOptions): Promise<DiscoveredDomain> {
  const deadlineMs = options.deadlineMs ?? DEFAULT_DISCOVERY_DEADLINE_MS;
  const deadline = AbortSignal.timeout(deadlineMs);
  const opts = { ...options, signal: options.signal ? AbortSignal.any([deadline, options.signal]) : deadline };
  try {
    return await discoverWithin(domain, opts);
  } catch (e) {
    if (!deadline.aborted) throw e;
    throw new KeyPearsError(
      'discovery_unavailable',
      `discovery of ${domain} did not finish within ${deadlineMs} ms: ${(e as Error).message}`,
    );
  }
}

async function discoverWithin(domain: string, opts: DiscoveryOptions): Promise<DiscoveredDomain> {
  const [dnsO, wkO] = await askBoth(domain, opts);
  const chosen = combineOutcomes(domain, dnsO, wkO);
  const { document, maxAgeSeconds } = await fetchNodeDocument(chosen.nodeUrl, opts);
  requireDomainListed(document, domain);
  const ttls = [chosen.ttlSeconds, maxAgeSeconds].filter((t): t is number => t !== undefined);
  return {
    domain,
    nodeUrl: chosen.nodeUrl,
    document,
    method: chosen.method,
    ttlSeconds: clampTtl(ttls.length ? Math.min(...ttls) : undefined),
  };
}
