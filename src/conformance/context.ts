/**
 * What the conformance cases share: the node under test and its document, the suite's own
 * federation peers, nameserver and web server, and users made on demand. Fixtures are made
 * the first time a case asks for them and kept for the run, so a filtered run makes only what
 * its cases use; a fixture that cannot be made fails each case that needs it, with the reason.
 */
import { LoopbackNameserver } from '../dev/loopback-nameserver.js';
import { parseNodeDocument, type NodeDocument } from '../protocol/discovery.js';
import { toB64u } from '../protocol/encoding.js';
import { signPrekey, type PrekeyKind } from '../protocol/keys.js';
import type { PublicKeyRecord } from '../protocol/wire.js';
import { registerAccount, topUpPrekeys } from '../sdk/account.js';
import { NodeClient } from '../sdk/client.js';
import type { UserContext } from '../sdk/context.js';
import { buildRegistration, createKeystore } from '../sdk/identity.js';
import type { Keystore } from '../sdk/keystore.js';
import type { Need } from './harness.js';
import {
  contentDigest,
  freshNonce,
  rawSignature,
  send,
  signed,
  unixNow,
  type Answer,
  type SignOptions,
} from './http.js';
import { PeerNode } from './peer.js';
import { SiteServer } from './sites.js';

export interface ConformanceOptions {
  /** Base URL of the node under test, exactly as its node document names it. */
  node: string;
  /** A domain it serves; the first of its node document by default. */
  domain?: string;
  /** The peer's domain (the node under test must not serve it). */
  peerDomain?: string;
  /** Port of the suite's own nameserver on 127.0.0.1 (none: the operator publishes records). */
  dnsPort?: number;
  /** Port of the peer's HTTP server (0: any). */
  peerPort?: number;
  /** The peer's public base URL, when the node under test reaches it through a proxy. */
  peerUrl?: string;
  /**
   * Port of the suite's web server on 127.0.0.1 playing the domains' websites: the node under
   * test runs with KEYPEARS_DEV_WELL_KNOWN_PORT set to it (docs/discovery.md, "Development mode").
   */
  wellKnownPort?: number;
}

export interface User extends UserContext {
  address: string;
}

export interface RawRequest {
  method: string;
  path: string;
  body?: string;
  /** The method the signature base names (the sent one by default). */
  signedMethod?: string;
  /** Replaces the covered components (name and value), in order. */
  components?: Array<[string, string]>;
  /** Replaces everything after the inner list in `Signature-Input`. */
  params?: string;
  label?: string;
  /** Headers sent besides the signature's (after them, so they can replace them). */
  headers?: Record<string, string>;
}

/** Parameters of the profile, in its order, for a signature made now by `keyId`. */
export const profileParams = (keyId: string, created = unixNow(), expires = created + 120, nonce = freshNonce()) =>
  `;created=${created};expires=${expires};nonce="${nonce}";keyid="${keyId}";alg="ed25519"`;

export class Context {
  readonly node: string;
  readonly peerDomain: string;
  /** A token of this run, in every name it makes, so that runs against one node never collide. */
  readonly run = Math.random().toString(36).slice(2, 8);
  domain!: string;
  documentAnswer!: Answer;
  /** The node document, or undefined when it does not parse (its cases then fail). */
  document: NodeDocument | undefined;
  documentError: string | undefined;
  nameserver: LoopbackNameserver | undefined;
  sites: SiteServer | undefined;
  peer!: PeerNode;
  /** A second peer, for a domain the first one does not serve (needs the nameserver). */
  other!: PeerNode;
  /** A user of the peer with one-time keys, for cases that only need some peer address. */
  carol!: string;
  private readonly fixtures = new Map<string, Promise<unknown>>();
  private counter = 0;

  private constructor(readonly opts: ConformanceOptions) {
    this.node = opts.node.replace(/\/+$/, '');
    this.peerDomain = opts.peerDomain ?? 'peer.conformance.test';
  }

