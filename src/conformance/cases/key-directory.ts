/**
 * The key directory (docs/key-directory.md): registration, prekey uploads, lookups and claims,
 * with the key checks and signed statements of docs/protocol.md §3-§5 and the malformed-member
 * rule of docs/errors.md. Cases that count keys use users of their own.
 */
import { ed25519PublicKey, isValidEd25519PublicKey, mlkem768Keygen, x25519Keygen } from '../../protocol/crypto.js';
import { toB64u } from '../../protocol/encoding.js';
import { AccountStatusSchema, RegistrationResponseSchema } from '../../protocol/client-api.js';
import { LOW_ORDER_X25519, signPrekey, signRegistration } from '../../protocol/keys.js';
import { decodeBundle, decodePublicIdentity, PublicIdentitySchema, type PublicKeyRecord } from '../../protocol/wire.js';
import { buildRegistration, createKeystore } from '../../sdk/identity.js';
import type { Keystore } from '../../sdk/keystore.js';
import type { Context, User } from '../context.js';
import { check, equal, expectError, expectStatus } from '../harness.js';
import { send, unixNow } from '../http.js';
import { casesOf, type ConformanceCase } from './define.js';

const REGISTRATION = 'docs/key-directory.md, Registration';
const STATEMENTS = 'docs/protocol.md §4';
const KEYS = 'docs/protocol.md §3';
const WIRE = 'docs/protocol.md §5';
const MEMBERS = 'docs/errors.md';
const UPLOADS = 'docs/key-directory.md, Publishing prekeys';
const registrationCase = casesOf(REGISTRATION);
const statementCase = casesOf(STATEMENTS);
const keyCase = casesOf(KEYS);
const memberCase = casesOf(MEMBERS);
const uploadCase = casesOf(UPLOADS);
const lookupCase = casesOf('docs/key-directory.md, Lookup');
const claimCase = casesOf('docs/key-directory.md, Claim');

const NOT_FOUND = { error: { code: 'not_found', message: 'no such address' } };
const DISPLAY_FINGERPRINT = /^[0-9a-f]{4}( [0-9a-f]{4}){7}$/;

/** 32 bytes that are not the encoding of an Ed25519 point. */
function notAnEd25519Point(): Uint8Array {
  for (let b = 2; ; b++) {
    const bytes = new Uint8Array(32);
    bytes[0] = b;
    if (!isValidEd25519PublicKey(bytes)) return bytes;
  }
}

/** An ML-KEM-768 encapsulation key whose first coefficient is q or more (FIPS 203 §7.2). */
function failsModulusCheck(): Uint8Array {
  const key = new Uint8Array(mlkem768Keygen().publicKey);
  key[0] = 0xff;
  key[1] |= 0x0f;
  return key;
}

const lowOrderX25519 = () => Uint8Array.from(Buffer.from([...LOW_ORDER_X25519][1], 'hex'));

function topBitSet(): Uint8Array {
  const key = new Uint8Array(x25519Keygen().publicKey);
  key[31] |= 0x80;
  return key;
}

const upload = (ctx: Context, user: User, body: unknown) =>
  ctx.signedAs(user, 'POST', '/api/v1/accounts/me/prekeys', body);

/** A one-time X25519 record of `user` under a fresh id, signed as `signAs` says. */
const oneTime = (
  ctx: Context,
  user: User,
  signAs: Parameters<Context['record']>[4] = {},
  key = x25519Keygen().publicKey,
) => ctx.record(user, 'one-time-prekey', user.ks.nextKeyId++, key, signAs);

const pqOneTime = (ctx: Context, user: User, key = mlkem768Keygen().publicKey) =>
  ctx.record(user, 'pq-one-time', user.ks.nextKeyId++, key);

/** Uploads until the node refuses; the refusal. */
async function fillUntilRefused(ctx: Context, user: User, make: () => PublicKeyRecord, member: string) {
  for (let batch = 0; batch < 20; batch++) {
    const answer = await upload(ctx, user, { [member]: Array.from({ length: 100 }, make) });
    if (answer.status !== 200) return answer;
  }
  throw new Error('2000 keys were accepted without a prekey_limit');
}

