/**
 * The suite's own federation peer: a tiny KeyPears node built from src/protocol and src/sdk
 * only. It serves its node document and its users' identities over HTTP, answers signed
 * federation claims and messages from the node under test (verifying them as docs/protocol.md
 * §9 requires), and sends its own signed federation requests to that node.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ed25519Keygen, ed25519PublicKey, sha256, x25519PublicKey } from '../protocol/crypto.js';
import { currentNodeKeys, parseNodeDocument, type NodeDocument, type NodeKey } from '../protocol/discovery.js';
import { fromB64u, toB64u } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import { acceptExchange, initiateExchange, verifyConfirmation, type InitiatedExchange } from '../protocol/exchange.js';
import {
  FederationClaimRequestSchema,
  FederationMessageSchema,
  type ExchangeStatus,
  type InitiationMessage,
} from '../protocol/exchange-api.js';
import { checkIncomingInitiation } from '../protocol/exchange-message.js';
import { identityFingerprint } from '../protocol/fingerprint.js';
import { verifyRequest } from '../protocol/http-signature.js';
import {
  decodeBundle,
  parseWire,
  type ExchangeConfirmation,
  type ExchangeInitiation,
  type PrekeyBundle,
  type PublicIdentity,
  type PublicKeyRecord,
} from '../protocol/wire.js';
import { buildPrekeyUpload, buildRegistration, createKeystore } from '../sdk/identity.js';
import type { Keystore } from '../sdk/keystore.js';
import { send, signed, unixNow, type Answer } from './http.js';
import { close, listen } from './servers.js';

export const FEDERATION_CLAIM = '/api/v1/federation/claim';
export const FEDERATION_MESSAGES = '/api/v1/federation/messages';
const MAX_BODY_BYTES = 256 * 1024;

export interface Refusal {
  status: number;
  code: string;
}

export interface PeerUser {
  ks: Keystore;
  identity: PublicIdentity;
  oneTimePrekeys: PublicKeyRecord[];
  pqOneTimePrekeys: PublicKeyRecord[];
  /** What `GET /api/v1/identities/{address}` serves instead of the identity (to tamper with it). */
  servedIdentity?: (identity: PublicIdentity) => unknown;
  /** What a federation claim answers instead of the bundle (to tamper with it). */
  servedBundle?: (bundle: PrekeyBundle) => unknown;
  /** Error answers given, in turn, to the next federation claims of this user. */
  claimRefusals?: Refusal[];
  /** Error answers given, in turn, to the next federation messages to this user. */
  messageRefusals?: Refusal[];
}

/** An exchange the peer took part in, as it saw it. */
export interface PeerExchange {
  role: 'initiator' | 'responder';
  status: ExchangeStatus;
  initiation: ExchangeInitiation;
  message?: InitiationMessage;
  started?: InitiatedExchange;
  /** The responder's identity key, from the bundle an initiation of this peer used. */
  responderIdentityKey?: Uint8Array;
  secret?: Uint8Array;
  /** The confirmation this peer sent, as a responder. */
  confirmation?: ExchangeConfirmation;
}

export interface PeerOptions {
  /** The domain this peer serves (one the node under test does not serve). */
  domain: string;
  /** Host to listen on (loopback by default) and port (0: any free one). */
  host?: string;
  port?: number;
  /** The base URL the node under test reaches this peer at, when not http://host:port. */
  publicUrl?: string;
  /** The node under test and the domain it serves. */
  target: { url: string; domain: string };
}

/** What the peer saw: every request, for cases that check what the node under test sent. */
export interface SeenRequest {
  method: string;
  path: string;
  answered: number;
}

export class PeerNode {
  /** The current signing key; `rotateKey` replaces it, keeping the previous one listed. */
  key = ed25519Keygen();
  keyId = nodeKeyId(this.key.publicKey);
  private previousKeys: NodeKey[] = [];
  private keySince = unixNow() - 3600;
  readonly users = new Map<string, PeerUser>();
  readonly exchanges = new Map<string, PeerExchange>();
  readonly seen: SeenRequest[] = [];
  /** Extra domains the document lists (for discovery cases). */
  readonly extraDomains: string[] = [];
  url = '';
  private server: Server | undefined;
  private targetDocument: NodeDocument | undefined;
  private readonly nonces = new Set<string>();
  private readonly waiters: Array<() => void> = [];

