/**
 * Signed requests to other nodes (docs/protocol.md §9.1). Each request is signed with this node's current
 * key (RFC 9421, src/protocol/http-signature.ts) and covers the method, the target URI, the
 * body digest, the origin and destination nodes, the domain the request acts for, its
 * creation time, a short expiry and a nonce. It goes out through the SSRF-safe fetcher, to
 * the node that discovery names for the target domain, over keep-alive connections kept per
 * peer (a bounded set of agents), and within one deadline for discovery and request together
 * (KEYPEARS_FEDERATION_TIMEOUT_MS).
 */
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { DiscoveryService, type ResolvedDomain } from '../discovery/discovery.service.js';
import { FEDERATION_BATCH_PATH, FEDERATION_MESSAGES_PATH } from '../exchange/federation-paths.js';
import { abortable, PeerAgents, safeFetch } from '../net/safe-fetch.js';
import { NodeKeysService } from '../node-keys/node-keys.service.js';
import { parseDomain } from '../protocol/address.js';
import { utf8 } from '../protocol/encoding.js';
import { isKeyPearsError, KeyPearsError, readErrorBody } from '../protocol/errors.js';
import {
  FederationAckSchema,
  FederationBatchAnswerSchema,
  MAX_BATCH_BYTES,
  MAX_BATCH_MESSAGES,
  type FederationAck,
  type FederationMessage,
} from '../protocol/exchange-api.js';
import { signRequest } from '../protocol/http-signature.js';
import { DESTINATION_HEADER, DOMAIN_HEADER, ORIGIN_HEADER } from './federation-headers.js';

/** Largest answer read from a peer (a prekey bundle is about 5 KiB, a batch's results less). */
const MAX_RESPONSE_BYTES = 256 * 1024;
/** Validity of a request signature: well under the profile's 5-minute maximum. */
const SIGNATURE_TTL_SECONDS = 120;
/** Peers whose keep-alive connections are kept, and how long an idle one stays open. */
const MAX_PEER_AGENTS = 256;
const KEEP_ALIVE_MS = 10_000;
/** Room left in a batch body for `{"messages":[...]}` and the commas. */
const BATCH_ENVELOPE_BYTES = 64;
/** Codes a peer answers for a message when it cannot take it now: retried like a 5xx. */
const UNAVAILABLE_CODES = new Set(['database_unavailable', 'internal_error', 'discovery_unavailable']);

export interface FederationPostOptions {
  /** The local domain this request acts for (the sender's domain). */
  senderDomain: string;
  signal?: AbortSignal;
  /** Headers outside the signature (KeyPears-KT-Known, docs/transparency.md §11.2). */
  headers?: Record<string, string>;
}

/** What became of one message of a delivery: the peer's ack, or why it was not taken. */
export type DeliveryOutcome = { ack: FederationAck } | { error: KeyPearsError };

export interface Delivery {
  /** One outcome per message, in order. */
  outcomes: DeliveryOutcome[];
  /**
   * Set when the peer itself failed (unreachable, timeout, 5xx, 429, an invalid answer): the
   * messages it did not take carry this error; the others their own outcome.
   */
  peerFailure?: KeyPearsError;
}

