/**
 * Federation (docs/protocol.md §9): signed node-to-node requests and their refusals (§9.1),
 * claims (§9.2), initiations and confirmations (§9.3) and delivery (§9.4), with the suite's
 * peer node on the other side, and the exchange end to end in both roles (§7, §10).
 */
import { ed25519Keygen, randomBytes } from '../../protocol/crypto.js';
import { toB64u } from '../../protocol/encoding.js';
import { ExchangeViewSchema, InboxResponseSchema, type InitiationMessage } from '../../protocol/exchange-api.js';
import { LOW_ORDER_X25519, signPrekey } from '../../protocol/keys.js';
import { decodeBundle, PrekeyBundleSchema, type ExchangeConfirmation, type PrekeyBundle } from '../../protocol/wire.js';
import { acceptExchange, exchangeSecret, startExchange, waitForExchange } from '../../sdk/exchange.js';
import { profileParams, type Context, type User } from '../context.js';
import { check, equal, expectError, expectStatus } from '../harness.js';
import { contentDigest, freshNonce, rawSignature, send, unixNow, type Answer } from '../http.js';
import { signConfirmation } from '../messages.js';
import { FEDERATION_CLAIM, FEDERATION_MESSAGES, type PeerNode } from '../peer.js';
import { casesOf, type ConformanceCase } from './define.js';

const requestCase = casesOf('docs/protocol.md §9.1');
const claimCase = casesOf('docs/protocol.md §9.2');
const messageCase = casesOf('docs/protocol.md §9.3');
const deliveryCase = casesOf('docs/protocol.md §9.4');
const exchangeCase = casesOf('docs/protocol.md §10');
const limitCase = casesOf('docs/key-directory.md, Claim');

const ns = ['nameserver'] as const;

/** A federation claim by the peer for Carol, of Bob, each part of the request overridable. */
async function claimAsPeer(ctx: Context, opts: Parameters<PeerNode['post']>[2] = {}, body?: unknown): Promise<Answer> {
  const bob = await ctx.bob();
  return ctx.peer.post(FEDERATION_CLAIM, body ?? { requester: ctx.carol, address: bob.address }, opts);
}

/** A claim of Bob by the peer for a requester of `domain`, which it says it acts for. */
async function claimForDomain(ctx: Context, domain: string): Promise<Answer> {
  const bob = await ctx.bob();
  const body = { requester: `x@${domain}`, address: bob.address };
  return ctx.peer.post(FEDERATION_CLAIM, body, { covered: ctx.peer.covered({ domain }) });
}

/** A claim from the peer whose signature is made by hand (valid over its own base). */
async function rawClaimAsPeer(ctx: Context, components: (c: Record<string, string>) => Array<[string, string]>) {
  const bob = await ctx.bob();
  const url = ctx.api(FEDERATION_CLAIM);
  const body = JSON.stringify({ requester: ctx.carol, address: bob.address });
  const covered = ctx.peer.covered();
  const digest = contentDigest(body);
  const base = { '@method': 'POST', '@target-uri': url, 'content-digest': digest, ...covered };
  const signature = rawSignature({
    components: components(base),
    params: profileParams(ctx.peer.keyId),
    secretKey: ctx.peer.key.secretKey,
  });
  return send(url, { method: 'POST', body, headers: { ...covered, 'Content-Digest': digest, ...signature } });
}

interface Refusable {
  responder: User;
  from: string;
  bundle: PrekeyBundle;
  message: InitiationMessage;
}

/**
 * An initiation from a peer user to a node user of its own (whose bundle carries one-time
 * keys), not delivered: the refusal cases change a copy each; a refused initiation stores
 * nothing, so they can share it.
 */
const refusable = (ctx: Context): Promise<Refusable> =>
  ctx.once('an initiation to refuse', async () => {
    const responder = await ctx.newUser('refuser', 2);
    const from = ctx.peerUser('sender');
    const { answer, bundle } = await ctx.peer.claim(from, responder.address);
    check(bundle, `the peer's claim answered ${answer.status} ${answer.text.slice(0, 200)}`);
    return { responder, from, bundle, message: ctx.peer.derive(from, responder.address, bundle) };
  });

const postMessage = (ctx: Context, message: unknown) => ctx.peer.post(FEDERATION_MESSAGES, message);

