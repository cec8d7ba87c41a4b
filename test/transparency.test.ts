/**
 * Key transparency end to end, against a real node over HTTP (docs/transparency.md §10-12): the
 * node document member, the log's routes, and the `transparency` member of identity, claim,
 * bundle, resolve and registration answers, each verified with the protocol core as a client
 * would, starting from nothing and then from the size it knew.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fromB64u, utf8 } from '../src/protocol/encoding.js';
import { signRequest } from '../src/protocol/http-signature.js';
import { openCheckpoint } from '../src/protocol/transparency/checkpoint.js';
import { decodeEntry } from '../src/protocol/transparency/entry.js';
import type { LogState } from '../src/protocol/transparency/log-verifier.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../src/protocol/transparency/merkle.js';
import {
  parseEntryBundle,
  parseLogAdvertisement,
  type TransparencyMember,
  verifyTransparencyMember,
} from '../src/protocol/transparency/wire.js';
import { decodeBundle, decodePublicIdentity } from '../src/protocol/wire.js';
import { buildRegistration, createKeystore } from '../src/sdk/identity.js';
import { identityPublicKey } from '../src/sdk/keystore.js';
import { expectErrorResponse } from './support/expect-error.js';
import { startTestNode, type TestNode } from './support/test-node.js';
import { registerUser, type TestUser } from './support/test-users.js';

let t: TestNode;
let alice: TestUser;

beforeAll(async () => {
  t = await startTestNode({
    KEYPEARS_DOMAINS: 'a.example',
    KEYPEARS_REGISTRATION: 'open',
    KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE: '1000',
  });
  alice = await registerUser(t, 'alice@a.example', 2);
  await registerUser(t, 'bob@a.example', 2);
}, 60_000);

afterAll(async () => {
  await t?.destroy();
});

/** A request signed by `user`, as the SDK signs them, with extra headers. */
async function signedPost(user: TestUser, path: string, body: unknown, headers: Record<string, string>) {
  const url = `${t.url}${path}`;
  const bytes = body === undefined ? undefined : utf8(JSON.stringify(body));
  const signature = signRequest({
    method: 'POST',
    targetUri: url,
    body: bytes,
    keyId: user.ks.address,
    secretKey: user.ks.identitySecretKey,
    now: t.clock.unixSeconds(),
  });
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...(bytes ? { 'content-type': 'application/json' } : {}), ...signature, ...headers },
    body: bytes,
  });
  expect(res.status).toBe(200);
  return res.json();
}

const KT = (known: number) => ({ 'KeyPears-KT-Known': String(known) });
const get = (path: string, headers: Record<string, string> = {}) => fetch(`${t.url}${path}`, { headers });

async function advertised() {
  const document = (await (await get('/.well-known/keypears.json')).json()) as { transparency?: unknown };
  return parseLogAdvertisement(document.transparency, t.config.publicUrl);
}

/** Verifies an identity or bundle answer's member as a client would, from `state`. */
function verified(address: string, body: Record<string, unknown>, state?: LogState): LogState {
  const identity = decodePublicIdentity(stripBundle(body), address);
  const verdict = verifyTransparencyMember({
    address,
    nodeUrl: t.config.publicUrl,
    identity,
    member: body.transparency,
    state,
  });
  if (!verdict.ok) throw new Error(`${verdict.code}: ${verdict.message}`);
  return verdict.state;
}

/** The PublicIdentity members of an answer (a bundle has more; the member is checked apart). */
function stripBundle(body: Record<string, unknown>) {
  const { oneTimePrekey: _o, pqOneTimePrekey: _p, usedLastResort: _u, transparency: _t, ...identity } = body;
  return identity;
}