  constructor(readonly opts: PeerOptions) {}

  get domain(): string {
    return this.opts.domain;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    const host = this.opts.host ?? '127.0.0.1';
    const port = await listen(server, this.opts.port ?? 0, host);
    this.server = server;
    this.url = this.opts.publicUrl ?? `http://${host}:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await close(server);
  }

  /** A user of this peer (of its own domain unless told) with `oneTime` one-time prekeys of each kind. */
  addUser(local: string, oneTime: number, domain = this.domain): PeerUser {
    const now = unixNow();
    const ks = createKeystore(`${local}@${domain}`, this.url, now);
    const upload = buildPrekeyUpload(
      ks,
      {
        oneTimePrekeys: oneTime,
        pqOneTimePrekeys: oneTime,
        newSignedPrekey: true,
        sendSignedPrekey: true,
        newPqLastResort: true,
        sendPqLastResort: true,
      },
      now,
    );
    const registration = buildRegistration(ks, now);
    const user: PeerUser = {
      ks,
      identity: {
        address: ks.address,
        identityKey: registration.identityKey,
        identityDhKey: registration.identityDhKey,
        signedPrekey: upload.signedPrekey!,
        pqLastResort: upload.pqLastResort!,
        fingerprint: identityFingerprint(ed25519PublicKey(ks.identitySecretKey)),
      },
      oneTimePrekeys: upload.oneTimePrekeys ?? [],
      pqOneTimePrekeys: upload.pqOneTimePrekeys ?? [],
    };
    this.users.set(ks.address, user);
    return user;
  }

  /**
   * The node document (docs/discovery.md §1), with members its readers do not know: a feature's
   * announcement (docs/protocol.md §11) and a member of no feature at all.
   */
  document(): Record<string, unknown> {
    return {
      protocol: 'KP1',
      node: this.url,
      domains: [this.domain, ...this.extraDomains],
      keys: [
        {
          keyId: this.keyId,
          alg: 'ed25519',
          publicKey: toB64u(this.key.publicKey),
          notBefore: this.keySince,
          notAfter: null,
        },
        ...this.previousKeys,
      ],
      software: { name: 'keypears-conformance', version: '1' },
      conformanceFutureFeature: { note: 'an announcement of a feature the node under test does not know' },
      conformanceUnknownMember: { note: 'readers ignore members they do not know' },
    };
  }

  /**
   * A new current key (docs/discovery.md §1, key rotation): the previous one stays listed,
   * valid for `overlapSeconds` more.
   */
  rotateKey(overlapSeconds = 3600): void {
    const now = unixNow();
    this.previousKeys.unshift({
      keyId: this.keyId,
      alg: 'ed25519',
      publicKey: toB64u(this.key.publicKey),
      notBefore: this.keySince,
      notAfter: now + overlapSeconds,
    });
    this.key = ed25519Keygen();
    this.keyId = nodeKeyId(this.key.publicKey);
    this.keySince = now;
  }

  /** Resolves when `condition` holds, checked after every request the peer answers. */
  async waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    if (condition()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const wake = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.splice(this.waiters.indexOf(wake), 1);
        resolve();
      };
      this.waiters.push(wake);
    });
  }

  // --- Requests to the node under test --------------------------------------------------

  /** The covered headers of a request from this peer, each overridable. */
  covered(overrides: Partial<Record<'origin' | 'destination' | 'domain', string>> = {}): Record<string, string> {
    return {
      'keypears-origin': overrides.origin ?? this.url,
      'keypears-destination': overrides.destination ?? this.opts.target.url,
      'keypears-domain': overrides.domain ?? this.domain,
    };
  }

  /** A signed federation POST to the node under test, with every part overridable. */
  async post(
    path: string,
    body: unknown,
    opts: {
      covered?: Record<string, string>;
      now?: number;
      nonce?: string;
      keyId?: string;
      secretKey?: Uint8Array;
      sentBody?: string;
      omit?: string;
      /** Sent besides the signed ones (not covered). */
      headers?: Record<string, string>;
    } = {},
  ): Promise<Answer> {
    const url = `${this.opts.target.url}${path}`;
    const text = JSON.stringify(body);
    const request = signed('POST', url, text, {
      keyId: opts.keyId ?? this.keyId,
      secretKey: opts.secretKey ?? this.key.secretKey,
      covered: opts.covered ?? this.covered(),
      now: opts.now,
      nonce: opts.nonce,
    });
    const headers = { ...request.headers!, ...opts.headers };
    if (opts.omit) delete headers[opts.omit];
    return send(url, { method: 'POST', body: opts.sentBody ?? text, headers });
  }

  /** Claims a bundle of `address` (a user of the node under test) for `requester`. */
  async claim(requester: string, address: string): Promise<{ answer: Answer; bundle?: PrekeyBundle }> {
    const answer = await this.post(FEDERATION_CLAIM, { requester, address });
    return { answer, bundle: answer.status === 200 ? (answer.json as PrekeyBundle) : undefined };
  }

  /**
   * An initiation from `from` (a peer user) to `to` over a freshly claimed bundle, not sent;
   * `createdAt` may be moved for the time-window cases.
   */
  async initiation(from: string, to: string, createdAt = unixNow()): Promise<InitiationMessage> {
    const { answer, bundle } = await this.claim(from, to);
    if (!bundle) throw new Error(`claim of ${to} answered ${answer.status} ${answer.text.slice(0, 200)}`);
    return this.derive(from, to, bundle, createdAt);
  }

  /** An initiation from `from` to `to` over `bundle` (already claimed), not sent. */
  derive(from: string, to: string, bundle: PrekeyBundle, createdAt = unixNow()): InitiationMessage {
    const user = this.user(from);
    const decoded = decodeBundle(bundle, to);
    const started = initiateExchange({
      self: {
        address: from,
        identitySecretKey: user.ks.identitySecretKey,
        identityDhSecretKey: user.ks.identityDh.secretKey,
      },
      peerBundle: decoded,
      createdAt,
    });
    const { initiation } = started;
    const message: InitiationMessage = {
      type: 'initiation',
      initiation,
      initiatorIdentity: user.identity,
      responderPrekeys: {
        signedPrekey: bundle.signedPrekey,
        ...(initiation.oneTimePrekeyId !== undefined ? { oneTimePrekey: bundle.oneTimePrekey! } : {}),
        pqPrekey: initiation.pqPrekeyKind === 'pq-one-time' ? bundle.pqOneTimePrekey! : bundle.pqLastResort,
      },
    };
    this.exchanges.set(initiation.exchangeId, {
      role: 'initiator',
      status: 'pending',
      initiation,
      message,
      started,
      responderIdentityKey: decoded.identityKey,
    });
    return message;
  }

  /** Accepts an initiation this peer received and sends the confirmation to the node under test. */
  async accept(exchangeId: string): Promise<Answer> {
    const exchange = this.exchanges.get(exchangeId);
    if (!exchange || exchange.role !== 'responder' || !exchange.message) throw new Error(`no incoming ${exchangeId}`);
    const user = this.user(exchange.initiation.to);
    const { ks } = user;
    const byId = (keys: Array<{ id: number; secretKey: Uint8Array }>) => (id: number) =>
      keys.find((k) => k.id === id)?.secretKey;
    const accepted = acceptExchange({
      self: {
        address: ks.address,
        identitySecretKey: ks.identitySecretKey,
        identityDhSecretKey: ks.identityDh.secretKey,
        signedPrekeySecret: byId(ks.signedPrekeys),
        oneTimePrekeySecret: (id) => ks.oneTimePrekeys.get(id),
        pqPrekeySecret: (kind, id) =>
          kind === 'pq-one-time' ? ks.pqOneTimePrekeys.get(id) : byId(ks.pqLastResortKeys)(id),
      },
      initiation: exchange.initiation,
      initiatorIdentity: checkIncomingInitiation(
        exchange.initiation,
        exchange.message.initiatorIdentity,
        exchange.message.responderPrekeys,
        this.localResponder(user),
      ),
      now: unixNow(),
    });
    exchange.secret = accepted.secret;
    exchange.confirmation = accepted.confirmation;
    const answer = await this.post(FEDERATION_MESSAGES, { type: 'confirmation', confirmation: accepted.confirmation });
    if (answer.status === 202) exchange.status = 'confirmed';
    return answer;
  }

  user(address: string): PeerUser {
    const user = this.users.get(address);
    if (!user) throw new KeyPearsError('not_found', `no peer user ${address}`);
    return user;
  }

  // --- Requests from the node under test ------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    let status = 500;
    const answer = (code: number, body: unknown, headers: Record<string, string> = {}) => {
      status = code;
      res.writeHead(code, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    try {
      const body = await readBody(req);
      if (req.method === 'GET' && path === '/.well-known/keypears.json') {
        answer(200, this.document(), { 'cache-control': 'public, max-age=60' });
      } else if (req.method === 'GET' && path.startsWith('/api/v1/identities/')) {
        const user = this.users.get(decodeURIComponent(path.slice('/api/v1/identities/'.length)));
        if (!user) throw new KeyPearsError('not_found', 'no such address');
        answer(200, user.servedIdentity ? user.servedIdentity(user.identity) : user.identity, {
          'cache-control': 'no-store',
        });
      } else if (req.method === 'POST' && (path === FEDERATION_CLAIM || path === FEDERATION_MESSAGES)) {
        await this.verifyFederation(req, path, body);
        const json = JSON.parse(utf8Text(body)) as unknown;
        const user = this.users.get(subjectOf(path, json));
        const refusal = (path === FEDERATION_CLAIM ? user?.claimRefusals : user?.messageRefusals)?.shift();
        if (refusal)
          answer(refusal.status, { error: { code: refusal.code, message: 'refused by the conformance peer' } });
        else if (path === FEDERATION_CLAIM)
          answer(200, this.handOutBundle(parseWire(FederationClaimRequestSchema, json)));
        else answer(202, this.receive(json));
      } else {
        throw new KeyPearsError('not_found', 'no such route');
      }
    } catch (e) {
      const code = e instanceof KeyPearsError ? e.code : 'internal_error';
      const statuses: Record<string, number> = { not_found: 404, invalid_request: 400, conflict: 409 };
      const httpStatus = statuses[code] ?? (code === 'internal_error' ? 500 : code.startsWith('signature') ? 401 : 422);
      answer(httpStatus, { error: { code, message: e instanceof Error ? e.message : String(e) } });
    } finally {
      this.seen.push({ method: req.method ?? '', path, answered: status });
      for (const wake of [...this.waiters]) wake();
    }
  }

  /** docs/protocol.md §9.1, as the receiving node: destination, origin, domain, signature, nonce. */
  private async verifyFederation(req: IncomingMessage, path: string, body: Uint8Array): Promise<void> {
    const header = (name: string) => {
      const value = req.headers[name];
      if (typeof value !== 'string') throw new KeyPearsError('signature_malformed', `missing ${name}`);
      return value;
    };
    if (header('keypears-destination') !== this.url) throw new KeyPearsError('wrong_destination', 'not this node');
    if (header('keypears-origin') !== this.opts.target.url || header('keypears-domain') !== this.opts.target.domain) {
      throw new KeyPearsError('origin_not_authorized', 'only the node under test federates with this peer');
    }
    const verified = await verifyRequest({
      method: req.method ?? '',
      targetUri: `${this.url}${req.url ?? path}`,
      body,
      headers: req.headers,
      requiredHeaders: ['keypears-origin', 'keypears-destination', 'keypears-domain'],
      now: unixNow(),
      resolveKey: async (keyId) => {
        let key = currentNodeKeys(await this.targetKeys(false), unixNow()).find((k) => k.keyId === keyId);
        if (!key) key = currentNodeKeys(await this.targetKeys(true), unixNow()).find((k) => k.keyId === keyId);
        return key ? fromB64u(key.publicKey) : undefined;
      },
    });
    const nonce = `${verified.keyId} ${verified.nonce}`;
    if (this.nonces.has(nonce)) throw new KeyPearsError('replayed_request', 'nonce used before');
    this.nonces.add(nonce);
  }

  private async targetKeys(refetch: boolean): Promise<NodeDocument> {
    if (!this.targetDocument || refetch) {
      const answer = await send(`${this.opts.target.url}/.well-known/keypears.json`);
      this.targetDocument = parseNodeDocument(answer.json, this.opts.target.url, { allowHttp: true });
    }
    return this.targetDocument;
  }

  private handOutBundle(request: { requester: string; address: string }): unknown {
    if (!request.requester.endsWith(`@${this.opts.target.domain}`)) {
      throw new KeyPearsError('origin_not_authorized', 'the requester is not of the origin domain');
    }
    const user = this.users.get(request.address);
    if (!user) throw new KeyPearsError('not_found', 'no such address');
    const oneTimePrekey = user.oneTimePrekeys.shift();
    const pqOneTimePrekey = user.pqOneTimePrekeys.shift();
    const bundle: PrekeyBundle = {
      ...user.identity,
      ...(oneTimePrekey ? { oneTimePrekey } : {}),
      ...(pqOneTimePrekey ? { pqOneTimePrekey } : {}),
      usedLastResort: pqOneTimePrekey === undefined,
    };
    return user.servedBundle ? user.servedBundle(bundle) : bundle;
  }

  private receive(body: unknown): { exchangeId: string; status: ExchangeStatus } {
    const message = parseWire(FederationMessageSchema, body);
    if (message.type === 'initiation') {
      const { initiation } = message;
      const existing = this.exchanges.get(initiation.exchangeId);
      if (existing) {
        if (JSON.stringify(existing.initiation) !== JSON.stringify(initiation))
          throw new KeyPearsError('conflict', 'known id');
        return { exchangeId: initiation.exchangeId, status: existing.status };
      }
      const user = this.user(initiation.to);
      checkIncomingInitiation(
        initiation,
        message.initiatorIdentity,
        message.responderPrekeys,
        this.localResponder(user),
      );
      this.exchanges.set(initiation.exchangeId, { role: 'responder', status: 'delivered', initiation, message });
      return { exchangeId: initiation.exchangeId, status: 'delivered' };
    }
    const { confirmation } = message;
    const exchange = this.exchanges.get(confirmation.exchangeId);
    if (!exchange || exchange.role !== 'initiator' || !exchange.started)
      throw new KeyPearsError('not_found', 'no such exchange');
    verifyConfirmation({
      confirmation,
      initiation: exchange.initiation,
      responderIdentityKey: exchange.responderIdentityKey!,
      confirmKey: exchange.started.confirmKey,
      transcriptHash: exchange.started.transcriptHash,
    });
    exchange.status = 'confirmed';
    exchange.secret = exchange.started.secret;
    return { exchangeId: confirmation.exchangeId, status: 'confirmed' };
  }

  private localResponder(user: PeerUser) {
    return {
      address: user.ks.address,
      identityKey: ed25519PublicKey(user.ks.identitySecretKey),
      identityDhKey: x25519PublicKey(user.ks.identityDh.secretKey),
    };
  }
}

/** The peer user a federation claim or message is about: the claimed address, or the recipient. */
function subjectOf(path: string, json: unknown): string {
  const body = json as {
    address?: unknown;
    type?: unknown;
    initiation?: { to?: unknown };
    confirmation?: { to?: unknown };
  };
  const subject =
    path === FEDERATION_CLAIM
      ? body?.address
      : body?.type === 'initiation'
        ? body.initiation?.to
        : body?.confirmation?.to;
  return typeof subject === 'string' ? subject : '';
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new KeyPearsError('invalid_request', 'body too large');
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** The first 22 characters of base64url(SHA-256(public key)), as this repository's nodes derive key ids. */
const nodeKeyId = (publicKey: Uint8Array): string => toB64u(sha256(publicKey)).slice(0, 22);

const utf8Text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