const current = async (ctx: Context, user: User) =>
  AccountStatusSchema.parse(expectStatus(await ctx.signedAs(user, 'GET', '/api/v1/accounts/me'), 200, 'GET /me'));

type Change = (request: Record<string, unknown>, ctx: Context, ks: Keystore) => void;

/**
 * A registration of a fresh address refused with `status code`: `change` alters the request
 * first; `proofAge` moves the proof's time back (negative: ahead); `address` replaces the address.
 */
const refusedRegistration = (
  section: string,
  what: string,
  status: number,
  code: string,
  change: Change = () => {},
  opts: { proofAge?: number; address?: (ctx: Context) => string } = {},
) =>
  casesOf(section)(`registration: ${what} -> ${status} ${code}`, async (ctx) => {
    const answer = await ctx.register(
      'r',
      (r, ks) => change(r, ctx, ks),
      unixNow() - (opts.proofAge ?? 0),
      opts.address?.(ctx),
    );
    expectError(answer, status, code);
  });

/** An upload by Alice refused with `status code`. */
const refusedUpload = (
  section: string,
  what: string,
  status: number,
  code: string,
  body: (ctx: Context, alice: User) => unknown,
) =>
  casesOf(section)(`uploads: ${what} -> ${status} ${code}`, async (ctx) => {
    const alice = await ctx.alice();
    expectError(await upload(ctx, alice, body(ctx, alice)), status, code);
  });

/** The identity DH key record of a registration request. */
const dhKey = (r: Record<string, unknown>) => r.identityDhKey as Record<string, unknown>;

/** A registration request of another, fresh keystore. */
const otherRequest = (ctx: Context) =>
  buildRegistration(createKeystore(ctx.local('other'), ctx.node, unixNow()), unixNow());

const unserved = (ctx: Context) => `${ctx.unique('x')}${ctx.run}@unserved-${ctx.run}.example`;

