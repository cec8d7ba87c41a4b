/**
 * The conformance suite (docs/conformance.md): drives a node from the outside, as its clients
 * and as a federation peer, over every documented behaviour, and reports one line per case.
 * Built from src/protocol, src/sdk and src/net only, so that it tests the wire, not the code.
 */
import { LoopbackNameserver } from '../dev/loopback-nameserver.js';
import { ed25519Keygen, x25519Keygen } from '../protocol/crypto.js';
import { parseNodeDocument } from '../protocol/discovery.js';
import { toB64u } from '../protocol/encoding.js';
import { ExchangeViewSchema, InboxResponseSchema } from '../protocol/exchange-api.js';
import { identityFingerprint } from '../protocol/fingerprint.js';
import { LOW_ORDER_X25519, signPrekey, type PrekeyKind } from '../protocol/keys.js';
import {
  decodeBundle,
  decodePublicIdentity,
  PrekeyBundleSchema,
  PublicIdentitySchema,
  type PublicKeyRecord,
} from '../protocol/wire.js';
import { registerAccount, topUpPrekeys } from '../sdk/account.js';
import { NodeClient } from '../sdk/client.js';
import type { UserContext } from '../sdk/context.js';
import {
  acceptExchange,
  exchangeSecret,
  refreshExchange,
  startExchange,
  waitForExchange,
  waitForInbox,
} from '../sdk/exchange.js';
import { buildRegistration, createKeystore } from '../sdk/identity.js';
import { check, equal, expectError, expectStatus, Runner, type Line } from './harness.js';
import { send, signed, unixNow, type Answer, type SignOptions } from './http.js';
import { FEDERATION_CLAIM, FEDERATION_MESSAGES, PeerNode } from './peer.js';

export interface ConformanceOptions {
  /** Base URL of the node under test, exactly as its node document names it. */
  node: string;
  /** A domain it serves; the first of its node document by default. */
  domain?: string;
  /** The peer's domain (the node under test must not serve it). */
  peerDomain?: string;
  /** Port of the suite's own nameserver on 127.0.0.1 (0: none; the operator publishes records). */
  dnsPort?: number;
  /** Port of the peer's HTTP server (0: any). */
  peerPort?: number;
  /** The peer's public base URL, when the node under test reaches it through a proxy. */
  peerUrl?: string;
  print?: Line;
}

interface User extends UserContext {
  address: string;
}

