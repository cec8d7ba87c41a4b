import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import {
  ed25519Keygen,
  ed25519Sign,
  hkdfSha256,
  hmacSha256,
  type KeyPair,
  mlkem768Decapsulate,
  mlkem768Encapsulate,
  mlkem768Keygen,
  randomBytes,
  sha256,
  x25519Keygen,
  x25519PublicKey,
  x25519SharedSecret,
} from './crypto.js';
import { concatBytes, fromB64u, fromHex, lengthPrefixed, toB64u, toHex, utf8 } from './encoding.js';
import {
  acceptExchange,
  EXCHANGE_MAX_AGE_SECONDS,
  exchangeTranscript,
  initiateExchange,
  type ResponderKeys,
  verifyConfirmation,
  verifyConfirmationSignature,
  verifyInitiationSignature,
} from './exchange.js';
import { identityFingerprint } from './fingerprint.js';
import { type PrekeyKind, signPrekey } from './keys.js';
import {
  decodeBundle,
  decodePublicIdentity,
  encodeKeyRecord,
  type ExchangeInitiation,
  type PrekeyBundle,
  type PublicIdentity,
} from './wire.js';
import { expectCode } from '../../test/support/expect-error.js';

// --- The published vectors ----------------------------------------------------------------

interface HexKey {
  id: number;
  secretKey: string;
  publicKey: string;
  signature: string;
  seed?: string;
}
interface VectorCase {
  name: string;
  alice: {
    address: string;
    identitySecretKey: string;
    identityKey: string;
    identityDhKey: HexKey;
    ephemeralSecretKey: string;
    ephemeralKey: string;
  };
  bob: {
    address: string;
    identitySecretKey: string;
    identityKey: string;
    identityDhKey: HexKey;
    signedPrekey: HexKey;
    oneTimePrekey?: HexKey;
    pqLastResort: HexKey;
    pqOneTimePrekey?: HexKey;
  };
  exchangeId: string;
  createdAt: number;
  pqRandomness: string;
  aliceIdentity: PublicIdentity;
  bundle: PrekeyBundle;
  intermediate: Record<string, string>;
  output: {
    secret: string;
    confirmKey: string;
    initiationSignature: string;
    confirmationMac: string;
    confirmationSignature: string;
    initiation: ExchangeInitiation;
    confirmation: Record<string, unknown>;
  };
}
const vectors = JSON.parse(readFileSync(new URL('../../docs/test-vectors/exchange.json', import.meta.url), 'utf8')) as {
  cases: VectorCase[];
};

/** Bob's secrets from a vector, as his keystore would look them up. */
function vectorResponder(c: VectorCase): ResponderKeys {
  const { bob } = c;
  const byId = (key: HexKey | undefined) => (id: number) => (key && key.id === id ? fromHex(key.secretKey) : undefined);
  return {
    address: bob.address,
    identitySecretKey: fromHex(bob.identitySecretKey),
    identityDhSecretKey: fromHex(bob.identityDhKey.secretKey),
    signedPrekeySecret: byId(bob.signedPrekey),
    oneTimePrekeySecret: byId(bob.oneTimePrekey),
    pqPrekeySecret: (kind, id) => byId(kind === 'pq-one-time' ? bob.pqOneTimePrekey : bob.pqLastResort)(id),
  };
}