/** A refusal case: `change` makes the message from the shared initiation. */
const refused = (
  name: string,
  status: number,
  code: string,
  change: (m: InitiationMessage, r: Refusable, ctx: Context) => unknown,
  section = messageCase,
) =>
  section(`federation initiation: ${name} -> ${status} ${code}`, async (ctx) => {
    const r = await refusable(ctx);
    const copy = structuredClone(r.message);
    expectError(await postMessage(ctx, change(copy, r, ctx)), status, code);
  });

interface Incoming {
  bob: User;
  from: string;
  message: InitiationMessage;
  first: Answer;
}

/** An initiation from a peer user to Bob, delivered. */
const incoming = (ctx: Context): Promise<Incoming> =>
  ctx.once('an initiation delivered to Bob', async () => {
    const bob = await ctx.bob();
    const from = ctx.peerUser('initiator');
    const message = await ctx.peer.initiation(from, bob.address);
    return { bob, from, message, first: await postMessage(ctx, message) };
  });

interface Outgoing {
  alice: User;
  to: string;
  id: string;
  /** What the peer saw while the node started the exchange. */
  seen: string[];
}

/** An exchange Alice starts with a peer user: claimed over federation and delivered to the peer. */
const outgoing = (ctx: Context): Promise<Outgoing> =>
  ctx.once('an exchange Alice starts with a peer user', async () => {
    const alice = await ctx.alice();
    const to = ctx.peerUser('responder');
    const before = ctx.peer.seen.length;
    const { id } = await startExchange(alice, to);
    await ctx.peer.waitFor(() => ctx.peer.exchanges.has(id), 'the initiation at the peer');
    const seen = ctx.peer.seen.slice(before).map((r) => `${r.method} ${r.path} ${r.answered}`);
    return { alice, to, id, seen };
  });

/** The same, confirmed by the peer user. */
const confirmedOutgoing = (ctx: Context) =>
  ctx.once('the exchange Alice started, confirmed', async () => {
    const out = await outgoing(ctx);
    const answer = await ctx.peer.accept(out.id);
    return { ...out, answer };
  });

/** A forged or foreign confirmation of Alice's exchange, from the peer. */
async function confirmOutgoing(ctx: Context, change: (c: ExchangeConfirmation) => ExchangeConfirmation) {
  const out = await outgoing(ctx);
  const user = ctx.peer.user(out.to);
  const confirmation = signConfirmation(
    { exchangeId: out.id, from: out.to, to: out.alice.address, mac: toB64u(randomBytes(32)) },
    user.ks.identitySecretKey,
  );
  return ctx.peer.post(FEDERATION_MESSAGES, { type: 'confirmation', confirmation: change(confirmation) });
}

/** A bundle of a peer user whose node answers the claim `peerStatus peerCode`: the node answers `status code`. */
const refusedClaim = (peerStatus: number, peerCode: string, status: number, code: string) =>
  claimCase(`exchange API: a peer answering a claim ${peerStatus} ${peerCode} -> ${status} ${code}`, async (ctx) => {
    const alice = await ctx.alice();
    const address = ctx.peerUser('refusing');
    ctx.peer.user(address).claimRefusals = [{ status: peerStatus, code: peerCode }];
    expectError(await ctx.signedAs(alice, 'POST', '/api/v1/exchanges/bundle', { address }), status, code);
  });

/** Posts until the node answers 429; every answer before it must be `before`. */
async function untilLimited(post: () => Promise<Answer>, before: number): Promise<Answer> {
  for (let i = 0; i < 200; i++) {
    const answer = await post();
    if (answer.status === 429) return answer;
    check(
      answer.status === before,
      `request ${i + 1}: expected ${before} until the limit, got ${answer.status} ${answer.text.slice(0, 200)}`,
    );
  }
  throw new Error('200 requests were answered without a 429');
}

