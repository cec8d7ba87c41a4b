import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ed25519Keygen, mlkem768Keygen, x25519Keygen } from './crypto.js';
import { fromHex, toB64u, toHex } from './encoding.js';
import { type PrekeyKind, signPrekey, signRegistration } from './keys.js';
import {
  decodeBundle,
  decodePrekeyUpload,
  decodePublicIdentity,
  decodeRegistrationRequest,
  encodeKeyRecord,
  ExchangeConfirmationSchema,
  ExchangeInitiationSchema,
  type KeyRecord,
  parseWire,
  type PrekeyBundle,
  PrekeyBundleSchema,
  PrekeyUploadSchema,
  type PublicIdentity,
  PublicIdentitySchema,
  type PublicKeyRecord,
  RegistrationRequestSchema,
  X25519PublicKeySchema,
} from './wire.js';
import { expectCode } from '../../test/support/expect-error.js';

interface VectorCase {
  bob: { address: string; identitySecretKey: string; identityKey: string; signedPrekey: { publicKey: string } };
  aliceIdentity: PublicIdentity;
  bundle: PrekeyBundle;
  output: { initiation: unknown; confirmation: unknown };
}
const vectors = JSON.parse(readFileSync(new URL('../../docs/test-vectors/exchange.json', import.meta.url), 'utf8')) as {
  cases: VectorCase[];
};
const [full, lastResort] = vectors.cases;
const bobSecret = fromHex(full.bob.identitySecretKey);
const BOB = 'bob@b.example';

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** A correctly signed record of Bob's, for building bundles and uploads. */
function bobRecord(kind: PrekeyKind, id: number, publicKey: Uint8Array, address = BOB): PublicKeyRecord {
  return encodeKeyRecord({ id, publicKey, signature: signPrekey({ kind, address, keyId: id, publicKey }, bobSecret) });
}
const freshX25519 = (n: number) => x25519Keygen(new Uint8Array(32).fill(n)).publicKey;
const freshMlkem = (n: number) => mlkem768Keygen(new Uint8Array(64).fill(n)).publicKey;

describe('byte-string schemas', () => {
  const key = full.bundle.identityDhKey.publicKey;

  it('accept exactly-sized canonical unpadded base64url', () => {
    expect(X25519PublicKeySchema.safeParse(key).success).toBe(true);
  });

  it.each([
    ['too short', key.slice(1)],
    ['too long', `${key}A`],
    ['padded', `${key}=`],
    ['standard base64 alphabet', `+${key.slice(1)}`],
    ['not a string', 42],
  ])('refuse %s', (_, value) => {
    expect(X25519PublicKeySchema.safeParse(value).success).toBe(false);
  });

  it('refuse non-canonical trailing bits (two encodings of one key)', () => {
    // 32 bytes use 4 of the 6 bits of the 43rd character; setting an unused bit gives the same bytes.
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(key.at(-1)!);
    const variant = key.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[last ^ 1];
    expect(Buffer.from(variant, 'base64url')).toEqual(Buffer.from(key, 'base64url'));
    expect(X25519PublicKeySchema.safeParse(variant).success).toBe(false);
  });
});