describe.each(vectors.cases.map((c) => [c.name, c] as const))('docs/test-vectors/exchange.json: %s', (_, c) => {
  const h = fromHex;
  const { alice, bob, intermediate: mid, output } = c;
  const usedPq = bob.pqOneTimePrekey ?? bob.pqLastResort;
  const pqKind = bob.pqOneTimePrekey ? 'pq-one-time' : 'pq-last-resort';

  it('derives every public key from its secret or seed', () => {
    expect(toHex(ed25519Keygen(h(alice.identitySecretKey)).publicKey)).toBe(alice.identityKey);
    expect(toHex(x25519PublicKey(h(alice.identityDhKey.secretKey)))).toBe(alice.identityDhKey.publicKey);
    expect(toHex(x25519PublicKey(h(alice.ephemeralSecretKey)))).toBe(alice.ephemeralKey);
    expect(toHex(ed25519Keygen(h(bob.identitySecretKey)).publicKey)).toBe(bob.identityKey);
    for (const key of [bob.identityDhKey, bob.signedPrekey, bob.oneTimePrekey].filter((k) => k !== undefined)) {
      expect(toHex(x25519PublicKey(h(key.secretKey)))).toBe(key.publicKey);
    }
    for (const key of [bob.pqLastResort, bob.pqOneTimePrekey].filter((k) => k !== undefined)) {
      const pair = mlkem768Keygen(h(key.seed!));
      expect(toHex(pair.publicKey)).toBe(key.publicKey);
      expect(toHex(pair.secretKey)).toBe(key.secretKey);
    }
  });

  it('has wire objects that verify and carry those keys', () => {
    const bundle = decodeBundle(c.bundle, bob.address);
    expect(toHex(bundle.identityKey)).toBe(bob.identityKey);
    expect(toHex(bundle.identityDhKey.signature)).toBe(bob.identityDhKey.signature);
    expect(toHex(bundle.signedPrekey.publicKey)).toBe(bob.signedPrekey.publicKey);
    expect(toHex(bundle.pqLastResort.publicKey)).toBe(bob.pqLastResort.publicKey);
    expect(bundle.oneTimePrekey && toHex(bundle.oneTimePrekey.publicKey)).toBe(bob.oneTimePrekey?.publicKey);
    expect(bundle.pqOneTimePrekey && toHex(bundle.pqOneTimePrekey.publicKey)).toBe(bob.pqOneTimePrekey?.publicKey);
    const aliceIdentity = decodePublicIdentity(c.aliceIdentity, alice.address);
    expect(toHex(aliceIdentity.identityKey)).toBe(alice.identityKey);
    expect(toHex(aliceIdentity.identityDhKey.publicKey)).toBe(alice.identityDhKey.publicKey);
  });

  it('matches every intermediate value, recomputed here from the primitives (docs/protocol.md)', () => {
    // Alice's view.
    const dh = [
      x25519SharedSecret(h(alice.identityDhKey.secretKey), h(bob.signedPrekey.publicKey)),
      x25519SharedSecret(h(alice.ephemeralSecretKey), h(bob.identityDhKey.publicKey)),
      x25519SharedSecret(h(alice.ephemeralSecretKey), h(bob.signedPrekey.publicKey)),
    ];
    if (bob.oneTimePrekey) dh.push(x25519SharedSecret(h(alice.ephemeralSecretKey), h(bob.oneTimePrekey.publicKey)));
    expect(dh.map(toHex)).toEqual([mid.dh1, mid.dh2, mid.dh3, mid.dh4].filter((x) => x !== undefined));
    // Bob's view of the same values.
    const bobDh = [
      x25519SharedSecret(h(bob.signedPrekey.secretKey), h(alice.identityDhKey.publicKey)),
      x25519SharedSecret(h(bob.identityDhKey.secretKey), h(alice.ephemeralKey)),
      x25519SharedSecret(h(bob.signedPrekey.secretKey), h(alice.ephemeralKey)),
    ];
    if (bob.oneTimePrekey) bobDh.push(x25519SharedSecret(h(bob.oneTimePrekey.secretKey), h(alice.ephemeralKey)));
    expect(bobDh.map(toHex)).toEqual(dh.map(toHex));

    const kem = mlkem768Encapsulate(h(usedPq.publicKey), h(c.pqRandomness));
    expect(toHex(kem.cipherText)).toBe(mid.pqCiphertext);
    expect(toHex(kem.sharedSecret)).toBe(mid.pqSharedSecret);
    expect(toHex(mlkem768Decapsulate(kem.cipherText, h(usedPq.secretKey)))).toBe(mid.pqSharedSecret);

    const transcript = lengthPrefixed(
      'KeyPears/v1 exchange',
      fromB64u(c.exchangeId),
      alice.address,
      bob.address,
      h(alice.identityKey),
      h(alice.identityDhKey.publicKey),
      h(alice.ephemeralKey),
      h(bob.identityKey),
      h(bob.identityDhKey.publicKey),
      String(bob.signedPrekey.id),
      h(bob.signedPrekey.publicKey),
      bob.oneTimePrekey ? String(bob.oneTimePrekey.id) : '',
      bob.oneTimePrekey ? h(bob.oneTimePrekey.publicKey) : new Uint8Array(0),
      pqKind,
      String(usedPq.id),
      h(usedPq.publicKey),
      kem.cipherText,
    );
    expect(toHex(transcript)).toBe(mid.transcript);
    const th = sha256(transcript);
    expect(toHex(th)).toBe(mid.transcriptHash);

    const ikm = concatBytes(new Uint8Array(32).fill(0xff), ...dh, kem.sharedSecret);
    expect(toHex(ikm)).toBe(mid.ikm);
    const okm = hkdfSha256(ikm, new Uint8Array(32), concatBytes(utf8('KeyPears/v1 exchange keys'), th), 64);
    expect(toHex(okm)).toBe(mid.okm);
    expect(toHex(okm.slice(0, 32))).toBe(output.secret);
    expect(toHex(okm.slice(32))).toBe(output.confirmKey);

    const initiationStatement = lengthPrefixed('KeyPears/v1 initiation', th, String(c.createdAt));
    expect(toHex(initiationStatement)).toBe(mid.initiationStatement);
    expect(toHex(ed25519Sign(initiationStatement, h(alice.identitySecretKey)))).toBe(output.initiationSignature);

    const mac = hmacSha256(okm.slice(32), lengthPrefixed('KeyPears/v1 confirm', th));
    expect(toHex(mac)).toBe(output.confirmationMac);
    const confirmationStatement = lengthPrefixed(
      'KeyPears/v1 confirmation',
      fromB64u(c.exchangeId),
      bob.address,
      alice.address,
      mac,
    );
    expect(toHex(confirmationStatement)).toBe(mid.confirmationStatement);
    expect(toHex(ed25519Sign(confirmationStatement, h(bob.identitySecretKey)))).toBe(output.confirmationSignature);
  });

  it('initiateExchange reproduces the initiation and keys', () => {
    const result = initiateExchange({
      self: {
        address: alice.address,
        identitySecretKey: h(alice.identitySecretKey),
        identityDhSecretKey: h(alice.identityDhKey.secretKey),
      },
      peerBundle: decodeBundle(c.bundle, bob.address),
      exchangeId: c.exchangeId,
      ephemeral: h(alice.ephemeralSecretKey),
      pqRandomness: h(c.pqRandomness),
      createdAt: c.createdAt,
    });
    expect(result.initiation).toEqual(output.initiation);
    expect(toHex(fromB64u(result.initiation.signature))).toBe(output.initiationSignature);
    expect(toHex(result.secret)).toBe(output.secret);
    expect(toHex(result.confirmKey)).toBe(output.confirmKey);
    expect(toHex(result.transcriptHash)).toBe(mid.transcriptHash);
    expect(result.usedOneTimePrekey).toBe(bob.oneTimePrekey !== undefined);
  });

  it('acceptExchange reproduces the secret and the confirmation; verifyConfirmation accepts it', () => {
    const result = acceptExchange({
      self: vectorResponder(c),
      initiation: output.initiation,
      initiatorIdentity: decodePublicIdentity(c.aliceIdentity, alice.address),
      now: c.createdAt,
    });
    expect(toHex(result.secret)).toBe(output.secret);
    expect(toHex(result.transcriptHash)).toBe(mid.transcriptHash);
    expect(result.confirmation).toEqual(output.confirmation);
    expect(
      verifyConfirmation({
        confirmation: output.confirmation,
        initiation: output.initiation,
        responderIdentityKey: h(bob.identityKey),
        confirmKey: h(output.confirmKey),
        transcriptHash: h(mid.transcriptHash),
      }),
    ).toEqual(output.confirmation);
  });
});

