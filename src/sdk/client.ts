/**
 * A client for one node's client API (docs/key-directory.md). Requests that act for a user are
 * signed with the user's Ed25519 identity key (RFC 9421, src/protocol/http-signature.ts);
 * responses are parsed with the wire schemas and every signature in them is verified; error
 * answers become KeyPearsError with the node's code when it is a documented one.
 */
import { z } from 'zod';
import { readCappedBody } from '../net/capped-body.js';
import { parseAddress } from '../protocol/address.js';
import {
  AccountStatusSchema,
  RegistrationResponseSchema,
  type AccountStatus,
  type RegistrationResponse,
} from '../protocol/client-api.js';
import { normalizeNodeUrl as normalizeUrl } from '../protocol/discovery.js';
import { utf8 } from '../protocol/encoding.js';
import {
  BlockListSchema,
  ExchangeStatusResponseSchema,
  ExchangeViewSchema,
  InboxResponseSchema,
  MAX_POLL_WAIT_SECONDS,
  type ExchangeStatus,
  type ExchangeStatusResponse,
  type ExchangeView,
  type InboxResponse,
  type StartExchangeRequest,
} from '../protocol/exchange-api.js';
import { isApiErrorCode, KeyPearsError, readErrorBody } from '../protocol/errors.js';
import { signRequest } from '../protocol/http-signature.js';
import { KT_KNOWN_HEADER_NAME } from '../protocol/transparency/wire.js';
import {
  decodeBundle,
  decodePublicIdentity,
  parseWire,
  PrekeyBundleSchema,
  type DecodedPrekeyBundle,
  type ExchangeConfirmation,
  type PrekeyBundle,
  type DecodedPublicIdentity,
  type PrekeyUpload,
  type RegistrationRequest,
} from '../protocol/wire.js';
import { unixNow } from './context.js';

export interface Signer {
  /** Canonical address: the key id of signed requests. */
  address: string;
  /** Ed25519 identity secret key. */
  secretKey: Uint8Array;
}

export interface NodeClientOptions {
  /** The node's base URL, exactly as it knows itself (its public URL). */
  baseUrl: string;
  /** Needed for every call except `register` and `lookup`. */
  signer?: Signer;
  /** Plain http:// is refused unless this is set (development and tests only). */
  allowInsecureHttp?: boolean;
  fetch?: typeof fetch;
  /** Unix seconds; defaults to the system clock. */
  now?: () => number;
  /** Per request; default 15 s. */
  timeoutMs?: number;
}

/** What `resolve` reads of the node's answer; the identity is checked by decodePublicIdentity. */
const ResolveAnswerSchema = z.looseObject({ node: z.string().max(2048), identity: z.unknown() });

/** Larger answers are refused: the biggest legitimate one (a bundle) is about 5 KiB. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * Canonical form of a node base URL (src/protocol/discovery.ts): the string signatures and
 * registration proofs are bound to.
 *
 * @throws KeyPearsError `invalid_node_url`, or `insecure_node_url` for plain HTTP without
 *   `allowInsecureHttp`.
 */
export const normalizeNodeUrl = (raw: string, allowInsecureHttp = false): string =>
  normalizeUrl(raw, { allowHttp: allowInsecureHttp, insecureCode: 'insecure_node_url' });