describe('message schemas', () => {
  it('accept the messages of the test vectors', () => {
    for (const c of vectors.cases) {
      expect(PrekeyBundleSchema.safeParse(c.bundle).success).toBe(true);
      expect(PublicIdentitySchema.safeParse(c.aliceIdentity).success).toBe(true);
      expect(ExchangeInitiationSchema.safeParse(c.output.initiation).success).toBe(true);
      expect(ExchangeConfirmationSchema.safeParse(c.output.confirmation).success).toBe(true);
    }
  });

  it.each<[string, (b: Record<string, any>) => void]>([
    ['an unknown top-level key', (b) => (b.extra = 1)],
    ['an unknown key in a record', (b) => (b.signedPrekey.note = 'x')],
    ['a non-canonical address', (b) => (b.address = 'Bob@b.example')],
    ['an address with a display name', (b) => (b.address = 'Bob <bob@b.example>')],
    ['a negative key id', (b) => (b.signedPrekey.id = -1)],
    ['a key id above 2^32 - 1', (b) => (b.signedPrekey.id = 2 ** 32)],
    ['a fractional key id', (b) => (b.signedPrekey.id = 1.5)],
    ['a key id as a string', (b) => (b.signedPrekey.id = '1')],
    ['an X25519 key in an ML-KEM slot', (b) => (b.pqLastResort.publicKey = b.signedPrekey.publicKey)],
    ['an ML-KEM key in an X25519 slot', (b) => (b.oneTimePrekey.publicKey = b.pqLastResort.publicKey)],
    ['a short signature', (b) => (b.signedPrekey.signature = b.signedPrekey.signature.slice(2))],
    ['a badly formatted fingerprint', (b) => (b.fingerprint = b.fingerprint.toUpperCase())],
    ['a missing signed prekey', (b) => delete b.signedPrekey],
    ['usedLastResort contradicting the keys', (b) => (b.usedLastResort = true)],
    ['usedLastResort missing', (b) => delete b.usedLastResort],
  ])('PrekeyBundle refuses %s', (_, edit) => {
    const bundle = clone(full.bundle) as Record<string, any>;
    edit(bundle);
    expect(PrekeyBundleSchema.safeParse(bundle).success).toBe(false);
  });

  it('PublicIdentity refuses bundle-only fields', () => {
    expect(PublicIdentitySchema.safeParse(full.bundle).success).toBe(false);
  });

  it('ExchangeInitiation and ExchangeConfirmation refuse a message to oneself and unknown kinds', () => {
    const initiation = clone(full.output.initiation) as Record<string, unknown>;
    expect(ExchangeInitiationSchema.safeParse({ ...initiation, to: initiation.from }).success).toBe(false);
    expect(ExchangeInitiationSchema.safeParse({ ...initiation, pqPrekeyKind: 'signed-prekey' }).success).toBe(false);
    expect(ExchangeInitiationSchema.safeParse({ ...initiation, createdAt: -1 }).success).toBe(false);
    const confirmation = clone(full.output.confirmation) as Record<string, unknown>;
    expect(ExchangeConfirmationSchema.safeParse({ ...confirmation, to: confirmation.from }).success).toBe(false);
    expect(ExchangeConfirmationSchema.safeParse({ ...confirmation, mac: 'AAAA' }).success).toBe(false);
  });

  describe('PrekeyUpload', () => {
    const otks = (n: number, start = 0) =>
      Array.from({ length: n }, (_, i) => bobRecord('one-time-prekey', start + i, freshX25519(1)));

    it('accepts 1 to 100 keys per list', () => {
      expect(PrekeyUploadSchema.safeParse({ oneTimePrekeys: otks(100) }).success).toBe(true);
      expect(PrekeyUploadSchema.safeParse({ signedPrekey: otks(1)[0] }).success).toBe(true);
    });

    it.each([
      ['nothing', {}],
      ['an empty list', { oneTimePrekeys: [] }],
      ['101 one-time prekeys', { oneTimePrekeys: otks(101) }],
      ['duplicate ids', { oneTimePrekeys: [...otks(2), ...otks(1, 1)] }],
      ['an unknown key', { oneTimePrekeys: otks(1), identityKey: 'x' }],
    ])('refuses %s', (_, upload) => {
      expect(PrekeyUploadSchema.safeParse(upload).success).toBe(false);
    });
  });

  it('RegistrationRequest bounds the invite token', () => {
    const request = {
      address: BOB,
      identityKey: full.bundle.identityKey,
      identityDhKey: full.bundle.identityDhKey,
      timestamp: 1767225600,
      proof: full.bundle.signedPrekey.signature,
    };
    expect(RegistrationRequestSchema.safeParse(request).success).toBe(true);
    expect(RegistrationRequestSchema.safeParse({ ...request, invite: 'abc-123' }).success).toBe(true);
    expect(RegistrationRequestSchema.safeParse({ ...request, invite: '' }).success).toBe(false);
    expect(RegistrationRequestSchema.safeParse({ ...request, invite: 'a b' }).success).toBe(false);
    expect(RegistrationRequestSchema.safeParse({ ...request, invite: 'a'.repeat(257) }).success).toBe(false);
  });
});

describe('parseWire', () => {
  it('returns the data, or throws KeyPearsError naming each bad field', () => {
    expect(parseWire(PrekeyBundleSchema, full.bundle)).toEqual(full.bundle);
    const error = expectCode(
      () => parseWire(PrekeyBundleSchema, { ...full.bundle, address: 'Bob@b.example', extra: 1 }),
      'invalid_request',
    );
    expect(error.message).toMatch(/address: address must be canonical \(bob@b\.example\)/);
    expect(error.message).toMatch(/Unrecognized key: "extra"/);
    expectCode(() => parseWire(PrekeyBundleSchema, null, 'invalid_bundle'), 'invalid_bundle');
  });
});

