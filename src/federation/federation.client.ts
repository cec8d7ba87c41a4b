/**
 * Signed requests to other nodes (docs/protocol.md §9.1). Each request is signed with this node's current
 * key (RFC 9421, src/protocol/http-signature.ts) and covers the method, the target URI, the
 * body digest, the origin and destination nodes, the domain the request acts for, its
 * creation time, a short expiry and a nonce. It goes out through the SSRF-safe fetcher, to
 * the node that discovery names for the target domain.
 */
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { DiscoveryService } from '../discovery/discovery.service.js';
import { abortable, safeFetch } from '../net/safe-fetch.js';
import { NodeKeysService } from '../node-keys/node-keys.service.js';
import { parseDomain } from '../protocol/address.js';
import { utf8 } from '../protocol/encoding.js';
import { isKeyPearsError, KeyPearsError, readErrorBody } from '../protocol/errors.js';
import { signRequest } from '../protocol/http-signature.js';
import { DESTINATION_HEADER, DOMAIN_HEADER, ORIGIN_HEADER } from './federation-headers.js';

/** Largest answer read from a peer (a prekey bundle is about 5 KiB). */
const MAX_RESPONSE_BYTES = 256 * 1024;
/** Validity of a request signature: well under the profile's 5-minute maximum. */
const SIGNATURE_TTL_SECONDS = 120;

export interface FederationPostOptions {
  /** The local domain this request acts for (the sender's domain). */
  senderDomain: string;
  signal?: AbortSignal;
  /** Headers outside the signature (KeyPears-KT-Known, docs/transparency.md §11.2). */
  headers?: Record<string, string>;
}

@Injectable()
export class FederationClient {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly nodeKeys: NodeKeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * POSTs `body` as JSON to `path` on the node serving `targetDomain` and returns its JSON
   * answer.
   *
   * @throws KeyPearsError `peer_error` (4xx answers, with `details.status` and the peer's code
   *   as `details.peerCode`; invalid answers), `peer_unavailable` (unreachable, timeouts, 5xx
   *   and 429), or a discovery error (`no_node_for_domain`, `discovery_unavailable`, ...).
   */
  async post(targetDomain: string, path: string, body: unknown, options: FederationPostOptions): Promise<unknown> {
    // One deadline for the whole step, discovery of the peer included (KEYPEARS_FEDERATION_TIMEOUT_MS).
    const deadline = AbortSignal.timeout(this.config.federationTimeoutMs);
    const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
    const resolved = await abortable(this.discovery.resolveDomain(targetDomain), signal).catch((e: unknown) => {
      if (!deadline.aborted) throw e;
      throw new KeyPearsError(
        'peer_unavailable',
        `discovery of ${targetDomain} did not finish within ${this.config.federationTimeoutMs} ms`,
      );
    });
    const senderDomain = parseDomain(options.senderDomain);
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
          ...options.headers,
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
