/**
 * Registration and signed client requests, end to end against a real node: the policies,
 * the proof of possession, and the attacks on request authentication.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ed25519Keygen } from '../src/protocol/crypto.js';
import { toB64u, utf8 } from '../src/protocol/encoding.js';
import { identityFingerprint } from '../src/protocol/fingerprint.js';
import { signRequest } from '../src/protocol/http-signature.js';
import { buildRegistration, createKeystore } from '../src/sdk/identity.js';
import { identityPublicKey } from '../src/sdk/keystore.js';
import { clockInThisHour, startTestNode, type TestNode } from './support/test-node.js';
import { clientFor, nowSeconds, registerUser } from './support/test-users.js';
import { expectErrorResponse } from './support/expect-error.js';

let t: TestNode;

beforeAll(async () => {
  t = await startTestNode({
    KEYPEARS_DOMAINS: 'a.example,b.example',
    KEYPEARS_REGISTRATION: 'open',
    KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE: '1000',
  });
});

afterAll(async () => {
  await t?.destroy();
});

const postJson = (path: string, body: unknown) =>
  fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

function registration(address: string, tweak: (r: Record<string, unknown>) => void = () => {}) {
  const ks = createKeystore(address, t.config.publicUrl, nowSeconds());
  const request = buildRegistration(ks, nowSeconds()) as unknown as Record<string, unknown>;
  tweak(request);
  return { ks, request };
}

describe('POST /api/v1/accounts', () => {
  it('registers an address of a served domain and answers its fingerprint and node', async () => {
    const { ks, request } = registration('carol@a.example');
    const res = await postJson('/api/v1/accounts', request);
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, string>;
    expect(body.address).toBe('carol@a.example');
    expect(body.node).toBe(t.config.publicUrl);
    expect(body.fingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){7}$/);
    // The new account can authenticate at once.
    const status = await clientFor(t, ks).getAccount();
    expect(status).toMatchObject({
      address: 'carol@a.example',
      oneTimePrekeys: 0,
      pqOneTimePrekeys: 0,
      signedPrekey: null,
    });
  });

  it('refuses a domain the node does not serve', async () => {
    const { request } = registration('mallory@evil.example');
    await expectErrorResponse(await postJson('/api/v1/accounts', request), 403, 'domain_not_served');
  });

  it('refuses an existing address with 409 and keeps the first identity', async () => {
    const first = await registerUser(t, 'dave@a.example');
    const { request } = registration('dave@a.example');
    await expectErrorResponse(await postJson('/api/v1/accounts', request), 409, 'address_taken');
    const status = await first.client.getAccount();
    expect(status.fingerprint).toBe(identityFingerprint(identityPublicKey(first.ks)));
    expect(status.address).toBe('dave@a.example');
  });

  it('lets exactly one of many concurrent registrations of one address win', async () => {
    const attempts = Array.from({ length: 12 }, () => registration('race@b.example'));
    const results = await Promise.all(attempts.map((a) => postJson('/api/v1/accounts', a.request)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, ...Array(11).fill(409)]);
    const winner = attempts[results.findIndex((r) => r.status === 201)];
    const status = await clientFor(t, winner.ks).getAccount();
    expect(status.address).toBe('race@b.example');
    // Every loser's key is unknown to the node.
    const loser = attempts[results.findIndex((r) => r.status === 409)];
    await expect(clientFor(t, loser.ks).getAccount()).rejects.toMatchObject({ code: 'request_signature_invalid' });
  });

  it('refuses a proof made by another key', async () => {
    const { request } = registration('erin@a.example', (r) => {
      r.identityKey = toB64u(ed25519Keygen().publicKey);
    });
    const res = await postJson('/api/v1/accounts', request);
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/^bad_signature$/);
  });

  it('refuses a proof bound to another node', async () => {
    const ks = createKeystore('frank@a.example', 'https://other-node.example', nowSeconds());
    await expectErrorResponse(
      await postJson('/api/v1/accounts', buildRegistration(ks, nowSeconds())),
      422,
      'bad_signature',
    );
  });

  it('refuses a stale proof', async () => {
    const ks = createKeystore('gina@a.example', t.config.publicUrl, nowSeconds());
    const stale = buildRegistration(ks, nowSeconds() - 3600);
    await expectErrorResponse(await postJson('/api/v1/accounts', stale), 422, 'proof_expired');
  });

  it('refuses a wrong-length identity key with 422 invalid_key', async () => {
    const { request } = registration('hank@a.example', (r) => {
      r.identityKey = toB64u(new Uint8Array(31).fill(7));
    });
    await expectErrorResponse(await postJson('/api/v1/accounts', request), 422, 'invalid_key');
  });

  it('refuses malformed and non-canonical requests with 400', async () => {
    await expectErrorResponse(await postJson('/api/v1/accounts', { address: 'x' }), 400, 'invalid_request');
    const { request } = registration('ivy@a.example', (r) => {
      r.address = 'Ivy@A.example';
    });
    await expectErrorResponse(await postJson('/api/v1/accounts', request), 400, 'invalid_request');
  });
});

describe('signed client requests', () => {
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let bob: Awaited<ReturnType<typeof registerUser>>;

  beforeAll(async () => {
    alice = await registerUser(t, 'alice@a.example');
    bob = await registerUser(t, 'bob@b.example');
  });

  function signed(
    method: string,
    path: string,
    body: string | undefined,
    opts: { keyId?: string; secretKey?: Uint8Array; now?: number; ttlSeconds?: number } = {},
  ) {
    return signRequest({
      method,
      targetUri: `${t.config.publicUrl}${path}`,
      body: body === undefined ? undefined : utf8(body),
      keyId: opts.keyId ?? alice.ks.address,
      secretKey: opts.secretKey ?? alice.ks.identitySecretKey,
      now: opts.now ?? nowSeconds(),
      ...(opts.ttlSeconds ? { ttlSeconds: opts.ttlSeconds } : {}),
    });
  }

  const getMe = (headers: Record<string, string>) => fetch(`${t.url}/api/v1/accounts/me`, { headers });

  it('accepts a correctly signed request', async () => {
    const res = await getMe(signed('GET', '/api/v1/accounts/me', undefined));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { address: string }).address).toBe('alice@a.example');
  });

  it('refuses an unsigned request', async () => {
    await expectErrorResponse(await fetch(`${t.url}/api/v1/accounts/me`), 401, 'signature_missing');
  });

  it('refuses a replayed request', async () => {
    const headers = signed('GET', '/api/v1/accounts/me', undefined);
    expect((await getMe(headers)).status).toBe(200);
    await expectErrorResponse(await getMe(headers), 401, 'replayed_request');
  });

  it('refuses a request for alice signed by bob’s key', async () => {
    const headers = signed('GET', '/api/v1/accounts/me', undefined, { secretKey: bob.ks.identitySecretKey });
    await expectErrorResponse(await getMe(headers), 401, 'request_signature_invalid');
  });

  it('answers a throw-away key exactly alike for registered and unregistered addresses', async () => {
    const stranger = ed25519Keygen();
    const answerFor = async (keyId: string) => {
      const res = await getMe(
        signed('GET', '/api/v1/accounts/me', undefined, { keyId, secretKey: stranger.secretKey }),
      );
      return { status: res.status, body: await res.text() };
    };
    const registered = await answerFor('alice@a.example');
    expect(registered.status).toBe(401);
    expect(JSON.parse(registered.body)).toMatchObject({ error: { code: 'request_signature_invalid' } });
    // Unregistered, unserved, and another spelling of a registered address: the same answer.
    for (const keyId of ['nobody@a.example', 'x@elsewhere.example', 'Alice@a.example']) {
      expect(await answerFor(keyId)).toEqual(registered);
    }
  });

  it('admits an address as soon as it is registered, after its key id was refused as unknown', async () => {
    const { ks, request } = registration('late@a.example');
    const signedByLate = () =>
      signed('GET', '/api/v1/accounts/me', undefined, { keyId: ks.address, secretKey: ks.identitySecretKey });
    await expectErrorResponse(await getMe(signedByLate()), 401, 'request_signature_invalid');
    expect((await postJson('/api/v1/accounts', request)).status).toBe(201);
    const res = await getMe(signedByLate());
    expect(res.status).toBe(200);
    expect(((await res.json()) as { address: string }).address).toBe('late@a.example');
    // Now cached: still the same account, and still refusing another key for it.
    expect((await getMe(signedByLate())).status).toBe(200);
    const impostor = signed('GET', '/api/v1/accounts/me', undefined, {
      keyId: ks.address,
      secretKey: ed25519Keygen().secretKey,
    });
    await expectErrorResponse(await getMe(impostor), 401, 'request_signature_invalid');
  });

  it('refuses a tampered body', async () => {
    const path = '/api/v1/accounts/me/prekeys';
    const original = JSON.stringify({ oneTimePrekeys: [] });
    const headers = signed('POST', path, original);
    const res = await fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ oneTimePrekeys: [{ id: 1, publicKey: 'x', signature: 'y' }] }),
    });
    await expectErrorResponse(res, 401, 'digest_mismatch');
  });

  it('refuses a body whose digest header was recomputed after signing', async () => {
    const path = '/api/v1/accounts/me/prekeys';
    const headers = signed('POST', path, '{"a":1}');
    const forged = signed('POST', path, '{"a":2}');
    const res = await fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { ...headers, 'Content-Digest': forged['Content-Digest'], 'content-type': 'application/json' },
      body: '{"a":2}',
    });
    await expectErrorResponse(res, 401, 'request_signature_invalid');
  });

  it('refuses an expired and a future-dated signature', async () => {
    const expired = signed('GET', '/api/v1/accounts/me', undefined, { now: nowSeconds() - 600, ttlSeconds: 300 });
    await expectErrorResponse(await getMe(expired), 401, 'signature_expired');
    const future = signed('GET', '/api/v1/accounts/me', undefined, { now: nowSeconds() + 600 });
    await expectErrorResponse(await getMe(future), 401, 'signature_future');
  });

  it('refuses a signature for another path, method or node', async () => {
    const otherPath = signed('GET', '/api/v1/accounts/me?x=1', undefined);
    await expectErrorResponse(await getMe(otherPath), 401, 'request_signature_invalid');
    const otherMethod = signed('POST', '/api/v1/accounts/me', undefined);
    await expectErrorResponse(await getMe(otherMethod), 401, 'request_signature_invalid');
    const otherNode = signRequest({
      method: 'GET',
      targetUri: 'https://other-node.example/api/v1/accounts/me',
      body: undefined,
      keyId: alice.ks.address,
      secretKey: alice.ks.identitySecretKey,
    });
    await expectErrorResponse(await getMe(otherNode), 401, 'request_signature_invalid');
  });

  it('refuses a signature valid for more than five minutes', async () => {
    const headers = signed('GET', '/api/v1/accounts/me', undefined);
    const input = headers['Signature-Input'].replace(/expires=(\d+)/, (_, e) => `expires=${Number(e) + 400}`);
    await expectErrorResponse(await getMe({ ...headers, 'Signature-Input': input }), 401, 'signature_malformed');
  });
});

describe('registration policies', () => {
  it('refuses everything when closed', async () => {
    const closed = await startTestNode({ KEYPEARS_DOMAINS: 'a.example', KEYPEARS_REGISTRATION: 'closed' });
    try {
      const ks = createKeystore('zoe@a.example', closed.config.publicUrl, nowSeconds());
      const res = await fetch(`${closed.url}/api/v1/accounts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(buildRegistration(ks, nowSeconds())),
      });
      await expectErrorResponse(res, 403, 'registration_closed');
    } finally {
      await closed.destroy();
    }
  });

  it('rate-limits registration attempts per source address, per hour', async () => {
    const clock = clockInThisHour();
    const limited = await startTestNode(
      { KEYPEARS_DOMAINS: 'a.example', KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE: '2' },
      { clock },
    );
    try {
      const attempt = (local: string) => {
        const ks = createKeystore(`${local}@a.example`, limited.config.publicUrl, clock.unixSeconds());
        return fetch(`${limited.url}/api/v1/accounts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(buildRegistration(ks, clock.unixSeconds())),
        });
      };
      expect((await attempt('u1')).status).toBe(201);
      expect((await attempt('u2')).status).toBe(201);
      const third = await attempt('u3');
      expect(third.headers.get('retry-after')).toBe('3590');
      await expectErrorResponse(third, 429, 'rate_limited');
      clock.advance(3589_000);
      await expectErrorResponse(await attempt('u4'), 429, 'rate_limited');
      clock.advance(1000);
      expect((await attempt('u5')).status).toBe(201);
    } finally {
      await limited.destroy();
    }
  });
});