// --- Generated parties --------------------------------------------------------------------

interface Party {
  address: string;
  identity: KeyPair;
  identityDh: KeyPair;
  signedPrekey: KeyPair;
  oneTimePrekeys: Map<number, KeyPair>;
  pqLastResort: KeyPair;
  pqOneTimePrekeys: Map<number, KeyPair>;
}

function makeParty(address: string): Party {
  return {
    address,
    identity: ed25519Keygen(),
    identityDh: x25519Keygen(),
    signedPrekey: x25519Keygen(),
    oneTimePrekeys: new Map([
      [10, x25519Keygen()],
      [11, x25519Keygen()],
    ]),
    pqLastResort: mlkem768Keygen(),
    pqOneTimePrekeys: new Map([[20, mlkem768Keygen()]]),
  };
}

function record(party: Party, kind: PrekeyKind, id: number, key: KeyPair) {
  const input = { kind, address: party.address, keyId: id, publicKey: key.publicKey };
  return encodeKeyRecord({ id, publicKey: key.publicKey, signature: signPrekey(input, party.identity.secretKey) });
}

/** The party's public identity (as its node publishes it). Signed prekey id 1, last resort id 2. */
function publicIdentity(party: Party): PublicIdentity {
  return {
    address: party.address,
    identityKey: toB64u(party.identity.publicKey),
    identityDhKey: record(party, 'identity-dh', 1, party.identityDh),
    signedPrekey: record(party, 'signed-prekey', 1, party.signedPrekey),
    pqLastResort: record(party, 'pq-last-resort', 2, party.pqLastResort),
    fingerprint: identityFingerprint(party.identity.publicKey),
  };
}