  /** Reads the node document, starts the peers (and the nameserver and web server when asked). */
  static async open(opts: ConformanceOptions, print: (text: string) => void): Promise<Context> {
    const ctx = new Context(opts);
    ctx.documentAnswer = await send(`${ctx.node}/.well-known/keypears.json`).catch((e: unknown) => {
      throw new Error(`cannot read the node document of ${ctx.node}: ${e instanceof Error ? e.message : String(e)}`);
    });
    try {
      ctx.document = parseNodeDocument(ctx.documentAnswer.json, ctx.node, { allowHttp: true });
    } catch (e) {
      ctx.documentError = e instanceof Error ? e.message : String(e);
    }
    const domain = opts.domain ?? ctx.document?.domains[0];
    if (!domain)
      throw new Error(`the node document of ${ctx.node} does not parse (${ctx.documentError}); pass --domain`);
    ctx.domain = domain;
    const target = { url: ctx.node, domain };
    ctx.peer = new PeerNode({ domain: ctx.peerDomain, port: opts.peerPort, publicUrl: opts.peerUrl, target });
    ctx.other = new PeerNode({ domain: `other.${ctx.peerDomain}`, target });
    try {
      if (opts.dnsPort) ctx.nameserver = await LoopbackNameserver.start(opts.dnsPort);
      // The web server plays node hosts named in the suite's records, and with --well-known-port
      // the domains' websites too.
      if (ctx.nameserver) {
        ctx.sites = new SiteServer();
        await ctx.sites.start(opts.wellKnownPort ?? 0);
      }
      await ctx.peer.start();
      await ctx.other.start();
    } catch (e) {
      await ctx.close();
      throw e;
    }
    ctx.carol = ctx.peer.addUser(`carol${ctx.run}`, 3).ks.address;
    if (ctx.nameserver) {
      ctx.nameserver.setTxt(`_keypears.${ctx.peerDomain}`, `v=KP1; node=${ctx.peer.url}`);
      ctx.nameserver.setTxt(`_keypears.${ctx.other.domain}`, `v=KP1; node=${ctx.other.url}`);
      print(
        `# nameserver on ${ctx.nameserver.address}: the node under test must run with ` +
          `KEYPEARS_DNS_SERVERS=${ctx.nameserver.address} KEYPEARS_DEV=1`,
      );
    }
    if (ctx.sites && opts.wellKnownPort !== undefined) {
      print(
        `# websites on 127.0.0.1:${ctx.sites.port}: the node under test must run with KEYPEARS_DEV_WELL_KNOWN_PORT=${ctx.sites.port}`,
      );
    }
    print(`# node ${ctx.node}, domain ${domain}; peer ${ctx.peer.url} for ${ctx.peerDomain}`);
    return ctx;
  }

  /** What the cases may use beyond the node and the peer. */
  get available(): Set<Need> {
    const needs = new Set<Need>();
    if (this.nameserver) needs.add('nameserver');
    if (this.nameserver && this.opts.wellKnownPort !== undefined) needs.add('wellKnown');
    return needs;
  }

  async close(): Promise<void> {
    await Promise.all([this.peer.stop(), this.other.stop(), this.nameserver?.stop(), this.sites?.stop()]);
  }