export class NodeClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly timeoutMs: number;

  constructor(private readonly options: NodeClientOptions) {
    this.baseUrl = normalizeNodeUrl(options.baseUrl, options.allowInsecureHttp);
    // Called as a function, not as a method of this client: a browser's fetch refuses any
    // `this` but the window ("Illegal invocation").
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? unixNow;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** `POST /api/v1/accounts` (unsigned: the request carries its own proof). */
  register(request: RegistrationRequest): Promise<RegistrationResponse> {
    return this.call('POST', '/api/v1/accounts', { body: request, signed: false }, RegistrationResponseSchema);
  }

  /** `POST /api/v1/accounts/me/prekeys`; answers the account's counts after the upload. */
  publishPrekeys(upload: PrekeyUpload): Promise<AccountStatus> {
    return this.call('POST', '/api/v1/accounts/me/prekeys', { body: upload, signed: true }, AccountStatusSchema);
  }

  /** `GET /api/v1/accounts/me`: remaining one-time prekeys and current keys. */
  getAccount(): Promise<AccountStatus> {
    return this.call('GET', '/api/v1/accounts/me', { signed: true }, AccountStatusSchema);
  }

  /** `GET /api/v1/identities/{address}`, verified: every signature checks against the identity key. */
  async lookup(address: string): Promise<DecodedPublicIdentity> {
    const canonical = parseAddress(address).canonical;
    const body = await this.call('GET', `/api/v1/identities/${encodeURIComponent(canonical)}`, { signed: false });
    return decodePublicIdentity(body, canonical);
  }

  /**
   * `GET /api/v1/resolve/{address}`: the node serving any address, local or remote, found by this
   * node's discovery, with the address's public identity, verified here (every signature
   * against the identity key). What a browser uses: its page may talk only to its own node.
   */
  async resolve(address: string): Promise<{ node: string; identity: DecodedPublicIdentity }> {
    const canonical = parseAddress(address).canonical;
    const body = await this.call('GET', `/api/v1/resolve/${encodeURIComponent(canonical)}`, { signed: false });
    const answer = parseWire(ResolveAnswerSchema, body, 'invalid_response');
    return { node: answer.node, identity: decodePublicIdentity(answer.identity, canonical) };
  }

  /** `POST /api/v1/identities/{address}/claim`, verified. Consumes one-time prekeys on the node. */
  async claim(address: string): Promise<DecodedPrekeyBundle> {
    const canonical = parseAddress(address).canonical;
    const body = await this.call('POST', `/api/v1/identities/${encodeURIComponent(canonical)}/claim`, { signed: true });
    return decodeBundle(body, canonical);
  }

  /**
   * `POST /api/v1/exchanges/bundle`: a bundle for any address, claimed by this node (over
   * federation for other domains). Returned as received and verified.
   */
  async exchangeBundle(
    address: string,
    options: { ktKnown?: number } = {},
  ): Promise<{ bundle: PrekeyBundle; decoded: DecodedPrekeyBundle; transparency?: unknown }> {
    const canonical = parseAddress(address).canonical;
    const body = await this.call('POST', '/api/v1/exchanges/bundle', {
      body: { address: canonical },
      signed: true,
      ...(options.ktKnown !== undefined ? { headers: { [KT_KNOWN_HEADER_NAME]: String(options.ktKnown) } } : {}),
    });
    // The transparency member (docs/transparency.md §11.3) is verified by the caller.
    const { transparency, ...rest } = (body ?? {}) as { transparency?: unknown };
    const bundle = parseWire(PrekeyBundleSchema, rest, 'invalid_bundle');
    return {
      bundle,
      decoded: decodeBundle(bundle, canonical),
      ...(transparency !== undefined ? { transparency } : {}),
    };
  }

  /** `POST /api/v1/exchanges`: hands the initiation to this node for delivery. */
  startExchange(request: StartExchangeRequest): Promise<ExchangeStatusResponse> {
    return this.call('POST', '/api/v1/exchanges', { body: request, signed: true }, ExchangeStatusResponseSchema);
  }

  /**
   * `GET /api/v1/exchanges/inbox`. With `waitSeconds` (up to 30), an empty inbox is answered
   * when an exchange arrives or when the wait ends (long polling).
   */
  inbox(options: { waitSeconds?: number } = {}): Promise<InboxResponse> {
    const wait = waitParam(options.waitSeconds);
    return this.call(
      'GET',
      `/api/v1/exchanges/inbox${query({ wait })}`,
      { signed: true, waitSeconds: wait },
      InboxResponseSchema,
    );
  }

  /**
   * `GET /api/v1/exchanges/{id}`. With `waitSeconds` (up to 30), the node answers when the
   * exchange's status is no longer `status` (without it: once confirmed, failed or expired),
   * or when the wait ends (long polling).
   */
  getExchange(id: string, options: { waitSeconds?: number; status?: ExchangeStatus } = {}): Promise<ExchangeView> {
    const wait = waitParam(options.waitSeconds);
    const status = wait ? options.status : undefined;
    return this.call(
      'GET',
      `/api/v1/exchanges/${encodeURIComponent(id)}${query({ wait, status })}`,
      { signed: true, waitSeconds: wait },
      ExchangeViewSchema,
    );
  }

  /** `POST /api/v1/exchanges/{id}/confirmation`. */
  confirmExchange(id: string, confirmation: ExchangeConfirmation): Promise<ExchangeStatusResponse> {
    return this.call(
      'POST',
      `/api/v1/exchanges/${encodeURIComponent(id)}/confirmation`,
      { body: { confirmation }, signed: true },
      ExchangeStatusResponseSchema,
    );
  }

  /** `POST /api/v1/blocks`: blocks an address or a whole domain. */
  block(pattern: string): Promise<{ blocks: string[] }> {
    return this.call('POST', '/api/v1/blocks', { body: { pattern }, signed: true }, BlockListSchema);
  }

  /** `GET /api/v1/blocks`: the addresses and domains this user blocks. */
  blocks(): Promise<{ blocks: string[] }> {
    return this.call('GET', '/api/v1/blocks', { signed: true }, BlockListSchema);
  }

  /** `DELETE /api/v1/blocks/{pattern}`. */
  unblock(pattern: string): Promise<{ blocks: string[] }> {
    return this.call('DELETE', `/api/v1/blocks/${encodeURIComponent(pattern)}`, { signed: true }, BlockListSchema);
  }

  private async call(method: string, path: string, opts: CallOptions): Promise<unknown>;
  private async call<T extends z.ZodType>(
    method: string,
    path: string,
    opts: CallOptions,
    schema: T,
  ): Promise<z.output<T>>;
  private async call(method: string, path: string, opts: CallOptions, schema?: z.ZodType): Promise<unknown> {
    const url = `${this.baseUrl}${path}`;
    const body = opts.body === undefined ? undefined : utf8(JSON.stringify(opts.body));
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (body) headers['content-type'] = 'application/json';
    if (opts.signed) {
      const signer = this.options.signer;
      if (!signer) throw new KeyPearsError('invalid_argument', `${method} ${path} must be signed: no signer given`);
      Object.assign(
        headers,
        signRequest({
          method,
          targetUri: url,
          body,
          keyId: signer.address,
          secretKey: signer.secretKey,
          now: this.now(),
        }),
      );
    }
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        body,
        redirect: 'error',
        // A long poll may take its whole wait before the node answers.
        signal: AbortSignal.timeout(this.timeoutMs + (opts.waitSeconds ?? 0) * 1000),
      });
    } catch (e) {
      throw new KeyPearsError(
        'node_unavailable',
        `cannot reach ${this.baseUrl}: ${(e as Error).message}. Is the node running there? ` +
          `(for a try-out: KEYPEARS_DEV=1 npm start; the node a keystore uses is shown by "keypears whoami")`,
      );
    }
    const json = await readJson(response);
    if (!response.ok) throw errorFrom(response, json);
    if (json === undefined) throw new KeyPearsError('invalid_response', `${method} ${path}: the node sent no JSON`);
    return schema ? parseWire(schema, json, 'invalid_response') : json;
  }
}

