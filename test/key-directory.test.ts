/**
 * The key directory end to end: publishing prekeys (signatures, key material, batches, caps,
 * history), the public lookup, the claim of bundles and its rate limits.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { DATABASE_CONNECTION, type DatabaseConnection } from '../src/database/database-connection.js';
import { PG_ADMISSION_POOL, PG_POOL } from '../src/database/pg-pool.js';
import { PrismaService } from '../src/database/prisma.service.js';
import { DirectoryService } from '../src/directory/directory.service.js';
import { ed25519Keygen, mlkem768Keygen, x25519Keygen } from '../src/protocol/crypto.js';
import { toB64u, utf8 } from '../src/protocol/encoding.js';
import { signRequest } from '../src/protocol/http-signature.js';
import { parseAddress } from '../src/protocol/address.js';
import { signPrekey, type PrekeyKind } from '../src/protocol/keys.js';
import { decodeBundle, decodePublicIdentity, type PublicKeyRecord } from '../src/protocol/wire.js';
import { buildRegistration, createKeystore } from '../src/sdk/identity.js';
import { expectErrorResponse } from './support/expect-error.js';
import { MovableClock } from './support/movable-clock.js';
import { clockInThisHour, startTestNode, type TestNode } from './support/test-node.js';
import { clientFor, nowSeconds, registerUser, topUp, type TestUser } from './support/test-users.js';

let t: TestNode;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  t = await startTestNode({
    KEYPEARS_DOMAINS: 'a.example,b.example',
    KEYPEARS_CLAIM_LIMIT_PER_PAIR: '1000',
    KEYPEARS_CLAIM_LIMIT_PER_SOURCE: '1000',
  });
  alice = await registerUser(t, 'alice@a.example', 5);
  bob = await registerUser(t, 'bob@b.example', 0);
});

afterAll(async () => {
  await t?.destroy();
});

async function errorOf(res: Response): Promise<{ status: number; code: string }> {
  const body = (await res.json()) as { error: { code: string } };
  return { status: res.status, code: body.error.code };
}

/** Sends a body exactly as given, signed by `user`. */
function signedPost(user: TestUser, path: string, body: unknown): Promise<Response> {
  const text = JSON.stringify(body);
  const headers = signRequest({
    method: 'POST',
    targetUri: `${t.config.publicUrl}${path}`,
    body: utf8(text),
    keyId: user.ks.address,
    secretKey: user.ks.identitySecretKey,
  });
  return fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: text,
  });
}

const upload = (user: TestUser, body: unknown) => signedPost(user, '/api/v1/accounts/me/prekeys', body);

let nextId = 100_000;
function x25519Record(
  user: TestUser,
  kind: PrekeyKind = 'one-time-prekey',
  signer = user.ks.identitySecretKey,
  id = nextId++,
): PublicKeyRecord {
  const publicKey = x25519Keygen().publicKey;
  const signature = signPrekey({ kind, address: user.ks.address, keyId: id, publicKey }, signer);
  return { id, publicKey: toB64u(publicKey), signature: toB64u(signature) };
}

function mlkemRecord(user: TestUser, kind: PrekeyKind = 'pq-one-time', id = nextId++): PublicKeyRecord {
  const publicKey = mlkem768Keygen().publicKey;
  const signature = signPrekey({ kind, address: user.ks.address, keyId: id, publicKey }, user.ks.identitySecretKey);
  return { id, publicKey: toB64u(publicKey), signature: toB64u(signature) };
}