  /** A fixture made once per run; its failure fails every case that asks for it. */
  once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let fixture = this.fixtures.get(key) as Promise<T> | undefined;
    if (!fixture) {
      fixture = make().catch((e: unknown) => {
        throw new Error(`setting up ${key} failed: ${e instanceof Error ? e.message : String(e)}`);
      });
      this.fixtures.set(key, fixture);
    }
    return fixture;
  }

  /** A name no other part of this run uses. */
  unique(name: string): string {
    return `${name}${++this.counter}`;
  }

  /** A fresh address of the domain under test (not registered). */
  local(name: string): string {
    return `cf${this.run}-${this.unique(name)}@${this.domain}`;
  }

  /** A fresh domain under the peer's domain, for a discovery case. */
  subdomain(label: string): string {
    return `${this.unique(label)}-${this.run}.${this.peerDomain}`;
  }

  /** A fresh user of `peer` (the suite's peer by default) with `oneTime` one-time keys of each kind. */
  peerUser(label: string, oneTime = 3, peer = this.peer, domain?: string): string {
    return peer.addUser(`${this.unique(label)}x${this.run}`, oneTime, domain).ks.address;
  }

  api(path: string): string {
    return `${this.node}${path}`;
  }

  identityPath(address: string): string {
    return `/api/v1/identities/${encodeURIComponent(address)}`;
  }

  clientOf(address: string, secretKey: Uint8Array): NodeClient {
    return new NodeClient({ baseUrl: this.node, signer: { address, secretKey }, allowInsecureHttp: true });
  }

  /**
   * A registered user of the node: with `prekeys` one-time keys of each kind besides a signed
   * prekey and a last-resort key, or with no keys at all (`null`: invisible to lookups).
   */
  async newUser(name: string, prekeys: number | null): Promise<User> {
    const ks = createKeystore(this.local(name), this.node, unixNow());
    const user: User = {
      address: ks.address,
      ks,
      client: this.clientOf(ks.address, ks.identitySecretKey),
      save: async () => {},
    };
    await registerAccount(user);
    if (prekeys !== null) await topUpPrekeys(user, prekeys);
    return user;
  }

  /** The run's two everyday users (read-mostly: cases that count keys make their own). */
  alice(): Promise<User> {
    return this.once('alice', () => this.newUser('alice', 5));
  }

  bob(): Promise<User> {
    return this.once('bob', () => this.newUser('bob', 3));
  }

  /** A key record of `user`, signed for `kind` and `id` (or as `signAs` says, to sign it wrong). */
  record(
    user: User,
    kind: PrekeyKind,
    id: number,
    publicKey: Uint8Array,
    signAs: Partial<{ kind: PrekeyKind; address: string; keyId: number }> = {},
  ): PublicKeyRecord {
    const statement = { kind, address: user.address, keyId: id, publicKey, ...signAs };
    return { id, publicKey: toB64u(publicKey), signature: toB64u(signPrekey(statement, user.ks.identitySecretKey)) };
  }

  /** `POST /api/v1/accounts` for a fresh address, the request changed by `change` (given its keystore) first. */
  register(
    name: string,
    change: (r: Record<string, unknown>, ks: Keystore) => void = () => {},
    proofTime = unixNow(),
    address?: string,
  ) {
    const ks = createKeystore(address ?? this.local(name), this.node, proofTime);
    const request = buildRegistration(ks, proofTime) as unknown as Record<string, unknown>;
    change(request, ks);
    return send(this.api('/api/v1/accounts'), { body: request });
  }

  /** A request signed by `user` under the profile (docs/protocol.md §6), each part overridable. */
  signedAs(
    user: User,
    method: string,
    path: string,
    body?: unknown,
    sign: Partial<SignOptions> = {},
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const url = this.api(path);
    const request = signed(method, url, text, { keyId: user.address, secretKey: user.ks.identitySecretKey, ...sign });
    return send(url, { ...request, headers: { ...request.headers, ...headers } });
  }

  /** A request whose signature is made by hand (see `rawSignature`), valid over its own base. */
  rawSignedAs(user: User, request: RawRequest): Promise<Answer> {
    const url = this.api(request.path);
    const body = request.body ?? '';
    const digest = contentDigest(body);
    const components: Array<[string, string]> = request.components ?? [
      ['@method', request.signedMethod ?? request.method],
      ['@target-uri', url],
      ['content-digest', digest],
    ];
    const signature = rawSignature({
      components,
      params: request.params ?? profileParams(user.address),
      label: request.label,
      secretKey: user.ks.identitySecretKey,
    });
    const headers = {
      'Content-Digest': digest,
      ...signature,
      ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...request.headers,
    };
    return send(url, { method: request.method, body: request.body, headers });
  }

  /** `GET /api/v1/resolve/{address}`. */
  resolve(address: string): Promise<Answer> {
    return send(this.api(`/api/v1/resolve/${encodeURIComponent(address)}`));
  }
}