export const federationCases: ConformanceCase[] = [
  claimCase('federation claim: a claim signed by the peer -> 200 a bundle that verifies', async (ctx) => {
    const bob = await ctx.bob();
    const bundle = PrekeyBundleSchema.parse(expectStatus(await claimAsPeer(ctx), 200, 'claim'));
    equal(decodeBundle(bundle, bob.address).address, bob.address, 'bundle address');
  }),
  claimCase('federation claim: one-time keys -> each handed out once, then usedLastResort', async (ctx) => {
    const target = await ctx.newUser('fedclaimed', 1);
    const claim = async () => {
      const answer = await ctx.peer.post(FEDERATION_CLAIM, { requester: ctx.carol, address: target.address });
      return decodeBundle(expectStatus(answer, 200, 'claim'), target.address);
    };
    const first = await claim();
    const second = await claim();
    equal(
      [first.oneTimePrekey !== undefined, first.pqOneTimePrekey !== undefined, first.usedLastResort],
      [true, true, false],
      'first claim: one-time keys of both kinds',
    );
    equal(
      [second.oneTimePrekey, second.pqOneTimePrekey, second.usedLastResort],
      [undefined, undefined, true],
      'second claim',
    );
  }),
  requestCase('federation claim: the same nonce twice -> 401 replayed_request', async (ctx) => {
    const nonce = freshNonce();
    expectStatus(await claimAsPeer(ctx, { nonce }), 200, 'first use');
    expectError(await claimAsPeer(ctx, { nonce }), 401, 'replayed_request', 'second use');
  }),
  requestCase('federation claim: keypears-destination another node -> 403 wrong_destination', async (ctx) => {
    const answer = await claimAsPeer(ctx, {
      covered: ctx.peer.covered({ destination: 'https://another-node.example' }),
    });
    expectError(answer, 403, 'wrong_destination');
  }),
  requestCase('federation claim: keypears-origin with a trailing "/" -> 401 signature_malformed', async (ctx) => {
    expectError(
      await claimAsPeer(ctx, { covered: ctx.peer.covered({ origin: `${ctx.peer.url}/` }) }),
      401,
      'signature_malformed',
    );
  }),
  requestCase('federation claim: keypears-origin with an upper-case scheme -> 401 signature_malformed', async (ctx) => {
    const origin = ctx.peer.url.replace(/^http/, 'HTTP');
    expectError(await claimAsPeer(ctx, { covered: ctx.peer.covered({ origin }) }), 401, 'signature_malformed');
  }),
  requestCase('federation claim: keypears-domain that is not a domain -> 401 signature_malformed', async (ctx) => {
    expectError(
      await claimAsPeer(ctx, { covered: ctx.peer.covered({ domain: 'not_a_domain' }) }),
      401,
      'signature_malformed',
    );
  }),
  requestCase('federation claim: keypears-domain the node serves itself -> 403 origin_not_authorized', async (ctx) => {
    const answer = await claimAsPeer(ctx, { covered: ctx.peer.covered({ domain: ctx.domain }) });
    expectError(answer, 403, 'origin_not_authorized');
  }),
  requestCase(
    'federation claim: a domain another node serves -> 403 origin_not_authorized, before the key id',
    async (ctx) => {
      expectError(await claimForDomain(ctx, ctx.other.domain), 403, 'origin_not_authorized');
    },
    ns,
  ),
  requestCase(
    'federation claim: a domain whose node is down -> 503 discovery_unavailable',
    async (ctx) => {
      const domain = ctx.subdomain('down');
      ctx.nameserver!.setTxt(`_keypears.${domain}`, 'v=KP1; node=http://127.0.0.1:9');
      expectError(await claimForDomain(ctx, domain), 503, 'discovery_unavailable');
    },
    ns,
  ),
  requestCase(
    'federation claim: a domain whose TXT record is malformed -> 502 discovery_record_invalid',
    async (ctx) => {
      const domain = ctx.subdomain('badrecord');
      ctx.nameserver!.setTxt(`_keypears.${domain}`, 'v=KP1; node=');
      expectError(await claimForDomain(ctx, domain), 502, 'discovery_record_invalid');
    },
    ns,
  ),
  requestCase('federation claim: a key id the peer does not publish -> 401 unknown_key', async (ctx) => {
    expectError(await claimAsPeer(ctx, { keyId: 'AAAAAAAAAAAAAAAAAAAAAA' }), 401, 'unknown_key');
  }),
  requestCase('federation claim: signed with another key -> 401 request_signature_invalid', async (ctx) => {
    expectError(await claimAsPeer(ctx, { secretKey: ed25519Keygen().secretKey }), 401, 'request_signature_invalid');
  }),
  requestCase('federation claim: expired -> 401 signature_expired', async (ctx) => {
    expectError(await claimAsPeer(ctx, { now: unixNow() - 400 }), 401, 'signature_expired');
  }),
  requestCase('federation claim: created 200 s ahead -> 401 signature_future', async (ctx) => {
    expectError(await claimAsPeer(ctx, { now: unixNow() + 200 }), 401, 'signature_future');
  }),
  requestCase('federation claim: the body changed -> 401 digest_mismatch', async (ctx) => {
    const alice = await ctx.alice();
    const sentBody = JSON.stringify({ requester: ctx.carol, address: alice.address });
    expectError(await claimAsPeer(ctx, { sentBody }), 401, 'digest_mismatch');
  }),
  requestCase('federation claim: no Signature header -> 401 signature_missing', async (ctx) => {
    expectError(await claimAsPeer(ctx, { omit: 'Signature' }), 401, 'signature_missing');
  }),
  requestCase('federation claim: keypears-origin not covered -> 401 signature_malformed', async (ctx) => {
    const answer = await rawClaimAsPeer(ctx, (c) => [
      ['@method', c['@method']],
      ['@target-uri', c['@target-uri']],
      ['content-digest', c['content-digest']],
      ['keypears-destination', c['keypears-destination']],
      ['keypears-domain', c['keypears-domain']],
    ]);
    expectError(answer, 401, 'signature_malformed');
  }),
  requestCase(
    'federation claim: the three headers covered in another order -> 401 signature_malformed',
    async (ctx) => {
      const answer = await rawClaimAsPeer(ctx, (c) => [
        ['@method', c['@method']],
        ['@target-uri', c['@target-uri']],
        ['content-digest', c['content-digest']],
        ['keypears-domain', c['keypears-domain']],
        ['keypears-origin', c['keypears-origin']],
        ['keypears-destination', c['keypears-destination']],
      ]);
      expectError(answer, 401, 'signature_malformed');
    },
  ),
  requestCase('federation claim: the three headers covered in order, signed by hand -> accepted', async (ctx) => {
    const answer = await rawClaimAsPeer(ctx, (c) =>
      ['@method', '@target-uri', 'content-digest', 'keypears-origin', 'keypears-destination', 'keypears-domain'].map(
        (name) => [name, c[name]] as [string, string],
      ),
    );
    expectStatus(answer, 200, 'claim');
  }),
  requestCase(
    'federation claim: signed with a key the peer published after the node read its document -> 200 (refetched)',
    async (ctx) => {
      const bob = await ctx.bob();
      const requester = ctx.peerUser('rotating', 0, ctx.other);
      const claim = () => ctx.other.post(FEDERATION_CLAIM, { requester, address: bob.address });
      expectStatus(await claim(), 200, 'a claim the node verifies with the key it read');
      ctx.other.rotateKey();
      expectStatus(await claim(), 200, 'a claim signed with the new key');
    },
    ns,
  ),
  requestCase('federation claim: a requester of another domain -> 403 origin_not_authorized', async (ctx) => {
    const bob = await ctx.bob();
    expectError(
      await claimAsPeer(ctx, {}, { requester: `x@${ctx.domain}`, address: bob.address }),
      403,
      'origin_not_authorized',
    );
  }),
  claimCase('federation claim: an unknown address -> 404 not_found', async (ctx) => {
    expectError(await claimAsPeer(ctx, {}, { requester: ctx.carol, address: ctx.local('nobody') }), 404, 'not_found');
  }),
  claimCase('federation claim: a body without address -> 400 invalid_request', async (ctx) => {
    expectError(await claimAsPeer(ctx, {}, { requester: ctx.carol }), 400, 'invalid_request');
  }),
  casesOf('docs/protocol.md §1.1')(
    'federation claim: an address not in canonical form -> 400 invalid_request',
    async (ctx) => {
      const bob = await ctx.bob();
      expectError(
        await claimAsPeer(ctx, {}, { requester: ctx.carol, address: bob.address.toUpperCase() }),
        400,
        'invalid_request',
      );
    },
  ),

  // --- Initiations to a node user ---------------------------------------------------------
  messageCase('federation initiation: a valid initiation -> 202 {exchangeId, status: delivered}', async (ctx) => {
    const { message, first } = await incoming(ctx);
    equal(
      expectStatus(first, 202, 'initiation'),
      { exchangeId: message.initiation.exchangeId, status: 'delivered' },
      'answer',
    );
  }),
  messageCase('federation initiation: the same message again -> 202, the same answer', async (ctx) => {
    const { message, first } = await incoming(ctx);
    equal(expectStatus(await postMessage(ctx, message), 202, 'again'), first.json, 'answer');
  }),
  messageCase('federation initiation: other content under a known exchange id -> 409 conflict', async (ctx) => {
    const { message } = await incoming(ctx);
    const changed = { ...message, initiation: { ...message.initiation, createdAt: message.initiation.createdAt - 1 } };
    expectError(await postMessage(ctx, changed), 409, 'conflict');
  }),
  exchangeCase(
    "exchange API: the responder's inbox -> the initiation, peerIdentity the initiator's identity",
    async (ctx) => {
      const { bob, from, message } = await incoming(ctx);
      const inbox = InboxResponseSchema.parse(await bob.client.inbox());
      const view = inbox.exchanges.find((e) => e.id === message.initiation.exchangeId);
      check(view, 'the exchange is not in the inbox');
      equal([view.role, view.peer, view.status], ['responder', from, 'delivered'], 'role, peer, status');
      equal(view.initiation, message.initiation, 'initiation');
      equal(view.peerIdentity, ctx.peer.user(from).identity, 'peerIdentity');
    },
  ),
  casesOf('docs/protocol.md §7')(
    'exchange, node user responding: accept -> confirmed, the peer receives a confirmation that verifies, one secret',
    async (ctx) => {
      const { bob, message } = await incoming(ctx);
      const id = message.initiation.exchangeId;
      equal((await acceptExchange(bob, id)).status, 'confirmed', 'status after accept');
      await ctx.peer.waitFor(() => ctx.peer.exchanges.get(id)?.status === 'confirmed', 'the confirmation at the peer');
      equal(
        toB64u(ctx.peer.exchanges.get(id)!.secret!),
        toB64u(Buffer.from(exchangeSecret(bob.ks, id), 'hex')),
        'secret',
      );
    },
  ),

  refused('a signature that does not verify', 422, 'bad_signature', (m) => ({
    ...m,
    initiation: { ...m.initiation, signature: toB64u(new Uint8Array(64).fill(7)) },
  })),
  refused("identity keys that are not initiatorIdentity's", 422, 'invalid_exchange', (m, _r, ctx) => ({
    ...m,
    initiation: { ...m.initiation, identityKey: ctx.peer.user(ctx.carol).identity.identityKey },
  })),
  refused('initiatorIdentity of another address', 422, 'invalid_exchange', (m, _r, ctx) => ({
    ...m,
    initiatorIdentity: ctx.peer.user(ctx.carol).identity,
  })),
  refused('initiatorIdentity whose fingerprint does not match its key', 422, 'invalid_exchange', (m, _r, ctx) => ({
    ...m,
    initiatorIdentity: { ...m.initiatorIdentity, fingerprint: ctx.peer.user(ctx.carol).identity.fingerprint },
  })),
  refused('a record of initiatorIdentity with a bad signature', 422, 'bad_signature', (m) => ({
    ...m,
    initiatorIdentity: {
      ...m.initiatorIdentity,
      signedPrekey: { ...m.initiatorIdentity.signedPrekey, signature: m.initiatorIdentity.identityDhKey.signature },
    },
  })),
  refused('a low-order key in initiatorIdentity, correctly signed', 422, 'invalid_key', (m, r, ctx) => {
    const lowOrder = Uint8Array.from(Buffer.from([...LOW_ORDER_X25519][1], 'hex'));
    const { ks } = ctx.peer.user(r.from);
    const id = m.initiatorIdentity.signedPrekey.id;
    const signature = signPrekey(
      { kind: 'signed-prekey', address: r.from, keyId: id, publicKey: lowOrder },
      ks.identitySecretKey,
    );
    return {
      ...m,
      initiatorIdentity: {
        ...m.initiatorIdentity,
        signedPrekey: { id, publicKey: toB64u(lowOrder), signature: toB64u(signature) },
      },
    };
  }),
  refused('a responderPrekeys record of another id', 422, 'invalid_exchange', (m) => ({
    ...m,
    responderPrekeys: {
      ...m.responderPrekeys,
      signedPrekey: { ...m.responderPrekeys.signedPrekey, id: m.responderPrekeys.signedPrekey.id + 1 },
    },
  })),
  refused('a responderPrekeys record with a bad signature', 422, 'bad_signature', (m) => ({
    ...m,
    responderPrekeys: {
      ...m.responderPrekeys,
      signedPrekey: { ...m.responderPrekeys.signedPrekey, signature: m.responderPrekeys.pqPrekey.signature },
    },
  })),
  refused('no oneTimePrekey record though the initiation names one', 422, 'invalid_exchange', (m) => {
    check(m.initiation.oneTimePrekeyId !== undefined, 'the shared initiation names no one-time prekey');
    const { oneTimePrekey: _dropped, ...rest } = m.responderPrekeys;
    return { ...m, responderPrekeys: rest };
  }),
  refused('createdAt 10 minutes ahead', 422, 'invalid_exchange', (_m, r, ctx) =>
    ctx.peer.derive(r.from, r.responder.address, r.bundle, unixNow() + 600),
  ),
  refused('createdAt 8 days ago', 422, 'exchange_expired', (_m, r, ctx) =>
    ctx.peer.derive(r.from, r.responder.address, r.bundle, unixNow() - 8 * 86_400),
  ),
  refused('to a domain the node does not serve', 403, 'domain_not_served', (m, _r, ctx) => ({
    ...m,
    initiation: { ...m.initiation, to: `x@unserved-${ctx.run}.example` },
  })),
  refused('to an unknown address', 404, 'not_found', (m, _r, ctx) => ({
    ...m,
    initiation: { ...m.initiation, to: ctx.local('nobody') },
  })),
  refused('from a domain other than keypears-domain', 403, 'origin_not_authorized', (m, _r, ctx) => ({
    ...m,
    initiation: { ...m.initiation, from: `x@${ctx.other.domain}` },
  })),
  refused('an unknown type', 400, 'invalid_request', (m) => ({ ...m, type: 'greeting' })),
  refused(
    'an unknown member',
    400,
    'invalid_request',
    (m) => ({ ...m, note: 'hello' }),
    casesOf('docs/protocol.md §5'),
  ),
  refused(
    'an exchange id not in canonical base64url',
    400,
    'invalid_request',
    (m) => ({
      ...m,
      initiation: { ...m.initiation, exchangeId: `${m.initiation.exchangeId.slice(0, 21)}B` },
    }),
    casesOf('docs/errors.md'),
  ),
  messageCase("federation initiation: the recipient blocks the sender's domain -> 403 blocked", async (ctx) => {
    const r = await refusable(ctx);
    await r.responder.client.block(ctx.peerDomain);
    try {
      expectError(await postMessage(ctx, r.message), 403, 'blocked');
    } finally {
      await r.responder.client.unblock(ctx.peerDomain);
    }
  }),
  messageCase("federation initiation: the recipient blocks the sender's address -> 403 blocked", async (ctx) => {
    const r = await refusable(ctx);
    await r.responder.client.block(r.from);
    try {
      expectError(await postMessage(ctx, r.message), 403, 'blocked');
    } finally {
      await r.responder.client.unblock(r.from);
    }
  }),
  messageCase(
    'federation initiation: refused -> nothing stored (not in the inbox, its exchange id still free)',
    async (ctx) => {
      const r = await refusable(ctx);
      const id = r.message.initiation.exchangeId;
      const inbox = async () => InboxResponseSchema.parse(await r.responder.client.inbox()).exchanges.map((e) => e.id);
      check(!(await inbox()).includes(id), 'a refused initiation is in the inbox');
      const answer = await postMessage(ctx, r.message);
      equal(expectStatus(answer, 202, 'initiation'), { exchangeId: id, status: 'delivered' }, 'answer');
      check((await inbox()).includes(id), 'the initiation is not in the inbox once delivered');
    },
  ),

  // --- The node's user initiating ----------------------------------------------------------
  casesOf('docs/protocol.md §7')(
    'exchange, node user initiating: the node claims over federation, then delivers the initiation',
    async (ctx) => {
      const out = await outgoing(ctx);
      check(out.seen.includes(`POST ${FEDERATION_CLAIM} 200`), `no claim reached the peer (${out.seen.join(', ')})`);
      check(
        out.seen.includes(`POST ${FEDERATION_MESSAGES} 202`),
        `no initiation reached the peer (${out.seen.join(', ')})`,
      );
      const view = await out.alice.client.getExchange(out.id, { waitSeconds: 10, status: 'pending' });
      equal(view.status, 'delivered', 'status once the peer answered 202');
    },
  ),
  exchangeCase("exchange API: the initiator's view -> peerIdentity is the responder's identity", async (ctx) => {
    const out = await outgoing(ctx);
    const view = ExchangeViewSchema.parse(await out.alice.client.getExchange(out.id));
    equal([view.role, view.peer], ['initiator', out.to], 'role and peer');
    equal(view.peerIdentity, ctx.peer.user(out.to).identity, 'peerIdentity');
  }),
  messageCase('federation confirmation: of an unknown exchange -> 404 not_found', async (ctx) => {
    const alice = await ctx.alice();
    const user = ctx.peer.user(ctx.carol);
    const confirmation = signConfirmation(
      { exchangeId: toB64u(randomBytes(16)), from: ctx.carol, to: alice.address, mac: toB64u(randomBytes(32)) },
      user.ks.identitySecretKey,
    );
    expectError(await ctx.peer.post(FEDERATION_MESSAGES, { type: 'confirmation', confirmation }), 404, 'not_found');
  }),
  messageCase('federation confirmation: not signed by the responder -> 422 bad_signature', async (ctx) => {
    const answer = await confirmOutgoing(ctx, (c) => ({ ...c, signature: toB64u(new Uint8Array(64).fill(5)) }));
    expectError(answer, 422, 'bad_signature');
  }),
  messageCase("federation confirmation: from another user than the exchange's peer -> 404 not_found", async (ctx) => {
    const out = await outgoing(ctx);
    const user = ctx.peer.user(ctx.carol);
    const answer = await confirmOutgoing(ctx, (c) =>
      signConfirmation({ ...c, from: ctx.carol, to: out.alice.address }, user.ks.identitySecretKey),
    );
    expectError(answer, 404, 'not_found');
  }),
  messageCase(
    'federation confirmation: from a domain other than keypears-domain -> 403 origin_not_authorized',
    async (ctx) => {
      const answer = await confirmOutgoing(ctx, (c) => ({ ...c, from: `x@${ctx.other.domain}` }));
      expectError(answer, 403, 'origin_not_authorized');
    },
  ),
  casesOf('docs/protocol.md §7')(
    "exchange, node user initiating: the peer's confirmation -> 202, confirmed, one secret",
    async (ctx) => {
      const out = await confirmedOutgoing(ctx);
      expectStatus(out.answer, 202, 'confirmation');
      const done = await waitForExchange(out.alice, out.id, { timeoutMs: 30_000 });
      equal(done.status, 'confirmed', 'status');
      equal(
        exchangeSecret(out.alice.ks, out.id),
        Buffer.from(ctx.peer.exchanges.get(out.id)!.secret!).toString('hex'),
        'secret',
      );
    },
  ),
  messageCase('federation confirmation: the same confirmation again -> 202', async (ctx) => {
    const out = await confirmedOutgoing(ctx);
    const confirmation = ctx.peer.exchanges.get(out.id)!.confirmation;
    check(confirmation, 'the peer kept no confirmation');
    const answer = await ctx.peer.post(FEDERATION_MESSAGES, { type: 'confirmation', confirmation });
    expectStatus(answer, 202, 'again');
  }),
  messageCase('federation confirmation: another confirmation of a confirmed exchange -> 409 conflict', async (ctx) => {
    await confirmedOutgoing(ctx);
    expectError(await confirmOutgoing(ctx, (c) => c), 409, 'conflict');
  }),

  // --- Delivery ----------------------------------------------------------------------------
  deliveryCase('delivery: a peer answering 503 -> retried until delivered', async (ctx) => {
    const alice = await ctx.alice();
    const to = ctx.peerUser('flaky');
    ctx.peer.user(to).messageRefusals = [{ status: 503, code: 'peer_unavailable' }];
    const { id } = await startExchange(alice, to);
    await ctx.peer.waitFor(() => ctx.peer.exchanges.has(id), 'the retried initiation at the peer');
    const view = await alice.client.getExchange(id, { waitSeconds: 10, status: 'pending' });
    equal(view.status, 'delivered', 'status');
  }),
  deliveryCase(
    'delivery: a peer refusing with 422 invalid_exchange -> failed, failureReason naming the code',
    async (ctx) => {
      const alice = await ctx.alice();
      const to = ctx.peerUser('refusing');
      ctx.peer.user(to).messageRefusals = [{ status: 422, code: 'invalid_exchange' }];
      const { id } = await startExchange(alice, to);
      const view = await alice.client.getExchange(id, { waitSeconds: 20, status: 'pending' });
      equal(view.status, 'failed', 'status');
      check(
        view.failureReason?.includes('invalid_exchange'),
        `failureReason ${view.failureReason} does not name the code`,
      );
    },
  ),
  claimCase('exchange API: a bundle of an address the peer does not know -> 404 not_found', async (ctx) => {
    const alice = await ctx.alice();
    const address = `nobody${ctx.run}@${ctx.peerDomain}`;
    expectError(await ctx.signedAs(alice, 'POST', '/api/v1/exchanges/bundle', { address }), 404, 'not_found');
  }),
  refusedClaim(503, 'peer_unavailable', 503, 'peer_unavailable'),
  refusedClaim(429, 'rate_limited', 429, 'rate_limited'),
  refusedClaim(403, 'blocked', 502, 'peer_error'),
  claimCase('exchange API: a peer bundle whose record signature fails -> 502 peer_error', async (ctx) => {
    const alice = await ctx.alice();
    const to = ctx.peerUser('badbundle');
    ctx.peer.user(to).servedBundle = (b) => ({
      ...b,
      signedPrekey: { ...b.signedPrekey, signature: b.pqLastResort.signature },
    });
    expectError(await ctx.signedAs(alice, 'POST', '/api/v1/exchanges/bundle', { address: to }), 502, 'peer_error');
  }),
  claimCase('exchange API: a peer bundle of another address -> 502 peer_error', async (ctx) => {
    const alice = await ctx.alice();
    const to = ctx.peerUser('otherbundle');
    const other = ctx.peer.user(ctx.carol).identity;
    ctx.peer.user(to).servedBundle = () => ({ ...other, usedLastResort: true });
    expectError(await ctx.signedAs(alice, 'POST', '/api/v1/exchanges/bundle', { address: to }), 502, 'peer_error');
  }),
];