describe('publishing prekeys', () => {
  it('reports what the owner has published', async () => {
    const status = await alice.client.getAccount();
    expect(status).toMatchObject({
      address: 'alice@a.example',
      oneTimePrekeys: 5,
      pqOneTimePrekeys: 5,
      maxOneTimePrekeys: 1000,
      signedPrekey: { id: alice.ks.signedPrekeys[0].id },
      pqLastResort: { id: alice.ks.pqLastResortKeys[0].id },
    });
  });

  it('refuses a forged one-time prekey signature and stores nothing of the batch', async () => {
    const batch = Array.from({ length: 10 }, () => x25519Record(alice));
    batch[7] = x25519Record(alice, 'one-time-prekey', ed25519Keygen().secretKey);
    expect(await errorOf(await upload(alice, { oneTimePrekeys: batch }))).toEqual({
      status: 422,
      code: 'bad_signature',
    });
    expect((await alice.client.getAccount()).oneTimePrekeys).toBe(5);
  });

  it('refuses a key signed for another slot', async () => {
    const moved = x25519Record(alice, 'signed-prekey');
    expect(await errorOf(await upload(alice, { oneTimePrekeys: [moved] }))).toEqual({
      status: 422,
      code: 'bad_signature',
    });
  });

  it('refuses a key signed for another user', async () => {
    const bobs = x25519Record(bob);
    expect(await errorOf(await upload(alice, { oneTimePrekeys: [bobs] }))).toEqual({
      status: 422,
      code: 'bad_signature',
    });
  });

  it('refuses wrong-length and unusable keys with 422 invalid_key', async () => {
    const short = { ...x25519Record(alice), publicKey: toB64u(new Uint8Array(31).fill(9)) };
    expect(await errorOf(await upload(alice, { oneTimePrekeys: [short] }))).toEqual({
      status: 422,
      code: 'invalid_key',
    });
    const pq = mlkemRecord(alice);
    const pqShort = { ...pq, publicKey: toB64u(new Uint8Array(1183).fill(1)) };
    expect(await errorOf(await upload(alice, { pqOneTimePrekeys: [pqShort] }))).toEqual({
      status: 422,
      code: 'invalid_key',
    });
    // The all-zero point is of low order: a DH with it is all zeros.
    const id = nextId++;
    const zero = new Uint8Array(32);
    const lowOrder = {
      id,
      publicKey: toB64u(zero),
      signature: toB64u(
        signPrekey(
          { kind: 'one-time-prekey', address: alice.ks.address, keyId: id, publicKey: zero },
          alice.ks.identitySecretKey,
        ),
      ),
    };
    expect(await errorOf(await upload(alice, { oneTimePrekeys: [lowOrder] }))).toEqual({
      status: 422,
      code: 'invalid_key',
    });
  });

  it('refuses a batch over 100 keys with 413', async () => {
    const batch = Array.from({ length: 101 }, () => x25519Record(alice));
    expect(await errorOf(await upload(alice, { oneTimePrekeys: batch }))).toEqual({
      status: 413,
      code: 'payload_too_large',
    });
  });

  it('refuses malformed uploads with 400', async () => {
    expect(await errorOf(await upload(alice, {}))).toEqual({ status: 400, code: 'invalid_request' });
    expect(
      await errorOf(await upload(alice, { oneTimePrekeys: [{ id: -1, publicKey: 'a', signature: 'b' }] })),
    ).toMatchObject({
      status: 400,
    });
    const dup = x25519Record(alice);
    expect(await errorOf(await upload(alice, { oneTimePrekeys: [dup, dup] }))).toEqual({
      status: 400,
      code: 'invalid_request',
    });
  });

  it('refuses a key id already stored', async () => {
    const record = x25519Record(alice);
    expect((await upload(alice, { oneTimePrekeys: [record] })).status).toBe(200);
    expect(await errorOf(await upload(alice, { oneTimePrekeys: [record] }))).toEqual({ status: 409, code: 'conflict' });
  });

  it('caps stored one-time prekeys per kind', async () => {
    const carol = await registerUser(t, 'carol@a.example', 0);
    for (let i = 0; i < 10; i++) {
      const res = await upload(carol, { oneTimePrekeys: Array.from({ length: 100 }, () => x25519Record(carol)) });
      expect(res.status).toBe(200);
    }
    expect(await errorOf(await upload(carol, { oneTimePrekeys: [x25519Record(carol)] }))).toEqual({
      status: 409,
      code: 'prekey_limit',
    });
    const status = await carol.client.getAccount();
    expect(status.oneTimePrekeys).toBe(1000);
  });

  it('keeps every signed prekey and identity key in the append-only history', async () => {
    const first = alice.ks.signedPrekeys[0];
    const rotated = x25519Record(alice, 'signed-prekey');
    const res = await upload(alice, { signedPrekey: rotated });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { signedPrekey: { id: number } }).signedPrekey.id).toBe(rotated.id);
    // Resending the current key is a no-op, not a new history entry.
    expect((await upload(alice, { signedPrekey: rotated })).status).toBe(200);
    const prisma = t.node.app.get(PrismaService);
    const account = await prisma.account.findUniqueOrThrow({ where: { address: 'alice@a.example' } });
    const events = await prisma.keyEvent.findMany({ where: { accountId: account.id }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => [e.kind, Number(e.keyId)])).toEqual([
      ['identity', 0],
      ['identity-dh', alice.ks.identityDh.id],
      ['signed-prekey', first.id],
      ['pq-last-resort', alice.ks.pqLastResortKeys[0].id],
      ['signed-prekey', rotated.id],
    ]);
    // The history refuses deletion and change, and the node keeps working after the refusal.
    await expect(prisma.keyEvent.deleteMany({ where: { accountId: account.id } })).rejects.toThrow(/append-only/);
    await expect(prisma.keyEvent.updateMany({ where: { accountId: account.id }, data: { keyId: 7 } })).rejects.toThrow(
      /append-only/,
    );
    expect(await prisma.keyEvent.count({ where: { accountId: account.id } })).toBe(events.length);
  });

  it('refuses to put another key under the current signed prekey id', async () => {
    const current = (await alice.client.getAccount()).signedPrekey!.id;
    const publicKey = x25519Keygen().publicKey;
    const signature = signPrekey(
      { kind: 'signed-prekey', address: alice.ks.address, keyId: current, publicKey },
      alice.ks.identitySecretKey,
    );
    const record = { id: current, publicKey: toB64u(publicKey), signature: toB64u(signature) };
    expect(await errorOf(await upload(alice, { signedPrekey: record }))).toEqual({ status: 409, code: 'conflict' });
  });
});