describe('the node document', () => {
  it('advertises the log: origin and URL from the node URL, a log key named after the origin', async () => {
    const log = await advertised();
    const host = t.config.publicUrl.replace(/^http:\/\//, '');
    expect(log.identity.origin).toBe(`${host}/kt/1`);
    expect(log.url).toBe(`${t.config.publicUrl}/kt/1`);
    expect(log.identity.importEnd).toBe(1);
  });
});

describe('the log routes', () => {
  it('serves the latest checkpoint as a signed note, briefly cacheable', async () => {
    const log = await advertised();
    const res = await get('/kt/1/checkpoint');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=5');
    const { checkpoint } = openCheckpoint(await res.text(), log.identity.logKey);
    expect(checkpoint.origin).toBe(log.identity.origin);
    expect(checkpoint.size).toBeGreaterThanOrEqual(3);
  });

  it('serves inclusion and consistency proofs that verify against the signed heads, immutable', async () => {
    const log = await advertised();
    const { checkpoint: head } = openCheckpoint(await (await get('/kt/1/checkpoint')).text(), log.identity.logKey);
    const tile = parseEntryBundle(
      new Uint8Array(await (await get(`/kt/1/tile/entries/000.p/${head.size}`)).arrayBuffer()),
      head.size,
    );
    expect(decodeEntry(tile[0]).kind).toBe('log-start');
    for (let index = 0; index < head.size; index++) {
      const res = await get(`/kt/1/proof/inclusion?index=${index}&size=${head.size}`);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const body = (await res.json()) as { index: number; size: number; proof: string[] };
      expect(body).toMatchObject({ index, size: head.size });
      const proof = body.proof.map((h) => fromB64u(h));
      expect(verifyInclusion(index, head.size, leafHash(tile[index]), proof, head.root)).toBe(true);
    }
    // Consistency from size 1 (the log-start entry alone) to the head.
    const first = leafHash(tile[0]);
    const res = await get(`/kt/1/proof/consistency?from=1&to=${head.size}`);
    const body = (await res.json()) as { proof: string[] };
    expect(
      verifyConsistency(
        1,
        head.size,
        first,
        head.root,
        body.proof.map((h) => fromB64u(h)),
      ),
    ).toBe(true);
    expect(await (await get(`/kt/1/proof/consistency?from=0&to=${head.size}`)).json()).toMatchObject({ proof: [] });
  });

  it('refuses malformed queries and sizes it does not have yet', async () => {
    await expectErrorResponse(await get('/kt/1/proof/inclusion?index=01&size=2'), 400, 'invalid_request');
    await expectErrorResponse(await get('/kt/1/proof/inclusion?index=2&size=2'), 400, 'invalid_request');
    await expectErrorResponse(await get('/kt/1/proof/inclusion?index=0&size=2&x=1'), 400, 'invalid_request');
    await expectErrorResponse(await get('/kt/1/proof/inclusion?index=0&size=100000'), 404, 'not_found');
    await expectErrorResponse(await get('/kt/1/proof/consistency?from=3&to=2'), 400, 'invalid_request');
    await expectErrorResponse(await get('/kt/1/tile/entries/000'), 404, 'not_found');
    await expectErrorResponse(await get('/kt/1/tile/entries/0'), 404, 'not_found');
    await expectErrorResponse(await get('/kt/2/checkpoint'), 404, 'not_found');
  });
});

describe('answers with the transparency member', () => {
  it('a lookup without the header is the base object, byte for byte; with it, a member that verifies', async () => {
    const path = '/api/v1/identities/alice@a.example';
    const plain = await get(path);
    expect(plain.headers.get('vary')).toMatch(/KeyPears-KT-Known/);
    const base = (await plain.json()) as Record<string, unknown>;
    expect(base.transparency).toBeUndefined();
    const asked = (await (await get(path, KT(0))).json()) as Record<string, unknown> & {
      transparency: TransparencyMember;
    };
    expect({ ...asked, transparency: undefined }).toEqual({ ...base, transparency: undefined });
    expect(asked.transparency).toMatchObject({ kind: 'register', index: 1 });
    const state = verified('alice@a.example', asked);
    expect(state.log).toEqual((await advertised()).identity);
  });

  it('carries a consistency proof from the size the requester knows', async () => {
    const first = (await (await get('/api/v1/identities/alice@a.example', KT(0))).json()) as Record<string, unknown>;
    const state = verified('alice@a.example', first);
    await registerUser(t, 'carol@a.example', 1);
    const later = (await (await get('/api/v1/identities/bob@a.example', KT(state.size))).json()) as {
      transparency: TransparencyMember;
    };
    expect(later.transparency.consistency?.from).toBe(state.size);
    const next = verified('bob@a.example', later, state);
    expect(next.size).toBe(state.size + 1);
    // A requester that knows more than the node has gets no consistency proof (and sees a stale head).
    const ahead = (await (await get('/api/v1/identities/bob@a.example', KT(1000))).json()) as {
      transparency: TransparencyMember;
    };
    expect(ahead.transparency.consistency).toBeUndefined();
    const verdict = verifyTransparencyMember({
      address: 'bob@a.example',
      nodeUrl: t.config.publicUrl,
      identity: decodePublicIdentity(stripBundle(ahead as never), 'bob@a.example'),
      member: ahead.transparency,
      state: { ...next, size: 1000 },
    });
    expect(verdict).toMatchObject({ ok: false, code: 'kt_stale' });
  });

  it('refuses a malformed KeyPears-KT-Known', async () => {
    await expectErrorResponse(
      await get('/api/v1/identities/alice@a.example', { 'KeyPears-KT-Known': '-1' }),
      400,
      'invalid_request',
    );
  });

  it('a claim, a bundle for a local address and a local resolve carry it too', async () => {
    for (const [path, body] of [
      ['/api/v1/identities/bob@a.example/claim', undefined],
      ['/api/v1/exchanges/bundle', { address: 'bob@a.example' }],
    ] as const) {
      const answer = (await signedPost(alice, path, body, KT(0))) as Record<string, unknown>;
      const { transparency: _member, ...bundle } = answer;
      decodeBundle(bundle, 'bob@a.example');
      verified('bob@a.example', answer);
    }
    const resolve = (await (await get('/api/v1/resolve/bob@a.example', KT(0))).json()) as {
      identity: Record<string, unknown>;
    };
    verified('bob@a.example', resolve.identity);
  });

  it('a registration answers its new entry, which verifies', async () => {
    const ks = createKeystore('dave@a.example', t.config.publicUrl, t.clock.unixSeconds());
    const request = buildRegistration(ks, t.clock.unixSeconds());
    const res = await fetch(`${t.url}/api/v1/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...KT(0) },
      body: JSON.stringify(request),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { transparency: TransparencyMember };
    const { checkpoint } = openCheckpoint(body.transparency.checkpoint, (await advertised()).identity.logKey);
    expect(body.transparency.index).toBe(checkpoint.size - 1);
    const verdict = verifyTransparencyMember({
      address: 'dave@a.example',
      nodeUrl: t.config.publicUrl,
      identity: {
        identityKey: identityPublicKey(ks),
        identityDhKey: {
          id: request.identityDhKey.id,
          publicKey: fromB64u(request.identityDhKey.publicKey),
          signature: fromB64u(request.identityDhKey.signature),
        },
      },
      member: body.transparency,
    });
    expect(verdict).toMatchObject({ ok: true });
  });
});