/** Last in a run: they spend the budgets they test. */
export const rateLimitCases: ConformanceCase[] = [
  messageCase(
    'rate limits: initiations from one sender to one recipient past the hourly budget -> 429 rate_limited',
    async (ctx) => {
      const responder = await ctx.newUser('busy', 0);
      const from = ctx.peerUser('eager');
      const { answer, bundle } = await ctx.peer.claim(from, responder.address);
      check(bundle, `the peer's claim answered ${answer.status} ${answer.text.slice(0, 200)}`);
      const limited = await untilLimited(() => postMessage(ctx, ctx.peer.derive(from, responder.address, bundle)), 202);
      expectError(limited, 429, 'rate_limited');
    },
  ),
  limitCase(
    'rate limits: federation claims past the per-pair limit -> 429 rate_limited with Retry-After',
    async (ctx) => {
      const bob = await ctx.bob();
      const requester = ctx.peerUser('greedy', 0, ctx.other);
      const answer = await untilLimited(
        () => ctx.other.post(FEDERATION_CLAIM, { requester, address: bob.address }),
        200,
      );
      expectError(answer, 429, 'rate_limited');
    },
    ns,
  ),
  limitCase(
    'rate limits: claims of an unknown address past the limit -> 429 rate_limited, not 404',
    async (ctx) => {
      const requester = ctx.peerUser('prober', 0, ctx.other);
      const address = ctx.local('nobody');
      const answer = await untilLimited(() => ctx.other.post(FEDERATION_CLAIM, { requester, address }), 404);
      expectError(answer, 429, 'rate_limited');
    },
    ns,
  ),
];