describe('key ids over the whole protocol range (0 .. 2^32 - 1)', () => {
  it('stores, serves and hands out ids 2^31 and 2^32 - 1', async () => {
    const erin = await registerUser(t, 'erin@a.example', 0);
    const top = 2 ** 32 - 1;
    const half = 2 ** 31;
    const signed = x25519Record(erin, 'signed-prekey', erin.ks.identitySecretKey, half);
    const lastResort = mlkemRecord(erin, 'pq-last-resort', top);
    const body = {
      signedPrekey: signed,
      pqLastResort: lastResort,
      oneTimePrekeys: [x25519Record(erin, 'one-time-prekey', erin.ks.identitySecretKey, top)],
      pqOneTimePrekeys: [mlkemRecord(erin, 'pq-one-time', half)],
    };
    expect((await upload(erin, body)).status).toBe(200);
    expect(await erin.client.getAccount()).toMatchObject({
      oneTimePrekeys: 1,
      pqOneTimePrekeys: 1,
      signedPrekey: { id: half },
      pqLastResort: { id: top },
    });
    // Resending the current keys is recognised as the same keys, not a conflict.
    expect((await upload(erin, { signedPrekey: signed, pqLastResort: lastResort })).status).toBe(200);
    const bundle = await bob.client.claim('erin@a.example');
    expect([bundle.signedPrekey.id, bundle.pqLastResort.id]).toEqual([half, top]);
    expect([bundle.oneTimePrekey?.id, bundle.pqOneTimePrekey?.id]).toEqual([top, half]);
  });
});

describe('lookup', () => {
  it('returns the verified public identity without consuming anything', async () => {
    const before = await alice.client.getAccount();
    const res = await fetch(`${t.url}/api/v1/identities/alice%40a.example`);
    expect(res.status).toBe(200);
    const identity = decodePublicIdentity(await res.json(), 'alice@a.example');
    expect(identity.signedPrekey.id).toBe(before.signedPrekey!.id);
    expect(identity.pqLastResort.id).toBe(before.pqLastResort!.id);
    const after = await alice.client.getAccount();
    expect([after.oneTimePrekeys, after.pqOneTimePrekeys]).toEqual([before.oneTimePrekeys, before.pqOneTimePrekeys]);
  });

  it('accepts any spelling of the address and answers the canonical one', async () => {
    const identity = await clientFor(t).lookup('Alice@A.EXAMPLE');
    expect(identity.address).toBe('alice@a.example');
  });

  it('answers 404 with one uniform body for unknown, unserved and incomplete addresses', async () => {
    // Registered, but no signed prekey or last-resort key published yet.
    const ks = createKeystore('erin@b.example', t.config.publicUrl, nowSeconds());
    await clientFor(t).register(buildRegistration(ks, nowSeconds()));
    const answers = await Promise.all(
      ['nobody@a.example', 'alice@c.example', 'erin@b.example'].map(async (address) => {
        const res = await fetch(`${t.url}/api/v1/identities/${encodeURIComponent(address)}`);
        return { status: res.status, body: await res.text() };
      }),
    );
    expect(answers[0].status).toBe(404);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
  });

  it('refuses an invalid address with 400', async () => {
    expect(await errorOf(await fetch(`${t.url}/api/v1/identities/not..valid%40a.example`))).toEqual({
      status: 400,
      code: 'invalid_address',
    });
  });
});