describe('decodeBundle', () => {
  it.each([
    ['with one-time prekeys', full],
    ['last resort only', lastResort],
  ])('decodes and verifies the vector bundle %s', (_, vector) => {
    const bundle = decodeBundle(vector.bundle, BOB);
    expect(toHex(bundle.identityKey)).toBe(vector.bob.identityKey);
    expect(toHex(bundle.signedPrekey.publicKey)).toBe(vector.bob.signedPrekey.publicKey);
    expect(bundle.usedLastResort).toBe(vector.bundle.usedLastResort);
    expect(bundle.oneTimePrekey === undefined).toBe(vector.bundle.oneTimePrekey === undefined);
    expect(encodeKeyRecord(bundle.pqLastResort)).toEqual(vector.bundle.pqLastResort);
  });

  it('accepts any spelling of the expected address, and refuses another user', () => {
    expect(decodeBundle(full.bundle, 'Bob@B.Example').address).toBe(BOB);
    const error = expectCode(() => decodeBundle(full.bundle, 'carol@b.example'), 'invalid_bundle');
    expect(error.message).toMatch(/carol@b\.example/);
    expectCode(() => decodeBundle(full.bundle, 'not an address'), 'invalid_address');
  });

  it.each(['identityDhKey', 'signedPrekey', 'pqLastResort', 'oneTimePrekey', 'pqOneTimePrekey'] as const)(
    'refuses a bad signature on %s with bad_signature naming it',
    (key) => {
      const bundle = clone(full.bundle);
      const record = bundle[key] as PublicKeyRecord;
      const signature = Buffer.from(record.signature, 'base64url');
      signature[5] ^= 1;
      record.signature = signature.toString('base64url');
      const error = expectCode(() => decodeBundle(bundle), 'bad_signature');
      expect(error.details).toEqual({ key });
      expect(error.message).toContain(key);
    },
  );

  it('refuses a key moved to another slot or another id', () => {
    const moved = clone(full.bundle);
    moved.oneTimePrekey = { ...moved.signedPrekey };
    expect(expectCode(() => decodeBundle(moved), 'bad_signature').details).toEqual({ key: 'oneTimePrekey' });
    const renumbered = clone(full.bundle);
    renumbered.signedPrekey.id += 1;
    expect(expectCode(() => decodeBundle(renumbered), 'bad_signature').details).toEqual({ key: 'signedPrekey' });
  });

  it('refuses a bundle whose keys were signed for another address', () => {
    const bundle = clone(full.bundle);
    bundle.signedPrekey = bobRecord('signed-prekey', 9, freshX25519(3), 'carol@b.example');
    expectCode(() => decodeBundle(bundle), 'bad_signature');
  });

  it('refuses a fingerprint that does not match the identity key', () => {
    const bundle = { ...clone(full.bundle), fingerprint: clone(full.aliceIdentity).fingerprint };
    expectCode(() => decodeBundle(bundle), 'invalid_bundle');
  });

  it('refuses correctly signed but unusable key material with invalid_key', () => {
    const lowOrder = clone(full.bundle);
    lowOrder.oneTimePrekey = bobRecord('one-time-prekey', 1, new Uint8Array(32));
    expect(expectCode(() => decodeBundle(lowOrder), 'invalid_key').message).toMatch(/^oneTimePrekey/);
    const badKem = clone(full.bundle);
    badKem.pqLastResort = bobRecord('pq-last-resort', 1, new Uint8Array(1184).fill(0xff));
    expectCode(() => decodeBundle(badKem), 'invalid_key');
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    expectCode(() => decodeBundle({ ...clone(full.bundle), identityKey: toB64u(notAPoint) }), 'invalid_key');
  });

  it('refuses malformed bundles with invalid_bundle', () => {
    expectCode(() => decodeBundle({ ...clone(full.bundle), usedLastResort: 'no' }), 'invalid_bundle');
    expectCode(() => decodeBundle('bundle'), 'invalid_bundle');
  });
});

describe('decodePublicIdentity', () => {
  it('decodes and verifies an identity, refusing a bundle and bad signatures', () => {
    const identity = decodePublicIdentity(full.aliceIdentity, 'alice@a.example');
    expect(identity.address).toBe('alice@a.example');
    expectCode(() => decodePublicIdentity(full.bundle), 'invalid_identity');
    expectCode(() => decodePublicIdentity(full.aliceIdentity, BOB), 'invalid_identity');
    const tampered = clone(full.aliceIdentity);
    tampered.identityDhKey.id += 1;
    expect(expectCode(() => decodePublicIdentity(tampered), 'bad_signature').details).toEqual({ key: 'identityDhKey' });
  });
});