@Injectable()
export class FederationClient implements OnModuleDestroy {
  private readonly agents: PeerAgents;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly nodeKeys: NodeKeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.agents = new PeerAgents({
      maxPeers: MAX_PEER_AGENTS,
      // The outbox's requests to one peer, and a few bundle claims beside them.
      connectionsPerPeer: config.deliveryConcurrencyPerPeer + 2,
      keepAliveMs: KEEP_ALIVE_MS,
      connectTimeoutMs: config.federationTimeoutMs,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.agents.close();
  }

  /**
   * POSTs `body` as JSON to `path` on the node serving `targetDomain` and returns its JSON
   * answer.
   *
   * @throws KeyPearsError `peer_error` (4xx answers, with `details.status` and the peer's code
   *   as `details.peerCode`; invalid answers), `peer_unavailable` (unreachable, timeouts, 5xx
   *   and 429), or a discovery error (`no_node_for_domain`, `discovery_unavailable`, ...).
   */
  async post(targetDomain: string, path: string, body: unknown, options: FederationPostOptions): Promise<unknown> {
    const { signal, resolved } = await this.begin(targetDomain, options);
    return this.send(resolved, path, body, options.senderDomain, signal, options.headers);
  }

  /**
   * Delivers federation messages from one local domain to the node serving `targetDomain`:
   * in batches of docs/protocol.md §9.5 when the peer's node document announces them, else
   * one request per message (§9.3), in order.
   *
   * @throws a discovery error, or `peer_unavailable` when discovery does not finish in time;
   *   everything after discovery is reported in the returned Delivery.
   */
  async deliver(
    targetDomain: string,
    messages: FederationMessage[],
    options: FederationPostOptions,
  ): Promise<Delivery> {
    const { signal, resolved } = await this.begin(targetDomain, options);
    const outcomes: DeliveryOutcome[] = [];
    const batch = this.config.federationBatchMax > 1 ? resolved.document.batch : undefined;
    const groups = batch
      ? batchesOf(messages, Math.min(batch.maxMessages, this.config.federationBatchMax), batch.maxBytes)
      : messages.map((m) => [m]);
    for (const group of groups) {
      try {
        if (batch) outcomes.push(...(await this.sendBatch(resolved, group, options.senderDomain, signal)));
        else {
          const answer = await this.send(resolved, FEDERATION_MESSAGES_PATH, group[0], options.senderDomain, signal);
          outcomes.push({ ack: parseAnswer(FederationAckSchema, answer, resolved.nodeUrl) });
        }
      } catch (e) {
        const error = isKeyPearsError(e) ? e : new KeyPearsError('peer_unavailable', (e as Error).message);
        if (!batch && error.code === 'peer_error' && error.details?.status !== undefined) {
          outcomes.push({ error }); // the peer refused this message alone
          continue;
        }
        for (let i = outcomes.length; i < messages.length; i++) outcomes.push({ error });
        return { outcomes, peerFailure: error };
      }
    }
    return { outcomes };
  }

  private async sendBatch(
    resolved: ResolvedDomain,
    messages: FederationMessage[],
    senderDomain: string,
    signal: AbortSignal,
  ): Promise<DeliveryOutcome[]> {
    const answer = await this.send(resolved, FEDERATION_BATCH_PATH, { messages }, senderDomain, signal);
    const { results } = parseAnswer(FederationBatchAnswerSchema, answer, resolved.nodeUrl);
    if (results.length !== messages.length) {
      throw new KeyPearsError(
        'peer_error',
        `${resolved.nodeUrl} answered ${results.length} results for ${messages.length} messages`,
      );
    }
    return results.map((r): DeliveryOutcome => {
      if (!('error' in r)) return { ack: r };
      const text = `${resolved.nodeUrl} refused the message: ${r.error.code}: ${r.error.message}`;
      const code =
        UNAVAILABLE_CODES.has(r.error.code) || r.error.code === 'rate_limited' ? 'peer_unavailable' : 'peer_error';
      return { error: new KeyPearsError(code, text, { peerCode: r.error.code }) };
    });
  }

  /** Discovery of the peer, within the request's one deadline. */
  private async begin(
    targetDomain: string,
    options: FederationPostOptions,
  ): Promise<{ signal: AbortSignal; resolved: ResolvedDomain }> {
    const deadline = AbortSignal.timeout(this.config.federationTimeoutMs);
    const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
    const resolved = await abortable(this.discovery.resolveDomain(targetDomain), signal).catch((e: unknown) => {
      if (!deadline.aborted) throw e;
      throw new KeyPearsError(
        'peer_unavailable',
        `discovery of ${targetDomain} did not finish within ${this.config.federationTimeoutMs} ms`,
      );
    });
    return { signal, resolved };
  }

  private async send(
    resolved: ResolvedDomain,
    path: string,
    body: unknown,
    sender: string,
    signal: AbortSignal,
    /** Headers outside the signature (KeyPears-KT-Known). */
    extraHeaders: Record<string, string> = {},
  ): Promise<unknown> {
    const senderDomain = parseDomain(sender);
    if (!this.config.domains.includes(senderDomain)) {
      throw new KeyPearsError('internal_error', `this node does not serve ${senderDomain}`);
    }
    const url = `${resolved.nodeUrl}${path}`;
    const bytes = utf8(JSON.stringify(body));
    const key = await this.nodeKeys.currentKey();
    const covered = {
      [ORIGIN_HEADER]: this.config.publicUrl,
      [DESTINATION_HEADER]: resolved.nodeUrl,
      [DOMAIN_HEADER]: senderDomain,
    };
    const signature = signRequest({
      method: 'POST',
      targetUri: url,
      body: bytes,
      keyId: key.keyId,
      secretKey: key.secretKey,
      headers: covered,
      ttlSeconds: SIGNATURE_TTL_SECONDS,
    });
    let response;
    try {
      response = await safeFetch(url, {
        dev: this.config.dev,
        dnsServers: this.config.dnsServers,
        method: 'POST',
        headers: {
          ...extraHeaders,
          'content-type': 'application/json',
          accept: 'application/json',
          ...covered,
          ...signature,
        },
        body: bytes,
        timeoutMs: this.config.federationTimeoutMs,
        maxBytes: MAX_RESPONSE_BYTES,
        maxRedirects: 0,
        signal,
        agents: this.agents,
      });
    } catch (e) {
      if (isKeyPearsError(e)) {
        const status = e.code === 'destination_forbidden' ? 'peer_error' : 'peer_unavailable';
        throw new KeyPearsError(status, `${resolved.nodeUrl}: ${e.message}`, { peerCode: e.code });
      }
      throw new KeyPearsError('peer_unavailable', `${resolved.nodeUrl}: ${(e as Error).message}`);
    }
    if (response.status >= 200 && response.status < 300) return response.json('peer_error');
    const { code, message } = peerError(response);
    const details = { status: response.status, peerCode: code };
    const text = `${resolved.nodeUrl} answered ${response.status} ${code}: ${message}`;
    if (response.status >= 500 || response.status === 429) throw new KeyPearsError('peer_unavailable', text, details);
    throw new KeyPearsError('peer_error', text, details);
  }
}

/**
 * Splits messages into batches of at most `peerMax` messages (and this node's own maximum) and
 * bodies of at most `peerMaxBytes` (and this node's); a message alone over the limit goes alone.
 */
export function batchesOf(messages: FederationMessage[], peerMax: number, peerMaxBytes: number): FederationMessage[][] {
  const maxMessages = Math.min(peerMax, MAX_BATCH_MESSAGES);
  const maxBytes = Math.min(peerMaxBytes, MAX_BATCH_BYTES) - BATCH_ENVELOPE_BYTES;
  const batches: FederationMessage[][] = [];
  let current: FederationMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = utf8(JSON.stringify(message)).length + 1;
    if (current.length > 0 && (current.length >= maxMessages || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function parseAnswer<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  answer: unknown,
  nodeUrl: string,
): T {
  const parsed = schema.safeParse(answer);
  if (!parsed.success)
    throw new KeyPearsError('peer_error', `${nodeUrl} answered something that is not the protocol's answer`);
  return parsed.data;
}

/** The peer's error code (as data) and message, if its answer has the documented shape. */
function peerError(response: { json(): unknown }): { code: string; message: string } {
  try {
    const answer = readErrorBody(response.json());
    if (answer) return answer;
  } catch {
    // not JSON: reported by status only
  }
  return { code: 'unknown', message: 'no error body' };
}