interface CallOptions {
  /** Extra request headers (not covered by the signature, e.g. KeyPears-KT-Known). */
  headers?: Record<string, string>;
  body?: unknown;
  signed: boolean;
  /** The node may hold the answer this long (long polling). */
  waitSeconds?: number;
}

/** A long poll's wait in whole seconds (0 to MAX_POLL_WAIT_SECONDS), or undefined for none. */
function waitParam(seconds: number | undefined): number | undefined {
  if (seconds === undefined) return undefined;
  const whole = Math.max(0, Math.min(MAX_POLL_WAIT_SECONDS, Math.floor(seconds)));
  return whole > 0 ? whole : undefined;
}

/** `?a=1&b=x` from the defined entries, or nothing. */
function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined);
  return entries.length
    ? `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}`
    : '';
}

/** Invalid sequences become U+FFFD; a byte-order mark is kept (and makes the JSON invalid). */
const UTF8_DECODER = new TextDecoder('utf-8', { ignoreBOM: true });

/** The answer's JSON, or undefined when it is empty or not JSON. */
async function readJson(response: Response): Promise<unknown> {
  const body = await readCappedBody(response.body as AsyncIterable<Uint8Array> | null, {
    declaredLength: response.headers.get('content-length'),
    maxBytes: MAX_RESPONSE_BYTES,
    discard: () => void response.body?.cancel().catch(() => undefined),
    tooLarge: () => new KeyPearsError('invalid_response', 'the node’s answer is too large'),
  });
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(UTF8_DECODER.decode(body));
  } catch {
    return undefined;
  }
}

/**
 * The node's error answer as a KeyPearsError. A documented code becomes the error's code (the
 * node's API is this protocol's own); anything else is only data: `peer_error`, with the
 * code the node sent as `details.peerCode`.
 */
function errorFrom(response: Response, json: unknown): KeyPearsError {
  const answer = readErrorBody(json);
  const retry = Number(response.headers.get('retry-after'));
  const details = {
    status: response.status,
    ...(Number.isFinite(retry) && retry > 0 ? { retryAfterSeconds: retry } : {}),
  };
  if (answer && isApiErrorCode(answer.code)) {
    return new KeyPearsError(answer.code, answer.message || `the node answered HTTP ${response.status}`, details);
  }
  return new KeyPearsError(
    'peer_error',
    `the node answered HTTP ${response.status}${answer ? ` ${answer.code}: ${answer.message}` : ''}`,
    answer ? { ...details, peerCode: answer.code } : details,
  );
}