/** Runs every case; resolves to the runner holding the counts. */
export async function runConformance(opts: ConformanceOptions): Promise<Runner> {
  const print = opts.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  const runner = new Runner(print);
  const node = opts.node.replace(/\/+$/, '');
  const documentAnswer = await send(`${node}/.well-known/keypears.json`);
  const document = parseNodeDocument(documentAnswer.json, node, { allowHttp: true });
  const domain = opts.domain ?? document.domains[0];
  const peerDomain = opts.peerDomain ?? 'peer.conformance.test';
  const run = Math.random().toString(36).slice(2, 8);
  const local = (name: string) => `cf${run}-${name}@${domain}`;

  const nameserver = opts.dnsPort ? await LoopbackNameserver.start(opts.dnsPort) : undefined;
  const peer = new PeerNode({
    domain: peerDomain,
    port: opts.peerPort,
    publicUrl: opts.peerUrl,
    target: { url: node, domain },
  });
  await peer.start();
  const other = new PeerNode({ domain: `other.${peerDomain}`, target: { url: node, domain } });
  await other.start();
  const carol = peer.addUser(`carol${run}`, 3).ks.address;
  const dana = peer.addUser(`dana${run}`, 3).ks.address;
  if (nameserver) {
    print(
      `# nameserver on ${nameserver.address}: the node under test must run with KEYPEARS_DNS_SERVERS=${nameserver.address} KEYPEARS_DEV=1`,
    );
    nameserver.setTxt(`_keypears.${peerDomain}`, `v=KP1; node=${peer.url}`);
    nameserver.setTxt(`_keypears.other.${peerDomain}`, `v=KP1; node=${other.url}`);
  }
  print(`# node ${node}, domain ${domain}; peer ${peer.url} for ${peerDomain}`);

  const api = (path: string) => `${node}${path}`;
  const clientOf = (address: string, secretKey: Uint8Array) =>
    new NodeClient({ baseUrl: node, signer: { address, secretKey }, allowInsecureHttp: true });
  const signedAs = (user: User, method: string, path: string, body?: unknown, sign: Partial<SignOptions> = {}) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return send(
      api(path),
      signed(method, api(path), text, { keyId: user.address, secretKey: user.ks.identitySecretKey, ...sign }),
    );
  };
  const newUser = async (name: string, prekeys: number): Promise<User> => {
    const ks = createKeystore(local(name), node, unixNow());
    const user: User = {
      address: ks.address,
      ks,
      client: clientOf(ks.address, ks.identitySecretKey),
      save: async () => {},
    };
    await registerAccount(user);
    if (prekeys > 0) await topUpPrekeys(user, prekeys);
    return user;
  };
  const record = (user: User, kind: PrekeyKind, id: number, publicKey: Uint8Array): PublicKeyRecord => ({
    id,
    publicKey: toB64u(publicKey),
    signature: toB64u(signPrekey({ kind, address: user.address, keyId: id, publicKey }, user.ks.identitySecretKey)),
  });

  let alice!: User;
  let bob!: User;
  try {
    // --- Discovery answers -----------------------------------------------------------
    await runner.case('discovery: the node document (docs/discovery.md §1)', async () => {
      expectStatus(documentAnswer, 200, 'GET /.well-known/keypears.json');
      equal(document.protocol, 'KP1', 'protocol');
      check(document.domains.includes(domain), `the document does not list ${domain}`);
      check(
        document.keys.some((k) => k.notAfter === null),
        'no current key',
      );
      check(/max-age=\d+/.test(documentAnswer.headers.get('cache-control') ?? ''), 'no Cache-Control max-age');
    });

    // --- Registration --------------------------------------------------------------------
    await runner.case('registration: 201 with address, fingerprint and node', async () => {
      alice = await newUser('alice', 5);
      bob = await newUser('bob', 2);
      const status = await alice.client.getAccount();
      equal(status.oneTimePrekeys, 5, 'one-time prekeys after the upload');
      check(/^[0-9a-f]{4}( [0-9a-f]{4}){7}$/.test(status.fingerprint), 'fingerprint is not the display form');
    });
    const registration = (name: string, change: (r: Record<string, unknown>) => void = () => {}, now = unixNow()) => {
      const ks = createKeystore(local(name), node, now);
      const request = buildRegistration(ks, now) as unknown as Record<string, unknown>;
      change(request);
      return send(api('/api/v1/accounts'), { body: request });
    };
    await runner.case('registration: the same address again is 409 address_taken', async () => {
      const ks = { ...alice.ks, identitySecretKey: ed25519Keygen().secretKey };
      expectError(
        await send(api('/api/v1/accounts'), { body: buildRegistration(ks, unixNow()) }),
        409,
        'address_taken',
        'second registration',
      );
    });
    await runner.case('registration: refusals (docs/key-directory.md, "Registration")', async () => {
      const foreign = createKeystore(`x${run}@unserved-${run}.example`, node, unixNow());
      expectError(
        await send(api('/api/v1/accounts'), { body: buildRegistration(foreign, unixNow()) }),
        403,
        'domain_not_served',
        'unserved domain',
      );
      const elsewhere = createKeystore(local('elsewhere'), 'https://another-node.example', unixNow());
      expectError(
        await send(api('/api/v1/accounts'), { body: buildRegistration(elsewhere, unixNow()) }),
        422,
        'bad_signature',
        'proof for another node',
      );
      expectError(await registration('old', () => {}, unixNow() - 400), 422, 'proof_expired', 'proof 400 s old');
      expectError(
        await registration('shortkey', (r) => ((r.identityDhKey as Record<string, unknown>).publicKey = 'AAAA')),
        422,
        'invalid_key',
        'short identity DH key',
      );
      expectError(await registration('shortproof', (r) => (r.proof = 'AAAA')), 422, 'bad_signature', 'short proof');
      expectError(await registration('extra', (r) => (r.extra = 1)), 400, 'invalid_request', 'unknown member');
      expectError(
        await registration('Upper', (r) => (r.address = String(r.address).toUpperCase())),
        400,
        'invalid_request',
        'non-canonical address in a body',
      );
      expectError(await send(api('/api/v1/accounts'), { body: '{"address":' }), 400, 'invalid_json', 'truncated JSON');
      expectError(
        await send(api('/api/v1/accounts'), { body: 'hello', headers: { 'content-type': 'text/plain' } }),
        415,
        'unsupported_media_type',
        'text/plain body',
      );
    });

    // --- Uploads -----------------------------------------------------------------------
    const upload = (user: User, body: unknown) => signedAs(user, 'POST', '/api/v1/accounts/me/prekeys', body);
    await runner.case('uploads: refusals (docs/key-directory.md, "Publishing prekeys")', async () => {
      const id = alice.ks.nextKeyId + 1000;
      const key = x25519Keygen().publicKey;
      const moved = { ...record(alice, 'signed-prekey', id, key) };
      expectError(
        await upload(alice, { oneTimePrekeys: [moved] }),
        422,
        'bad_signature',
        'a signed prekey uploaded as one-time',
      );
      const lowOrder = Uint8Array.from(Buffer.from([...LOW_ORDER_X25519][1], 'hex'));
      expectError(
        await upload(alice, { oneTimePrekeys: [record(alice, 'one-time-prekey', id, lowOrder)] }),
        422,
        'invalid_key',
        'low-order key',
      );
      const used = [...alice.ks.oneTimePrekeys.keys()][0];
      expectError(
        await upload(alice, { oneTimePrekeys: [record(alice, 'one-time-prekey', used, key)] }),
        409,
        'conflict',
        'a one-time id already stored',
      );
      const many = Array.from({ length: 101 }, (_, i) =>
        record(alice, 'one-time-prekey', id + 1 + i, x25519Keygen().publicKey),
      );
      expectError(await upload(alice, { oneTimePrekeys: many }), 413, 'payload_too_large', '101 keys');
      const twice = record(alice, 'one-time-prekey', id, key);
      expectError(await upload(alice, { oneTimePrekeys: [twice, twice] }), 400, 'invalid_request', 'duplicate ids');
      expectError(await upload(alice, {}), 400, 'invalid_request', 'empty upload');
    });
    await runner.case('uploads: the per-account cap is 409 prekey_limit', async () => {
      const dave = await newUser('dave', 0);
      let next = 1_000_000;
      let last: Answer | undefined;
      for (let batch = 0; batch < 11; batch++) {
        const keys = Array.from({ length: 100 }, () =>
          record(dave, 'one-time-prekey', next++, x25519Keygen().publicKey),
        );
        last = await upload(dave, { oneTimePrekeys: keys });
        if (last.status !== 200) break;
      }
      expectError(last!, 409, 'prekey_limit', 'upload past the cap');
    });

    // --- Lookups and claims ------------------------------------------------------------
    await runner.case('lookup: any spelling, canonical answer, every signature verifies', async () => {
      const answer = await send(api(`/api/v1/identities/${encodeURIComponent(alice.address.toUpperCase())}`));
      const identity = PublicIdentitySchema.parse(expectStatus(answer, 200, 'lookup'));
      equal(decodePublicIdentity(identity, alice.address).address, alice.address, 'address');
      check(/public, max-age=\d+/.test(answer.headers.get('cache-control') ?? ''), 'no Cache-Control');
    });
    await runner.case('lookup: unknown, no keys and unserved all answer the same 404', async () => {
      const carl = createKeystore(local('nokeys'), node, unixNow());
      expectStatus(await send(api('/api/v1/accounts'), { body: buildRegistration(carl, unixNow()) }), 201, 'register');
      for (const address of [local('nobody'), carl.address, `x@unserved-${run}.example`]) {
        const answer = await send(api(`/api/v1/identities/${encodeURIComponent(address)}`));
        expectError(answer, 404, 'not_found', address);
        equal(answer.json, { error: { code: 'not_found', message: 'no such address' } }, `404 body for ${address}`);
      }
      expectError(await send(api('/api/v1/identities/a..b%40x.example')), 400, 'invalid_address', 'malformed address');
    });
    await runner.case('claims: one-time keys are handed out once, then the last resort', async () => {
      const claimed = [];
      for (let i = 0; i < 3; i++) claimed.push(await alice.client.claim(bob.address));
      const ids = claimed.slice(0, 2).map((b) => [b.oneTimePrekey?.id, b.pqOneTimePrekey?.id]);
      check(
        ids.every(([x, pq]) => x !== undefined && pq !== undefined),
        'the first two claims lack one-time keys',
      );
      check(ids[0][0] !== ids[1][0] && ids[0][1] !== ids[1][1], 'a one-time key was handed out twice');
      equal(
        [claimed[2].oneTimePrekey, claimed[2].pqOneTimePrekey, claimed[2].usedLastResort],
        [undefined, undefined, true],
        'third claim',
      );
      expectError(
        await send(api(`/api/v1/identities/${encodeURIComponent(bob.address)}/claim`), { method: 'POST' }),
        401,
        'signature_missing',
        'unsigned claim',
      );
    });

    // --- Signed client requests ----------------------------------------------------------
    await runner.case('signed requests: replay, window, destination, digest, key (docs/protocol.md §6)', async () => {
      const me = '/api/v1/accounts/me';
      const nonce = toB64u(ed25519Keygen().publicKey.slice(0, 16));
      expectStatus(await signedAs(alice, 'GET', me, undefined, { nonce }), 200, 'signed GET');
      expectError(await signedAs(alice, 'GET', me, undefined, { nonce }), 401, 'replayed_request', 'replay');
      expectError(
        await signedAs(alice, 'GET', me, undefined, { now: unixNow() - 400 }),
        401,
        'signature_expired',
        'expired',
      );
      expectError(
        await signedAs(alice, 'GET', me, undefined, { now: unixNow() + 200 }),
        401,
        'signature_future',
        'future',
      );
      expectError(
        await signedAs(alice, 'GET', me, undefined, { targetUri: `https://another-node.example${me}` }),
        401,
        'request_signature_invalid',
        'signed for another node',
      );
      expectError(
        await signedAs(alice, 'GET', me, undefined, { secretKey: ed25519Keygen().secretKey }),
        401,
        'request_signature_invalid',
        'wrong key',
      );
      expectError(
        await signedAs(alice, 'GET', me, undefined, { keyId: local('nobody') }),
        401,
        'unknown_key',
        'unknown key id',
      );
      const request = signed('POST', api('/api/v1/blocks'), '{"pattern":"x@y.example"}', {
        keyId: alice.address,
        secretKey: alice.ks.identitySecretKey,
      });
      expectError(
        await send(api('/api/v1/blocks'), { ...request, body: '{"pattern":"z@y.example"}' }),
        401,
        'digest_mismatch',
        'body changed',
      );
      const good = signed('GET', api(me), undefined, { keyId: alice.address, secretKey: alice.ks.identitySecretKey });
      const input = good.headers!['Signature-Input'].replace(/;alg="ed25519"$/, '').replace(/\);/, ');alg="ed25519";');
      expectError(
        await send(api(me), { headers: { ...good.headers, 'Signature-Input': input } }),
        401,
        'signature_malformed',
        'parameters in another order',
      );
    });

    // --- Federation: signed node-to-node requests (docs/protocol.md §9.1, §9.2) ----------
    const claimBody = () => ({ requester: carol, address: bob.address });
    await runner.case('federation claim: a signed claim answers a bundle that verifies', async () => {
      const answer = await peer.post(FEDERATION_CLAIM, claimBody());
      const bundle = PrekeyBundleSchema.parse(expectStatus(answer, 200, 'claim'));
      equal(decodeBundle(bundle, bob.address).address, bob.address, 'bundle address');
    });
    await runner.case('federation claim: every refusal of §9.1', async () => {
      const body = claimBody();
      const nonce = toB64u(ed25519Keygen().publicKey.slice(0, 16));
      expectStatus(await peer.post(FEDERATION_CLAIM, body, { nonce }), 200, 'first use of a nonce');
      expectError(await peer.post(FEDERATION_CLAIM, body, { nonce }), 401, 'replayed_request', 'replay');
      expectError(
        await peer.post(FEDERATION_CLAIM, body, {
          covered: peer.covered({ destination: 'https://another-node.example' }),
        }),
        403,
        'wrong_destination',
        'another destination',
      );
      expectError(
        await peer.post(FEDERATION_CLAIM, body, { covered: peer.covered({ origin: `${peer.url}/` }) }),
        401,
        'signature_malformed',
        'origin with a trailing slash',
      );
      expectError(
        await peer.post(FEDERATION_CLAIM, body, { covered: peer.covered({ domain }) }),
        403,
        'origin_not_authorized',
        'a domain the node serves itself',
      );
      expectError(
        await peer.post(FEDERATION_CLAIM, body, { keyId: 'AAAAAAAAAAAAAAAAAAAAAA' }),
        401,
        'unknown_key',
        'a key id the peer does not publish',
      );
      expectError(
        await peer.post(FEDERATION_CLAIM, body, { secretKey: ed25519Keygen().secretKey }),
        401,
        'request_signature_invalid',
        'another key',
      );
      expectError(
        await peer.post(FEDERATION_CLAIM, body, { now: unixNow() - 400 }),
        401,
        'signature_expired',
        'expired',
      );
      expectError(await peer.post(FEDERATION_CLAIM, body, { now: unixNow() + 200 }), 401, 'signature_future', 'future');
      expectError(
        await peer.post(FEDERATION_CLAIM, body, { sentBody: JSON.stringify({ ...body, address: alice.address }) }),
        401,
        'digest_mismatch',
        'body changed',
      );
      expectError(
        await peer.post(FEDERATION_CLAIM, body, { omit: 'Signature' }),
        401,
        'signature_missing',
        'no Signature',
      );
      expectError(
        await peer.post(FEDERATION_CLAIM, { requester: `x@${domain}`, address: bob.address }),
        403,
        'origin_not_authorized',
        'a requester of another domain',
      );
      expectError(
        await peer.post(FEDERATION_CLAIM, { requester: carol, address: local('nobody') }),
        404,
        'not_found',
        'unknown address',
      );
      expectError(await peer.post(FEDERATION_CLAIM, { requester: carol }), 400, 'invalid_request', 'malformed body');
    });
    if (nameserver) {
      await runner.case(
        'federation claim: a domain another node serves is 403 origin_not_authorized, before the key',
        async () => {
          const covered = peer.covered({ domain: other.domain });
          expectError(
            await peer.post(FEDERATION_CLAIM, { requester: `x@${other.domain}`, address: bob.address }, { covered }),
            403,
            'origin_not_authorized',
            'signed by the peer for the other node’s domain',
          );
          nameserver.setTxt(`_keypears.down.${peerDomain}`, `v=KP1; node=http://127.0.0.1:9`);
          const down = peer.covered({ domain: `down.${peerDomain}` });
          expectError(
            await peer.post(
              FEDERATION_CLAIM,
              { requester: `x@down.${peerDomain}`, address: bob.address },
              { covered: down },
            ),
            503,
            'discovery_unavailable',
            'a domain whose node is down',
          );
        },
      );
    } else {
      runner.skip('federation claim: a domain another node serves', 'needs the suite’s nameserver (--dns-port)');
    }

    // --- Federation messages: bob (node under test) receives from carol (peer) -----------
    await runner.case('exchange, node under test responding: delivered, idempotent, accepted, confirmed', async () => {
      const message = await peer.initiation(carol, bob.address);
      const id = message.initiation.exchangeId;
      const first = expectStatus(await peer.post(FEDERATION_MESSAGES, message), 202, 'initiation');
      equal(first, { exchangeId: id, status: 'delivered' }, 'answer');
      equal(
        expectStatus(await peer.post(FEDERATION_MESSAGES, message), 202, 'same initiation again'),
        first,
        'idempotent answer',
      );
      const changed = {
        ...message,
        initiation: { ...message.initiation, createdAt: message.initiation.createdAt - 1 },
      };
      expectError(await peer.post(FEDERATION_MESSAGES, changed), 409, 'conflict', 'other content under a known id');
      const inbox = InboxResponseSchema.parse(await bob.client.inbox());
      const view = inbox.exchanges.find((e) => e.id === id);
      check(view, 'the exchange is not in the inbox');
      equal(view.peerIdentity, peer.user(carol).identity, 'peerIdentity of the responder’s view is the initiator');
      equal((await acceptExchange(bob, id)).status, 'confirmed', 'accept');
      await peer.waitFor(() => peer.exchanges.get(id)?.status === 'confirmed', 'the confirmation at the peer');
      equal(toB64u(peer.exchanges.get(id)!.secret!), toB64u(Buffer.from(exchangeSecret(bob.ks, id), 'hex')), 'secret');
    });
    await runner.case('federation messages: every initiation refusal of §9.3', async () => {
      const fresh = () => peer.initiation(carol, bob.address);
      const post = (m: unknown) => peer.post(FEDERATION_MESSAGES, m);
      let m = await fresh();
      expectError(
        await post({ ...m, initiation: { ...m.initiation, signature: toB64u(new Uint8Array(64).fill(7)) } }),
        422,
        'bad_signature',
        'initiation signature',
      );
      m = await fresh();
      expectError(
        await post({ ...m, initiation: { ...m.initiation, identityKey: peer.user(dana).identity.identityKey } }),
        422,
        'invalid_exchange',
        'keys that are not the initiator’s identity',
      );
      m = await fresh();
      const badRecord = { ...m.initiatorIdentity.signedPrekey, signature: toB64u(new Uint8Array(64).fill(9)) };
      expectError(
        await post({ ...m, initiatorIdentity: { ...m.initiatorIdentity, signedPrekey: badRecord } }),
        422,
        'bad_signature',
        'a record of initiatorIdentity',
      );
      expectError(
        await post(await peer.initiation(carol, bob.address, unixNow() + 600)),
        422,
        'invalid_exchange',
        'createdAt 10 minutes ahead',
      );
      expectError(
        await post(await peer.initiation(carol, bob.address, unixNow() - 8 * 86_400)),
        422,
        'exchange_expired',
        'createdAt 8 days ago',
      );
      m = await fresh();
      expectError(
        await post({ ...m, initiation: { ...m.initiation, to: `x@unserved-${run}.example` } }),
        403,
        'domain_not_served',
        'to a domain not served',
      );
      expectError(
        await post({ ...m, initiation: { ...m.initiation, to: local('nobody') } }),
        404,
        'not_found',
        'to an unknown address',
      );
      expectError(
        await post({ ...m, initiation: { ...m.initiation, from: `x@${other.domain}` } }),
        403,
        'origin_not_authorized',
        'from another domain',
      );
      expectError(await post({ type: 'greeting' }), 400, 'invalid_request', 'unknown type');
      await bob.client.block(peerDomain);
      expectError(await post(m), 403, 'blocked', 'blocked domain');
      await bob.client.unblock(peerDomain);
      const confirmation = {
        exchangeId: toB64u(new Uint8Array(16).fill(3)),
        from: carol,
        to: bob.address,
        mac: toB64u(new Uint8Array(32)),
        signature: toB64u(new Uint8Array(64)),
      };
      expectError(
        await post({ type: 'confirmation', confirmation }),
        404,
        'not_found',
        'confirmation of an unknown exchange',
      );
    });

    // --- The exchange with the node under test initiating ---------------------------------
    await runner.case(
      'exchange, node under test initiating: claim and initiation over federation, confirmation back',
      async () => {
        const before = peer.seen.length;
        const started = await startExchange(alice, carol);
        await peer.waitFor(() => peer.exchanges.has(started.id), 'the initiation at the peer');
        const seen = peer.seen.slice(before).map((r) => `${r.method} ${r.path} ${r.answered}`);
        check(seen.includes(`POST ${FEDERATION_CLAIM} 200`), `no verified claim reached the peer (${seen.join(', ')})`);
        const bogus = {
          exchangeId: started.id,
          from: carol,
          to: alice.address,
          mac: toB64u(new Uint8Array(32)),
          signature: toB64u(new Uint8Array(64)),
        };
        expectError(
          await peer.post(FEDERATION_MESSAGES, { type: 'confirmation', confirmation: bogus }),
          422,
          'bad_signature',
          'a confirmation Carol did not sign',
        );
        expectStatus(await peer.accept(started.id), 202, 'confirmation');
        const done = await waitForExchange(alice, started.id, { timeoutMs: 30_000 });
        equal(done.status, 'confirmed', 'status');
        equal(
          exchangeSecret(alice.ks, started.id),
          Buffer.from(peer.exchanges.get(started.id)!.secret!).toString('hex'),
          'secret',
        );
        const view = ExchangeViewSchema.parse(await alice.client.getExchange(started.id));
        equal(
          view.peerIdentity?.identityKey,
          peer.user(carol).identity.identityKey,
          'peerIdentity of the initiator’s view is the responder',
        );
      },
    );
    await runner.case('exchange on one node: both sides derive the same secret', async () => {
      const started = await startExchange(alice, bob.address);
      const inbox = await waitForInbox(bob.client, { timeoutMs: 30_000 });
      check(
        inbox.some((e) => e.id === started.id),
        'not in the inbox',
      );
      equal((await acceptExchange(bob, started.id)).status, 'confirmed', 'accept');
      equal((await refreshExchange(alice, started.id)).status, 'confirmed', 'initiator');
      equal(exchangeSecret(alice.ks, started.id), exchangeSecret(bob.ks, started.id), 'secret');
    });
    await runner.case('client exchange API: an initiation older than 10 minutes is 422 invalid_exchange', async () => {
      const { bundle } = await alice.client.exchangeBundle(bob.address);
      const { initiateExchange } = await import('../protocol/exchange.js');
      const { initiation } = initiateExchange({
        self: {
          address: alice.address,
          identitySecretKey: alice.ks.identitySecretKey,
          identityDhSecretKey: alice.ks.identityDh.secretKey,
        },
        peerBundle: decodeBundle(bundle, bob.address),
        createdAt: unixNow() - 700,
      });
      expectError(
        await signedAs(alice, 'POST', '/api/v1/exchanges', { initiation, bundle }),
        422,
        'invalid_exchange',
        'stale initiation',
      );
    });

    // --- Resolve and discovery errors ------------------------------------------------------
    await runner.case('resolve: local and remote addresses (the node fetches the peer’s identity)', async () => {
      const mine = expectStatus(
        await send(api(`/api/v1/resolve/${encodeURIComponent(alice.address)}`)),
        200,
        'local',
      ) as Record<string, unknown>;
      equal([mine.local, mine.node], [true, node], 'local resolve');
      const before = peer.seen.length;
      const theirs = expectStatus(
        await send(api(`/api/v1/resolve/${encodeURIComponent(dana)}`)),
        200,
        'remote',
      ) as Record<string, unknown>;
      equal(
        [theirs.local, theirs.node, theirs.identity],
        [false, peer.url, peer.user(dana).identity],
        'remote resolve',
      );
      check(
        peer.seen.slice(before).some((r) => r.method === 'GET' && r.path.startsWith('/api/v1/identities/')),
        'the peer’s identity route was not used',
      );
      expectError(await send(api('/api/v1/resolve/not-an-address')), 400, 'invalid_address', 'malformed');
    });
    if (nameserver) {
      await runner.case('resolve: discovery answers (docs/discovery.md §2, §3, §6)', async () => {
        const resolve = (d: string) => send(api(`/api/v1/resolve/${encodeURIComponent(`x@${d}`)}`));
        expectError(await resolve(`none-${run}.${peerDomain}`), 404, 'no_node_for_domain', 'no record');
        nameserver.setTxt(`_keypears.bad-${run}.${peerDomain}`, 'v=KP1; node=');
        expectError(await resolve(`bad-${run}.${peerDomain}`), 502, 'discovery_record_invalid', 'malformed record');
        nameserver.setTxt(`_keypears.two-${run}.${peerDomain}`, `v=KP1; node=${peer.url}`, `v=KP1; node=${other.url}`);
        expectError(await resolve(`two-${run}.${peerDomain}`), 502, 'discovery_record_ambiguous', 'two records');
        nameserver.setTxt(`_keypears.unlisted-${run}.${peerDomain}`, `v=KP1; node=${peer.url}`);
        expectError(
          await resolve(`unlisted-${run}.${peerDomain}`),
          502,
          'domain_not_listed',
          'a node that does not list the domain',
        );
        peer.extraDomains.push(`semi-${run}.${peerDomain}`);
        nameserver.setTxt(`_keypears.semi-${run}.${peerDomain}`, `v=KP1; node=${peer.url};`);
        expectError(
          await resolve(`semi-${run}.${peerDomain}`),
          404,
          'not_found',
          'a record ending with ";" is accepted (the address is unknown)',
        );
      });
    } else {
      runner.skip('resolve: discovery answers', 'needs the suite’s nameserver (--dns-port)');
    }

    // --- Error shape and negotiation -----------------------------------------------------
    await runner.case('errors: unknown routes and query parameters (docs/errors.md)', async () => {
      expectError(await send(api('/api/v1/no-such-route')), 404, 'not_found', 'unknown route');
      const message = expectError(
        await signedAs(alice, 'GET', '/api/v1/exchanges/inbox?limit=10'),
        400,
        'invalid_request',
        'unknown query parameter',
      );
      check(
        message.includes('query') && message.includes('limit'),
        `the message does not name the query parameter: ${message}`,
      );
    });
    await runner.case(
      'features: a node ignores a feature header it does not announce (docs/protocol.md §11)',
      async () => {
        const path = `/api/v1/identities/${encodeURIComponent(alice.address)}`;
        const plain = await send(api(path));
        const asked = await send(api(path), { headers: { 'KeyPears-KT-Known': '12' } });
        if (!('transparency' in document)) {
          equal(asked.text, plain.text, 'the answer to a request with KeyPears-KT-Known');
          PublicIdentitySchema.parse(asked.json);
          const claim = await signedAs(alice, 'POST', `${path}/claim`, undefined, {});
          PrekeyBundleSchema.parse(expectStatus(claim, 200, 'claim'));
        } else {
          check(
            /keypears-kt-known/i.test(asked.headers.get('vary') ?? ''),
            'an answer that varies on the header says so',
          );
        }
        check(identityFingerprint(decodePublicIdentity(plain.json, alice.address).identityKey).length > 0, 'identity');
      },
    );
  } finally {
    await Promise.all([peer.stop(), other.stop(), nameserver?.stop()]);
  }
  return runner;
}