function bundleOf(party: Party, opts: { oneTime: boolean; pqOneTime: boolean }): PrekeyBundle {
  const bundle: PrekeyBundle = { ...publicIdentity(party), usedLastResort: !opts.pqOneTime };
  if (opts.oneTime) bundle.oneTimePrekey = record(party, 'one-time-prekey', 10, party.oneTimePrekeys.get(10)!);
  if (opts.pqOneTime) bundle.pqOneTimePrekey = record(party, 'pq-one-time', 20, party.pqOneTimePrekeys.get(20)!);
  return bundle;
}

function responderKeys(party: Party): ResponderKeys {
  return {
    address: party.address,
    identitySecretKey: party.identity.secretKey,
    identityDhSecretKey: party.identityDh.secretKey,
    signedPrekeySecret: (id) => (id === 1 ? party.signedPrekey.secretKey : undefined),
    oneTimePrekeySecret: (id) => party.oneTimePrekeys.get(id)?.secretKey,
    pqPrekeySecret: (kind, id) =>
      kind === 'pq-last-resort'
        ? id === 2
          ? party.pqLastResort.secretKey
          : undefined
        : party.pqOneTimePrekeys.get(id)?.secretKey,
  };
}

const NOW = 1_800_000_000;
const alice = makeParty('alice@a.example');
const bob = makeParty('bob@b.example');
const aliceSelf = {
  address: alice.address,
  identitySecretKey: alice.identity.secretKey,
  identityDhSecretKey: alice.identityDh.secretKey,
};
const aliceIdentity = decodePublicIdentity(publicIdentity(alice), alice.address);

function start(opts = { oneTime: true, pqOneTime: true }) {
  return initiateExchange({
    self: aliceSelf,
    peerBundle: decodeBundle(bundleOf(bob, opts), bob.address),
    createdAt: NOW,
  });
}

function accept(initiation: unknown, overrides: Partial<Parameters<typeof acceptExchange>[0]> = {}) {
  return acceptExchange({ self: responderKeys(bob), initiation, initiatorIdentity: aliceIdentity, ...overrides });
}

describe('round trip', () => {
  it.each([
    ['one-time prekeys of both kinds', { oneTime: true, pqOneTime: true }],
    ['X25519 one-time prekey, ML-KEM last resort', { oneTime: true, pqOneTime: false }],
    ['no X25519 one-time prekey, ML-KEM one-time prekey', { oneTime: false, pqOneTime: true }],
    ['last resort only', { oneTime: false, pqOneTime: false }],
  ])('%s: both sides derive the same secret and the confirmation verifies', (_, opts) => {
    const started = start(opts);
    expect(started.usedOneTimePrekey).toBe(opts.oneTime);
    expect(started.initiation.pqPrekeyKind).toBe(opts.pqOneTime ? 'pq-one-time' : 'pq-last-resort');
    expect(started.initiation.pqPrekeyId).toBe(opts.pqOneTime ? 20 : 2);
    expect('oneTimePrekeyId' in started.initiation).toBe(opts.oneTime);
    const accepted = accept(started.initiation, { now: NOW });
    expect(accepted.secret).toHaveLength(32);
    expect(toHex(accepted.secret)).toBe(toHex(started.secret));
    expect(toHex(accepted.transcriptHash)).toBe(toHex(started.transcriptHash));
    expect(() =>
      verifyConfirmation({
        confirmation: accepted.confirmation,
        initiation: started.initiation,
        responderIdentityKey: bob.identity.publicKey,
        confirmKey: started.confirmKey,
        transcriptHash: started.transcriptHash,
      }),
    ).not.toThrow();
  });

  it('uses fresh randomness for every exchange', () => {
    const [a, b] = [start(), start()];
    expect(a.initiation.exchangeId).not.toBe(b.initiation.exchangeId);
    expect(a.initiation.ephemeralKey).not.toBe(b.initiation.ephemeralKey);
    expect(toHex(a.secret)).not.toBe(toHex(b.secret));
    expect(toHex(a.secret)).not.toBe(toHex(a.confirmKey));
  });
});