describe('claim', () => {
  let dave: TestUser;

  beforeAll(async () => {
    dave = await registerUser(t, 'dave@a.example', 2);
  });

  it('hands out one one-time prekey of each kind, then the last-resort keys', async () => {
    const seenX = new Set<number>();
    const seenPq = new Set<number>();
    for (let i = 0; i < 2; i++) {
      const bundle = await bob.client.claim('dave@a.example');
      expect(bundle.usedLastResort).toBe(false);
      expect(dave.ks.oneTimePrekeys.has(bundle.oneTimePrekey!.id)).toBe(true);
      expect(dave.ks.pqOneTimePrekeys.has(bundle.pqOneTimePrekey!.id)).toBe(true);
      seenX.add(bundle.oneTimePrekey!.id);
      seenPq.add(bundle.pqOneTimePrekey!.id);
    }
    expect([seenX.size, seenPq.size]).toEqual([2, 2]);
    const last = await bob.client.claim('dave@a.example');
    expect(last.usedLastResort).toBe(true);
    expect(last.oneTimePrekey).toBeUndefined();
    expect(last.pqOneTimePrekey).toBeUndefined();
    expect(last.pqLastResort.id).toBe(dave.ks.pqLastResortKeys[0].id);
    expect(await dave.client.getAccount()).toMatchObject({ oneTimePrekeys: 0, pqOneTimePrekeys: 0 });
  });

  it('signals the last resort only for the post-quantum key', async () => {
    await upload(dave, { oneTimePrekeys: [x25519Record(dave)] });
    const bundle = await bob.client.claim('dave@a.example');
    expect(bundle.oneTimePrekey).toBeDefined();
    expect(bundle.pqOneTimePrekey).toBeUndefined();
    expect(bundle.usedLastResort).toBe(true);
  });

  it('answers the wire form of PrekeyBundle that any client can verify', async () => {
    await topUp(dave, 1);
    const path = '/api/v1/identities/dave%40a.example/claim';
    const headers = signRequest({
      method: 'POST',
      targetUri: `${t.config.publicUrl}${path}`,
      body: undefined,
      keyId: bob.ks.address,
      secretKey: bob.ks.identitySecretKey,
    });
    const res = await fetch(`${t.url}${path}`, { method: 'POST', headers });
    expect(res.status).toBe(200);
    const bundle = decodeBundle(await res.json(), 'dave@a.example');
    expect(bundle.usedLastResort).toBe(false);
  });

  it('requires a signed request by a local account', async () => {
    const res = await fetch(`${t.url}/api/v1/identities/dave%40a.example/claim`, { method: 'POST' });
    expect(await errorOf(res)).toEqual({ status: 401, code: 'signature_missing' });
  });

  it('answers 404 for unknown and unserved targets', async () => {
    await expect(bob.client.claim('nobody@a.example')).rejects.toMatchObject({ code: 'not_found' });
    await expect(bob.client.claim('dave@c.example')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('is the service federation uses', async () => {
    const keys = t.node.app.get(DirectoryService);
    const identity = await keys.lookupPublicIdentity(parseAddress('dave@a.example'));
    expect(identity.address).toBe('dave@a.example');
    const bundle = await keys.claimBundle(parseAddress('dave@a.example'), {
      address: 'remote@elsewhere.example',
      source: 'node:elsewhere',
    });
    expect(bundle.address).toBe('dave@a.example');
  });
});

describe('claim rate limits', () => {
  // Ten seconds into an hour, and standing still: the minute and hour windows are known.
  const clock = clockInThisHour();
  let limited: TestNode;
  let u: TestUser;
  let v: TestUser;
  let w: TestUser;

  beforeAll(async () => {
    limited = await startTestNode(
      { KEYPEARS_DOMAINS: 'a.example', KEYPEARS_CLAIM_LIMIT_PER_PAIR: '2', KEYPEARS_CLAIM_LIMIT_PER_SOURCE: '5' },
      { clock },
    );
    u = await registerUser(limited, 'u@a.example', 1);
    v = await registerUser(limited, 'v@a.example', 1);
    w = await registerUser(limited, 'w@a.example', 1);
  });

  afterAll(async () => {
    await limited?.destroy();
  });

  it('limits claims per (requester, target) pair and per source, with Retry-After', async () => {
    await u.client.claim('v@a.example');
    await u.client.claim('v@a.example');
    const pair = await u.client.claim('v@a.example').catch((e: unknown) => e);
    // The pair's budget is per hour: until the end of this one.
    expect(pair).toMatchObject({ code: 'rate_limited', details: { status: 429, retryAfterSeconds: 3590 } });
    // Another pair still has budget from this source.
    await u.client.claim('w@a.example');
    await w.client.claim('v@a.example');
    // Five claims counted from 127.0.0.1 (the refused one included): the source is spent, for this minute.
    await expect(v.client.claim('u@a.example')).rejects.toMatchObject({
      code: 'rate_limited',
      details: { retryAfterSeconds: 50 },
    });
    // The next minute the source has budget again; the pair's hour is still spent.
    clock.advance(50_000);
    await v.client.claim('u@a.example');
    await expect(u.client.claim('v@a.example')).rejects.toMatchObject({
      code: 'rate_limited',
      details: { retryAfterSeconds: 3540 },
    });
  });
});

describe('claim limits counted with the nonce', () => {
  let node: TestNode;
  let u: TestUser;

  beforeAll(async () => {
    // A clock that stands still: every claim below falls into the same windows.
    node = await startTestNode(
      { KEYPEARS_DOMAINS: 'a.example', KEYPEARS_CLAIM_LIMIT_PER_PAIR: '2', KEYPEARS_CLAIM_LIMIT_PER_SOURCE: '100' },
      { clock: new MovableClock(Date.now()) },
    );
    u = await registerUser(node, 'u@a.example', 0);
    await registerUser(node, 'v@a.example', 3);
  });

  afterAll(async () => {
    await node?.destroy();
  });

  const signedClaim = (target: string) => {
    const path = `/api/v1/identities/${encodeURIComponent(target)}/claim`;
    const headers = signRequest({
      method: 'POST',
      targetUri: `${node.config.publicUrl}${path}`,
      body: undefined,
      keyId: u.ks.address,
      secretKey: u.ks.identitySecretKey,
      now: node.clock.unixSeconds(),
    });
    return () => fetch(`${node.url}${path}`, { method: 'POST', headers });
  };

  it('does not count a replay, and spends the nonce of a refused request', async () => {
    const first = signedClaim('v@a.example');
    expect((await first()).status).toBe(200);
    await expectErrorResponse(await first(), 401, 'replayed_request');
    // The replay spent nothing: this is the pair's second claim, within its budget of 2.
    expect((await signedClaim('V@A.example')()).status).toBe(200);
    const third = signedClaim('v@a.example');
    await expectErrorResponse(await third(), 429, 'rate_limited');
    // Refused for its budget, the request still spent its nonce.
    await expectErrorResponse(await third(), 401, 'replayed_request');
  });

  it('spends nonces on their own asynchronously committing pool (the main pool on the embedded database)', async () => {
    const app = node.node.app;
    const main = app.get<pg.Pool>(PG_POOL);
    const admission = app.get<pg.Pool>(PG_ADMISSION_POOL);
    const setting = async (pool: pg.Pool) => (await pool.query('SHOW synchronous_commit')).rows[0].synchronous_commit;
    if (app.get<DatabaseConnection>(DATABASE_CONNECTION).embedded) {
      expect(admission).toBe(main);
    } else {
      expect(admission).not.toBe(main);
      expect(await setting(admission)).toBe('off');
      expect(await setting(main)).toBe('on');
    }
  });

  it('counts a claim of an invalid address against the source only, then refuses it', async () => {
    await expectErrorResponse(await signedClaim('not an address')(), 400, 'invalid_address');
    const rows = await node.node.app
      .get(PrismaService)
      .rateLimit.findMany({ where: { bucket: { startsWith: 'claim:' } }, orderBy: { bucket: 'asc' } });
    expect(rows.map((r) => [r.bucket, r.count])).toEqual([
      ['claim:pair:u@a.example>v@a.example', 3],
      ['claim:source:127.0.0.1', 4],
    ]);
  });
});