export const keyDirectoryCases: ConformanceCase[] = [
  registrationCase('registration: a valid request -> 201 {address, fingerprint, node}', async (ctx) => {
    const ks = createKeystore(ctx.local('new'), ctx.node, unixNow());
    const answer = await send(ctx.api('/api/v1/accounts'), { body: buildRegistration(ks, unixNow()) });
    const body = RegistrationResponseSchema.parse(expectStatus(answer, 201, 'registration'));
    equal([body.address, body.node], [ks.address, ctx.node], 'address and node');
    check(DISPLAY_FINGERPRINT.test(body.fingerprint), `fingerprint ${body.fingerprint} is not the display form`);
  }),
  registrationCase(
    'registration: the same address again -> 409 address_taken, the first identity stays',
    async (ctx) => {
      const alice = await ctx.alice();
      const before = (await send(ctx.api(ctx.identityPath(alice.address)))).json;
      const answer = await ctx.register('again', () => {}, unixNow(), alice.address);
      expectError(answer, 409, 'address_taken', 'second registration');
      equal((await send(ctx.api(ctx.identityPath(alice.address)))).json, before, 'identity after the refusal');
    },
  ),
  refusedRegistration(REGISTRATION, 'a domain the node does not serve', 403, 'domain_not_served', undefined, {
    address: unserved,
  }),
  refusedRegistration(
    REGISTRATION,
    'an unserved domain and a stale proof (the domain comes first)',
    403,
    'domain_not_served',
    undefined,
    { address: unserved, proofAge: 400 },
  ),
  statementCase('registration: a proof made for another node -> 422 bad_signature', async (ctx) => {
    const ks = createKeystore(ctx.local('elsewhere'), 'https://another-node.example', unixNow());
    const answer = await send(ctx.api('/api/v1/accounts'), { body: buildRegistration(ks, unixNow()) });
    expectError(answer, 422, 'bad_signature');
  }),
  refusedRegistration(STATEMENTS, 'a proof 400 s old', 422, 'proof_expired', undefined, { proofAge: 400 }),
  refusedRegistration(STATEMENTS, 'a proof dated 400 s ahead', 422, 'proof_expired', undefined, { proofAge: -400 }),
  refusedRegistration(STATEMENTS, 'a proof by another key', 422, 'bad_signature', (r, ctx) => {
    r.proof = otherRequest(ctx).proof;
  }),
  refusedRegistration(STATEMENTS, 'an identity DH key signed by another key', 422, 'bad_signature', (r, ctx) => {
    dhKey(r).signature = otherRequest(ctx).identityDhKey.signature;
  }),
  refusedRegistration(MEMBERS, 'a proof of 3 bytes', 422, 'bad_signature', (r) => {
    r.proof = 'AAAA';
  }),
  refusedRegistration(MEMBERS, 'an identity DH key of 3 bytes', 422, 'invalid_key', (r) => {
    dhKey(r).publicKey = 'AAAA';
  }),
  refusedRegistration(KEYS, 'an identity key that is not an Ed25519 point', 422, 'invalid_key', (r) => {
    r.identityKey = toB64u(notAnEd25519Point());
  }),
  refusedRegistration(KEYS, 'a low-order identity DH key, correctly signed', 422, 'invalid_key', (r, _ctx, ks) => {
    // Its prekey statement and the proof are signed over the low-order key, so only the key check refuses it.
    const identityDhKey = lowOrderX25519();
    const identityKey = ed25519PublicKey(ks.identitySecretKey);
    const statement = {
      kind: 'identity-dh' as const,
      address: ks.address,
      keyId: ks.identityDh.id,
      publicKey: identityDhKey,
    };
    const proof = {
      address: ks.address,
      nodeBaseUrl: ks.node,
      identityKey,
      identityDhKey,
      timestamp: r.timestamp as number,
    };
    dhKey(r).publicKey = toB64u(identityDhKey);
    dhKey(r).signature = toB64u(signPrekey(statement, ks.identitySecretKey));
    r.proof = toB64u(signRegistration(proof, ks.identitySecretKey));
  }),
  refusedRegistration(WIRE, 'an unknown member', 400, 'invalid_request', (r) => {
    r.extra = 1;
  }),
  refusedRegistration(WIRE, 'an invite of 257 characters', 400, 'invalid_request', (r) => {
    r.invite = 'i'.repeat(257);
  }),
  casesOf('docs/protocol.md §1.1')(
    'registration: an address not in canonical form -> 400 invalid_request naming address',
    async (ctx) => {
      const message = expectError(
        await ctx.register('Upper', (r) => (r.address = String(r.address).toUpperCase())),
        400,
        'invalid_request',
      );
      check(message.includes('address'), `the message does not name the member: ${message}`);
    },
  ),
  memberCase('registration: a body that is not JSON -> 400 invalid_json', async (ctx) => {
    expectError(await send(ctx.api('/api/v1/accounts'), { body: '{"address":' }), 400, 'invalid_json');
  }),
  memberCase('registration: a text/plain body -> 415 unsupported_media_type', async (ctx) => {
    const answer = await send(ctx.api('/api/v1/accounts'), {
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expectError(answer, 415, 'unsupported_media_type');
  }),
  memberCase('registration: a JSON array as the body -> 400 invalid_request', async (ctx) => {
    expectError(await send(ctx.api('/api/v1/accounts'), { body: '[]' }), 400, 'invalid_request');
  }),
  refusedRegistration(MEMBERS, 'a body over 512 KiB', 413, 'payload_too_large', (r) => {
    r.padding = 'x'.repeat(513 * 1024);
  }),
  registrationCase(
    'registration: an account without prekeys -> lookups and claims answer 404 not_found',
    async (ctx) => {
      const [keyless, alice] = await Promise.all([ctx.newUser('keyless', null), ctx.alice()]);
      const lookup = await send(ctx.api(ctx.identityPath(keyless.address)));
      expectError(lookup, 404, 'not_found', 'lookup');
      expectError(
        await ctx.signedAs(alice, 'POST', `${ctx.identityPath(keyless.address)}/claim`),
        404,
        'not_found',
        'claim',
      );
    },
  ),

  uploadCase('uploads: a signed prekey, a last-resort key and one-time keys -> 200 AccountStatus', async (ctx) => {
    const user = await ctx.newUser('up', 0);
    const signedPrekey = ctx.record(user, 'signed-prekey', user.ks.nextKeyId++, x25519Keygen().publicKey);
    const pqLastResort = ctx.record(user, 'pq-last-resort', user.ks.nextKeyId++, mlkem768Keygen().publicKey);
    const body = {
      signedPrekey,
      pqLastResort,
      oneTimePrekeys: [oneTime(ctx, user)],
      pqOneTimePrekeys: [pqOneTime(ctx, user)],
    };
    const status = AccountStatusSchema.parse(expectStatus(await upload(ctx, user, body), 200, 'upload'));
    equal(
      [
        status.address,
        status.oneTimePrekeys,
        status.pqOneTimePrekeys,
        status.maxOneTimePrekeys,
        status.signedPrekey?.id,
        status.pqLastResort?.id,
      ],
      [user.address, 1, 1, 1000, signedPrekey.id, pqLastResort.id],
      'address, counts, cap and current keys',
    );
  }),
  refusedUpload(STATEMENTS, 'a key signed for another slot', 422, 'bad_signature', (ctx, alice) => ({
    oneTimePrekeys: [oneTime(ctx, alice, { kind: 'signed-prekey' })],
  })),
  refusedUpload(STATEMENTS, 'a key signed for another address', 422, 'bad_signature', (ctx, alice) => ({
    oneTimePrekeys: [oneTime(ctx, alice, { address: ctx.local('someone') })],
  })),
  refusedUpload(STATEMENTS, 'a key signed for another id', 422, 'bad_signature', (ctx, alice) => ({
    oneTimePrekeys: [oneTime(ctx, alice, { keyId: 4_000_000_000 })],
  })),
  refusedUpload(KEYS, 'a low-order X25519 key', 422, 'invalid_key', (ctx, alice) => ({
    oneTimePrekeys: [oneTime(ctx, alice, {}, lowOrderX25519())],
  })),
  refusedUpload(KEYS, 'an X25519 key with the top bit set (not canonical)', 422, 'invalid_key', (ctx, alice) => ({
    signedPrekey: oneTimeAs(ctx, alice, 'signed-prekey', topBitSet()),
  })),
  refusedUpload(KEYS, 'an ML-KEM-768 key failing the modulus check', 422, 'invalid_key', (ctx, alice) => ({
    pqOneTimePrekeys: [pqOneTime(ctx, alice, failsModulusCheck())],
  })),
  refusedUpload(MEMBERS, 'a key of 3 bytes', 422, 'invalid_key', (ctx, alice) => ({
    oneTimePrekeys: [{ ...oneTime(ctx, alice), publicKey: 'AAAA' }],
  })),
  refusedUpload(MEMBERS, 'a signature of 3 bytes', 422, 'bad_signature', (ctx, alice) => ({
    oneTimePrekeys: [{ ...oneTime(ctx, alice), signature: 'AAAA' }],
  })),
  refusedUpload(MEMBERS, 'a key of 3 bytes beside a malformed id', 400, 'invalid_request', (ctx, alice) => ({
    oneTimePrekeys: [
      { ...oneTime(ctx, alice), publicKey: 'AAAA' },
      { ...oneTime(ctx, alice), id: 'seven' },
    ],
  })),
  refusedUpload(MEMBERS, 'an ML-KEM-768 key in an X25519 slot', 422, 'invalid_key', (ctx, alice) => ({
    oneTimePrekeys: [{ ...oneTime(ctx, alice), publicKey: toB64u(mlkem768Keygen().publicKey) }],
  })),
  refusedUpload(KEYS, 'a key id above 2^32 - 1', 400, 'invalid_request', (ctx, alice) => ({
    oneTimePrekeys: [{ ...oneTime(ctx, alice), id: 2 ** 32 }],
  })),
  keyCase('uploads: one id for an X25519 and an ML-KEM one-time key -> 200 (ids are per kind)', async (ctx) => {
    const user = await ctx.newUser('perkind', 0);
    const id = user.ks.nextKeyId++;
    const body = {
      oneTimePrekeys: [ctx.record(user, 'one-time-prekey', id, x25519Keygen().publicKey)],
      pqOneTimePrekeys: [ctx.record(user, 'pq-one-time', id, mlkem768Keygen().publicKey)],
    };
    const status = AccountStatusSchema.parse(expectStatus(await upload(ctx, user, body), 200, 'upload'));
    equal([status.oneTimePrekeys, status.pqOneTimePrekeys], [1, 1], 'counts');
  }),
  refusedUpload(UPLOADS, 'a one-time key id already stored', 409, 'conflict', (ctx, alice) => ({
    oneTimePrekeys: [
      ctx.record(alice, 'one-time-prekey', [...alice.ks.oneTimePrekeys.keys()][0], x25519Keygen().publicKey),
    ],
  })),
  refusedUpload(UPLOADS, '101 one-time keys in one batch', 413, 'payload_too_large', (ctx, alice) => {
    const key = x25519Keygen().publicKey;
    return { oneTimePrekeys: Array.from({ length: 101 }, () => oneTime(ctx, alice, {}, key)) };
  }),
  refusedUpload(UPLOADS, '101 ML-KEM one-time keys in one batch', 413, 'payload_too_large', (ctx, alice) => {
    const key = mlkem768Keygen().publicKey;
    return { pqOneTimePrekeys: Array.from({ length: 101 }, () => pqOneTime(ctx, alice, key)) };
  }),
  refusedUpload(UPLOADS, 'two keys with one id in a batch', 400, 'invalid_request', (ctx, alice) => {
    const twice = oneTime(ctx, alice);
    return { oneTimePrekeys: [twice, twice] };
  }),
  refusedUpload(UPLOADS, 'an empty upload', 400, 'invalid_request', () => ({})),
  refusedUpload(WIRE, 'an empty list of one-time keys', 400, 'invalid_request', () => ({ oneTimePrekeys: [] })),
  uploadCase('uploads: one bad key among good ones -> 422, none of them stored', async (ctx) => {
    const user = await ctx.newUser('atomic', 0);
    const records = [oneTime(ctx, user), oneTime(ctx, user), oneTime(ctx, user, {}, lowOrderX25519())];
    expectError(await upload(ctx, user, { oneTimePrekeys: records }), 422, 'invalid_key');
    equal((await current(ctx, user)).oneTimePrekeys, 0, 'one-time keys stored');
  }),
  uploadCase('uploads: past 1000 one-time keys -> 409 prekey_limit', async (ctx) => {
    const user = await ctx.newUser('cap', null);
    // One key under many ids: the node counts records, and keys cost the client time to make.
    const key = x25519Keygen().publicKey;
    const answer = await fillUntilRefused(ctx, user, () => oneTime(ctx, user, {}, key), 'oneTimePrekeys');
    expectError(answer, 409, 'prekey_limit');
  }),
  uploadCase('uploads: past 1000 ML-KEM one-time keys -> 409 prekey_limit', async (ctx) => {
    const user = await ctx.newUser('pqcap', null);
    const key = mlkem768Keygen().publicKey;
    expectError(
      await fillUntilRefused(ctx, user, () => pqOneTime(ctx, user, key), 'pqOneTimePrekeys'),
      409,
      'prekey_limit',
    );
  }),
  uploadCase('uploads: a new signed prekey -> it replaces the current one in lookups', async (ctx) => {
    const user = await ctx.newUser('rotate', 0);
    const signedPrekey = oneTimeAs(ctx, user, 'signed-prekey', x25519Keygen().publicKey);
    const status = AccountStatusSchema.parse(expectStatus(await upload(ctx, user, { signedPrekey }), 200, 'upload'));
    equal(status.signedPrekey?.id, signedPrekey.id, 'AccountStatus.signedPrekey.id');
    const identity = PublicIdentitySchema.parse((await send(ctx.api(ctx.identityPath(user.address)))).json);
    equal(identity.signedPrekey, signedPrekey, 'the signed prekey a lookup answers');
  }),
  uploadCase('uploads: the current signed prekey again -> 200, no change', async (ctx) => {
    const user = await ctx.newUser('same', 0);
    const signedPrekey = oneTimeAs(ctx, user, 'signed-prekey', x25519Keygen().publicKey);
    const first = expectStatus(await upload(ctx, user, { signedPrekey }), 200, 'first upload') as Record<
      string,
      unknown
    >;
    const again = expectStatus(await upload(ctx, user, { signedPrekey }), 200, 'again') as Record<string, unknown>;
    equal(again.signedPrekey, first.signedPrekey, 'AccountStatus.signedPrekey');
  }),
  uploadCase('uploads: another key under the current signed prekey id -> 409 conflict', async (ctx) => {
    const user = await ctx.newUser('spkid', 0);
    const id = (await current(ctx, user)).signedPrekey!.id;
    const record = ctx.record(user, 'signed-prekey', id, x25519Keygen().publicKey);
    expectError(await upload(ctx, user, { signedPrekey: record }), 409, 'conflict');
  }),
  uploadCase('uploads: another key under the current last-resort id -> 409 conflict', async (ctx) => {
    const user = await ctx.newUser('lrid', 0);
    const id = (await current(ctx, user)).pqLastResort!.id;
    const record = ctx.record(user, 'pq-last-resort', id, mlkem768Keygen().publicKey);
    expectError(await upload(ctx, user, { pqLastResort: record }), 409, 'conflict');
  }),

  lookupCase(
    'lookup: any spelling of the address -> 200 the canonical identity, every signature verifies',
    async (ctx) => {
      const alice = await ctx.alice();
      const answer = await send(ctx.api(ctx.identityPath(alice.address.toUpperCase())));
      const identity = PublicIdentitySchema.parse(expectStatus(answer, 200, 'lookup'));
      equal(decodePublicIdentity(identity, alice.address).address, alice.address, 'address');
      check(DISPLAY_FINGERPRINT.test(identity.fingerprint), 'fingerprint is not the display form');
    },
  ),
  casesOf('docs/discovery.md §7')('lookup: Cache-Control -> public, max-age=30', async (ctx) => {
    const answer = await send(ctx.api(ctx.identityPath((await ctx.alice()).address)));
    equal(answer.headers.get('cache-control'), 'public, max-age=30', 'Cache-Control');
  }),
  lookupCase(
    'lookup: an unknown address -> 404 {"error":{"code":"not_found","message":"no such address"}}',
    async (ctx) => {
      const answer = await send(ctx.api(ctx.identityPath(ctx.local('nobody'))));
      expectError(answer, 404, 'not_found');
      equal(answer.json, NOT_FOUND, 'body');
    },
  ),
  lookupCase('lookup: an account without published keys -> the same 404 body', async (ctx) => {
    const answer = await send(ctx.api(ctx.identityPath((await ctx.newUser('nokeys', null)).address)));
    expectError(answer, 404, 'not_found');
    equal(answer.json, NOT_FOUND, 'body');
  }),
  lookupCase('lookup: an address of a domain the node does not serve -> the same 404 body', async (ctx) => {
    const answer = await send(ctx.api(ctx.identityPath(`x@unserved-${ctx.run}.example`)));
    expectError(answer, 404, 'not_found');
    equal(answer.json, NOT_FOUND, 'body');
  }),
  lookupCase('lookup: a malformed address -> 400 invalid_address', async (ctx) => {
    expectError(await send(ctx.api('/api/v1/identities/a..b%40x.example')), 400, 'invalid_address');
  }),

  claimCase('claims: one-time keys -> each handed out once', async (ctx) => {
    const [alice, target] = await Promise.all([ctx.alice(), ctx.newUser('claimed', 2)]);
    const first = await alice.client.claim(target.address);
    const second = await alice.client.claim(target.address);
    const ids = [first, second].map((b) => [b.oneTimePrekey?.id, b.pqOneTimePrekey?.id]);
    check(
      ids.flat().every((id) => id !== undefined),
      `a claim lacks a one-time key (${JSON.stringify(ids)})`,
    );
    check(
      ids[0][0] !== ids[1][0] && ids[0][1] !== ids[1][1],
      `a one-time key was handed out twice (${JSON.stringify(ids)})`,
    );
    equal([first.usedLastResort, second.usedLastResort], [false, false], 'usedLastResort');
  }),
  claimCase('claims: one-time keys used up -> no one-time keys, usedLastResort true', async (ctx) => {
    const [alice, target] = await Promise.all([ctx.alice(), ctx.newUser('empty', 0)]);
    const bundle = await alice.client.claim(target.address);
    equal(
      [bundle.oneTimePrekey, bundle.pqOneTimePrekey, bundle.usedLastResort],
      [undefined, undefined, true],
      'bundle',
    );
  }),
  claimCase(
    'claims: X25519 one-time keys used up, ML-KEM ones left -> no oneTimePrekey, usedLastResort false',
    async (ctx) => {
      const [alice, target] = await Promise.all([ctx.alice(), ctx.newUser('pqonly', 0)]);
      expectStatus(await upload(ctx, target, { pqOneTimePrekeys: [pqOneTime(ctx, target)] }), 200, 'upload');
      const answer = await ctx.signedAs(alice, 'POST', `${ctx.identityPath(target.address)}/claim`);
      const bundle = decodeBundle(expectStatus(answer, 200, 'claim'), target.address);
      equal(
        [bundle.oneTimePrekey === undefined, bundle.pqOneTimePrekey !== undefined, bundle.usedLastResort],
        [true, true, false],
        'no X25519 one-time key, an ML-KEM one, usedLastResort',
      );
    },
  ),
  claimCase('claims: any spelling of the address in the path -> the canonical bundle', async (ctx) => {
    const [alice, bob] = await Promise.all([ctx.alice(), ctx.bob()]);
    const answer = await ctx.signedAs(alice, 'POST', `${ctx.identityPath(bob.address.toUpperCase())}/claim`);
    equal(decodeBundle(expectStatus(answer, 200, 'claim'), bob.address).address, bob.address, 'address');
  }),
  claimCase('claims: unsigned -> 401 signature_missing', async (ctx) => {
    const bob = await ctx.bob();
    expectError(
      await send(ctx.api(`${ctx.identityPath(bob.address)}/claim`), { method: 'POST' }),
      401,
      'signature_missing',
    );
  }),
  claimCase('claims: an unknown address -> 404 not_found', async (ctx) => {
    const alice = await ctx.alice();
    expectError(await ctx.signedAs(alice, 'POST', `${ctx.identityPath(ctx.local('nobody'))}/claim`), 404, 'not_found');
  }),
  claimCase('claims: a malformed address in the path -> 400 invalid_address', async (ctx) => {
    const alice = await ctx.alice();
    expectError(await ctx.signedAs(alice, 'POST', '/api/v1/identities/a..b%40x.example/claim'), 400, 'invalid_address');
  }),
];

/** A record of `kind` under a fresh id (for slots that are not one-time keys). */
function oneTimeAs(ctx: Context, user: User, kind: 'signed-prekey', key: Uint8Array): PublicKeyRecord {
  return ctx.record(user, kind, user.ks.nextKeyId++, key);
}