describe('acceptExchange refuses a tampered initiation', () => {
  const started = start();
  const initiation = started.initiation;
  const otherKey = toB64u(x25519Keygen().publicKey);
  const flipByte = (b64u: string, index = 0) => {
    const bytes = fromB64u(b64u);
    bytes[index] ^= 1;
    return toB64u(bytes);
  };

  it('accepts the untampered initiation', () => {
    expect(() => accept(initiation)).not.toThrow();
  });

  it.each<[keyof ExchangeInitiation | 'extra', unknown, string]>([
    ['exchangeId', toB64u(randomBytes(16)), 'bad_signature'],
    ['from', 'carol@a.example', 'invalid_exchange'],
    ['to', 'dave@b.example', 'invalid_exchange'],
    ['identityKey', toB64u(ed25519Keygen().publicKey), 'invalid_exchange'],
    ['identityDhKey', otherKey, 'invalid_exchange'],
    ['ephemeralKey', otherKey, 'bad_signature'],
    ['signedPrekeyId', 2, 'invalid_exchange'],
    ['oneTimePrekeyId', 11, 'bad_signature'],
    ['oneTimePrekeyId', 12, 'invalid_exchange'],
    ['oneTimePrekeyId', undefined, 'bad_signature'],
    ['pqPrekeyId', 21, 'invalid_exchange'],
    ['pqPrekeyKind', 'pq-last-resort', 'invalid_exchange'],
    ['pqCiphertext', flipByte(initiation.pqCiphertext, 100), 'bad_signature'],
    ['createdAt', NOW + 1, 'bad_signature'],
    ['signature', flipByte(initiation.signature, 63), 'bad_signature'],
    ['signature', 'AAAA', 'invalid_exchange'],
    ['extra', 'field', 'invalid_exchange'],
  ])('%s = %p -> %s', (field, value, code) => {
    const tampered: Record<string, unknown> = { ...initiation, [field]: value };
    if (value === undefined) delete tampered[field];
    expectCode(() => accept(tampered), code);
  });

  it('refuses every single-byte change of every byte field', () => {
    for (const field of [
      'exchangeId',
      'identityKey',
      'identityDhKey',
      'ephemeralKey',
      'pqCiphertext',
      'signature',
    ] as const) {
      const length = fromB64u(initiation[field]).length;
      for (const index of [0, length >> 1, length - 1]) {
        expectCode(
          () => accept({ ...initiation, [field]: flipByte(initiation[field], index) }),
          ['bad_signature', 'invalid_exchange'],
        );
      }
    }
  });

  it('refuses a missing field and a non-object', () => {
    const { createdAt: _, ...missing } = initiation;
    expectCode(() => accept(missing), 'invalid_exchange');
    expectCode(() => accept('initiation'), 'invalid_exchange');
  });

  it('refuses an initiation checked against the wrong published identity', () => {
    const carol = decodePublicIdentity(publicIdentity(makeParty('alice@a.example')), alice.address);
    expectCode(() => accept(initiation, { initiatorIdentity: carol }), 'invalid_exchange');
    const other = decodePublicIdentity(publicIdentity(makeParty('carol@c.example')));
    expectCode(() => accept(initiation, { initiatorIdentity: other }), 'invalid_exchange');
  });

  it('refuses a one-time prekey that was already used', () => {
    const keys = responderKeys(bob);
    expectCode(
      () => accept(initiation, { self: { ...keys, oneTimePrekeySecret: () => undefined } }),
      'invalid_exchange',
    );
    expectCode(() => accept(initiation, { self: { ...keys, pqPrekeySecret: () => undefined } }), 'invalid_exchange');
  });

  it('refuses stale and future-dated initiations when given the time', () => {
    expect(() => accept(initiation, { now: NOW + EXCHANGE_MAX_AGE_SECONDS })).not.toThrow();
    expectCode(() => accept(initiation, { now: NOW + EXCHANGE_MAX_AGE_SECONDS + 1 }), 'exchange_expired');
    expect(() => accept(initiation, { now: NOW - 300 })).not.toThrow();
    expectCode(() => accept(initiation, { now: NOW - 301 }), 'invalid_exchange');
  });

  it('refuses an initiation meant for someone else', () => {
    const carol = makeParty('carol@b.example');
    expectCode(() => accept(initiation, { self: responderKeys(carol) }), 'invalid_exchange');
  });

  it('refuses a low-order ephemeral key even when Alice signed it', () => {
    const bundle = bundleOf(bob, { oneTime: false, pqOneTime: false });
    const responder = {
      identityKey: bob.identity.publicKey,
      identityDhKey: bob.identityDh.publicKey,
      signedPrekey: bob.signedPrekey.publicKey,
      pqPrekey: bob.pqLastResort.publicKey,
    };
    const base = initiateExchange({ self: aliceSelf, peerBundle: decodeBundle(bundle), createdAt: NOW }).initiation;
    const { signature: _, ...unsigned } = { ...base, ephemeralKey: toB64u(new Uint8Array(32)) };
    const th = sha256(exchangeTranscript(unsigned, responder));
    const signature = ed25519Sign(lengthPrefixed('KeyPears/v1 initiation', th, String(NOW)), alice.identity.secretKey);
    const error = expectCode(() => accept({ ...unsigned, signature: toB64u(signature) }), 'invalid_exchange');
    expect(error.message).toMatch(/ephemeralKey/);
  });

  it('refuses a corrupt ML-KEM secret key with invalid_key', () => {
    const keys = responderKeys(bob);
    const corrupt = (kind: 'pq-last-resort' | 'pq-one-time', id: number) => {
      const secret = keys.pqPrekeySecret(kind, id)!.slice();
      secret[2340] ^= 1; // inside H(ek), which decapsulation checks
      return secret;
    };
    expectCode(() => accept(initiation, { self: { ...keys, pqPrekeySecret: corrupt } }), 'invalid_key');
    expectCode(
      () => accept(initiation, { self: { ...keys, pqPrekeySecret: () => new Uint8Array(10) } }),
      'invalid_key',
    );
  });
});