describe('decodeRegistrationRequest', () => {
  const identity = ed25519Keygen(new Uint8Array(32).fill(21));
  const dh = freshX25519(22);
  const address = 'dora@d.example';
  const nodeBaseUrl = 'https://keys.d.example';
  const timestamp = 1767225600;
  const proof = signRegistration(
    { address, nodeBaseUrl, identityKey: identity.publicKey, identityDhKey: dh, timestamp },
    identity.secretKey,
  );
  const dhSignature = signPrekey({ kind: 'identity-dh', address, keyId: 1, publicKey: dh }, identity.secretKey);
  const request = {
    address,
    identityKey: toB64u(identity.publicKey),
    identityDhKey: encodeKeyRecord({ id: 1, publicKey: dh, signature: dhSignature }),
    timestamp,
    proof: toB64u(proof),
    invite: 'welcome-1',
  };

  it('decodes a valid request', () => {
    const decoded = decodeRegistrationRequest(request, nodeBaseUrl);
    expect(decoded).toEqual({
      address,
      identityKey: identity.publicKey,
      identityDhKey: { id: 1, publicKey: dh, signature: dhSignature },
      timestamp,
      proof,
      invite: 'welcome-1',
    });
    const { invite: _, ...withoutInvite } = request;
    expect(decodeRegistrationRequest(withoutInvite, nodeBaseUrl)).not.toHaveProperty('invite');
  });

  it('refuses a proof made for another node, time or key', () => {
    for (const [input, url] of [
      [request, 'https://keys.e.example'],
      [{ ...request, timestamp: timestamp + 1 }, nodeBaseUrl],
    ] as const) {
      expect(expectCode(() => decodeRegistrationRequest(input, url), 'bad_signature').details).toEqual({
        key: 'proof',
      });
    }
    const otherDh = {
      ...request,
      identityDhKey: encodeKeyRecord({ id: 1, publicKey: freshX25519(23), signature: dhSignature }),
    };
    expect(expectCode(() => decodeRegistrationRequest(otherDh, nodeBaseUrl), 'bad_signature').details).toEqual({
      key: 'identityDhKey',
    });
  });

  it('refuses malformed requests with invalid_request', () => {
    expectCode(
      () => decodeRegistrationRequest({ ...request, address: 'Dora@d.example' }, nodeBaseUrl),
      'invalid_request',
    );
  });
});

describe('decodePrekeyUpload', () => {
  const upload = {
    signedPrekey: bobRecord('signed-prekey', 8, freshX25519(30)),
    oneTimePrekeys: [0, 1, 2].map((i) => bobRecord('one-time-prekey', 100 + i, freshX25519(31 + i))),
    pqLastResort: bobRecord('pq-last-resort', 4, freshMlkem(40)),
    pqOneTimePrekeys: [bobRecord('pq-one-time', 2000, freshMlkem(41))],
  };
  const identityKey = fromHex(full.bob.identityKey);

  it('decodes and verifies every key', () => {
    const decoded = decodePrekeyUpload(upload, BOB, identityKey);
    expect(decoded.oneTimePrekeys.map((r: KeyRecord) => r.id)).toEqual([100, 101, 102]);
    expect(decoded.signedPrekey?.id).toBe(8);
    expect(decoded.pqLastResort?.publicKey).toHaveLength(1184);
    expect(decoded.pqOneTimePrekeys).toHaveLength(1);
    expect(decodePrekeyUpload({ oneTimePrekeys: upload.oneTimePrekeys }, BOB, identityKey)).toEqual({
      oneTimePrekeys: decoded.oneTimePrekeys,
      pqOneTimePrekeys: [],
    });
  });

  it('names the first key whose signature fails', () => {
    const bad = clone(upload);
    bad.oneTimePrekeys[2] = { ...bad.oneTimePrekeys[2], id: 999 };
    expect(expectCode(() => decodePrekeyUpload(bad, BOB, identityKey), 'bad_signature').details).toEqual({
      key: 'oneTimePrekeys.2',
    });
    const kindSwap = { pqOneTimePrekeys: [upload.pqLastResort] };
    expect(expectCode(() => decodePrekeyUpload(kindSwap, BOB, identityKey), 'bad_signature').details).toEqual({
      key: 'pqOneTimePrekeys.0',
    });
  });

  it('refuses keys signed by someone else or for another user', () => {
    expectCode(
      () => decodePrekeyUpload(upload, BOB, ed25519Keygen(new Uint8Array(32).fill(50)).publicKey),
      'bad_signature',
    );
    expectCode(() => decodePrekeyUpload(upload, 'carol@b.example', identityKey), 'bad_signature');
  });
});