describe('initiateExchange input checks', () => {
  it('re-verifies the signatures of the prekeys it uses', () => {
    const bundle = decodeBundle(bundleOf(bob, { oneTime: true, pqOneTime: true }));
    for (const field of ['identityDhKey', 'signedPrekey', 'oneTimePrekey', 'pqOneTimePrekey'] as const) {
      const tampered = { ...bundle, [field]: { ...bundle[field]!, id: bundle[field]!.id + 1 } };
      const error = expectCode(
        () => initiateExchange({ self: aliceSelf, peerBundle: tampered, createdAt: NOW }),
        'bad_signature',
      );
      expect(error.details).toEqual({ key: field });
    }
    const lastResort = decodeBundle(bundleOf(bob, { oneTime: false, pqOneTime: false }));
    const tampered = { ...lastResort, pqLastResort: { ...lastResort.pqLastResort, id: 3 } };
    expectCode(() => initiateExchange({ self: aliceSelf, peerBundle: tampered, createdAt: NOW }), 'bad_signature');
  });

  it('refuses bad parameters', () => {
    const peerBundle = decodeBundle(bundleOf(bob, { oneTime: true, pqOneTime: true }));
    const run = (overrides: Partial<Parameters<typeof initiateExchange>[0]>) => () =>
      initiateExchange({ self: aliceSelf, peerBundle, createdAt: NOW, ...overrides });
    expectCode(run({ self: { ...aliceSelf, address: 'Alice@a.example' } }), 'invalid_address');
    expectCode(run({ self: { ...aliceSelf, address: bob.address } }), 'invalid_exchange');
    expectCode(run({ createdAt: -1 }), 'invalid_exchange');
    expectCode(run({ createdAt: 1.5 }), 'invalid_exchange');
    expectCode(run({ exchangeId: 'AAAA' }), 'invalid_exchange');
    expectCode(run({ exchangeId: 'not base64!' }), 'invalid_exchange');
    expectCode(run({ ephemeral: new Uint8Array(31) }), 'invalid_key');
    expectCode(run({ self: { ...aliceSelf, identityDhSecretKey: new Uint8Array(3) } }), 'invalid_key');
  });
});

describe('confirmation', () => {
  const started = start();
  const { confirmation } = accept(started.initiation);
  const verify =
    (value: unknown, overrides: Partial<Parameters<typeof verifyConfirmation>[0]> = {}) =>
    () =>
      verifyConfirmation({
        confirmation: value,
        initiation: started.initiation,
        responderIdentityKey: bob.identity.publicKey,
        confirmKey: started.confirmKey,
        transcriptHash: started.transcriptHash,
        ...overrides,
      });
  const flip = (b64u: string) => {
    const bytes = fromB64u(b64u);
    bytes[7] ^= 1;
    return toB64u(bytes);
  };

  it.each<[string, Record<string, unknown>, string]>([
    ['exchangeId', { exchangeId: toB64u(randomBytes(16)) }, 'invalid_exchange'],
    ['from', { from: 'carol@b.example' }, 'invalid_exchange'],
    ['to', { to: 'carol@a.example' }, 'invalid_exchange'],
    ['mac', { mac: flip(confirmation.mac) }, 'bad_signature'],
    ['signature', { signature: flip(confirmation.signature) }, 'bad_signature'],
    ['an unknown field', { extra: 1 }, 'invalid_exchange'],
  ])('refuses a changed %s', (_, change, code) => {
    expectCode(verify({ ...confirmation, ...change }), code);
  });

  it('refuses a confirmation signed by another key', () => {
    expectCode(verify(confirmation, { responderIdentityKey: alice.identity.publicKey }), 'bad_signature');
  });

  it('refuses a correctly signed MAC computed from other keys (invalid_exchange)', () => {
    expectCode(verify(confirmation, { confirmKey: randomBytes(32) }), 'invalid_exchange');
    const wrongMac = toB64u(randomBytes(32));
    const statement = lengthPrefixed(
      'KeyPears/v1 confirmation',
      fromB64u(confirmation.exchangeId),
      confirmation.from,
      confirmation.to,
      fromB64u(wrongMac),
    );
    const signature = toB64u(ed25519Sign(statement, bob.identity.secretKey));
    expectCode(verify({ ...confirmation, mac: wrongMac, signature }), 'invalid_exchange');
  });
});

describe('checks for nodes', () => {
  const started = start({ oneTime: true, pqOneTime: false });
  const responder = {
    identityKey: bob.identity.publicKey,
    identityDhKey: bob.identityDh.publicKey,
    signedPrekey: bob.signedPrekey.publicKey,
    oneTimePrekey: bob.oneTimePrekeys.get(10)!.publicKey,
    pqPrekey: bob.pqLastResort.publicKey,
  };

  it('verifyInitiationSignature checks the initiation against public keys only', () => {
    expect(verifyInitiationSignature(started.initiation, responder)).toBe(true);
    expect(verifyInitiationSignature({ ...started.initiation, createdAt: NOW + 1 }, responder)).toBe(false);
    expect(
      verifyInitiationSignature(started.initiation, { ...responder, signedPrekey: alice.signedPrekey.publicKey }),
    ).toBe(false);
    expect(verifyInitiationSignature(started.initiation, { ...responder, oneTimePrekey: undefined })).toBe(false);
    expect(verifyInitiationSignature({ ...started.initiation, signature: 'AAAA' }, responder)).toBe(false);
  });

  it('verifyConfirmationSignature checks the signature without the MAC key', () => {
    const { confirmation } = accept(started.initiation);
    expect(verifyConfirmationSignature(confirmation, bob.identity.publicKey)).toBe(true);
    expect(verifyConfirmationSignature({ ...confirmation, to: 'carol@a.example' }, bob.identity.publicKey)).toBe(false);
    expect(verifyConfirmationSignature(confirmation, alice.identity.publicKey)).toBe(false);
    expect(verifyConfirmationSignature({ ...confirmation, mac: '' }, bob.identity.publicKey)).toBe(false);
  });

  it('exchangeTranscript requires the one-time prekey and its id together', () => {
    expectCode(
      () => exchangeTranscript(started.initiation, { ...responder, oneTimePrekey: undefined }),
      'invalid_exchange',
    );
    const { oneTimePrekeyId: _, ...withoutId } = started.initiation;
    expectCode(() => exchangeTranscript(withoutId, responder), 'invalid_exchange');
  });
});
