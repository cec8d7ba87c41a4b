/**
 * Log entries: the byte layouts of docs/transparency.md §7 rebuilt by hand from SHA-256 and
 * length prefixes, strict decoding, VRF labels, and the signature checks of a record.
 */
import { describe, expect, it } from '@jest/globals';
import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519Keygen, x25519Keygen } from '../crypto.js';
import { concatBytes, utf8 } from '../encoding.js';
import { signPrekey, signRegistration } from '../keys.js';
import {
  checkRegistrationRecord,
  decodeEntry,
  encodeEntry,
  entryCommitment,
  labelInput,
  LOG_START_LABEL,
  logStartEntry,
  proveLabel,
  type RegistrationRecord,
  registrationEntry,
  registrationValue,
  verifyLabel,
} from './entry.js';
import { vrfPublicKey } from './vrf.js';
import { expectCode } from '../../../test/support/expect-error.js';

/** A 4-byte big-endian length, then the bytes: LP written out by hand. */
const part = (bytes: Uint8Array | string) => {
  const b = typeof bytes === 'string' ? utf8(bytes) : bytes;
  return concatBytes(
    Uint8Array.of(b.length >>> 24, (b.length >>> 16) & 255, (b.length >>> 8) & 255, b.length & 255),
    b,
  );
};

const ADDRESS = 'alice@a.example';
const NODE = 'https://kp.a.example';
const VRF_SECRET = new Uint8Array(32).fill(3);
const identity = ed25519Keygen(new Uint8Array(32).fill(1));
const dh = x25519Keygen(new Uint8Array(32).fill(2));
const registeredAt = 1767225600;

function record(overrides: Partial<RegistrationRecord> = {}): RegistrationRecord {
  const dhSignature = signPrekey(
    { kind: 'identity-dh', address: ADDRESS, keyId: 1, publicKey: dh.publicKey },
    identity.secretKey,
  );
  const registrationProof = signRegistration(
    {
      address: ADDRESS,
      nodeBaseUrl: NODE,
      identityKey: identity.publicKey,
      identityDhKey: dh.publicKey,
      timestamp: registeredAt,
    },
    identity.secretKey,
  );
  return {
    nodeBaseUrl: NODE,
    identityKey: identity.publicKey,
    identityDhKey: { id: 1, publicKey: dh.publicKey, signature: dhSignature },
    registeredAt,
    registrationProof,
    ...overrides,
  };
}

describe('byte layouts', () => {
  it('label input is LP("KeyPears/v1 kt-label", address)', () => {
    expect(labelInput(ADDRESS)).toEqual(concatBytes(part('KeyPears/v1 kt-label'), part(ADDRESS)));
    expectCode(() => labelInput('Alice@A.example'), 'invalid_address');
  });

  it('value, commitment and entry are the documented LP lists', () => {
    const r = record();
    const value = concatBytes(
      part(NODE),
      part(identity.publicKey),
      part('1'),
      part(dh.publicKey),
      part(r.identityDhKey.signature),
      part(String(registeredAt)),
      part(r.registrationProof!),
    );
    expect(registrationValue(r)).toEqual(value);
    const opening = new Uint8Array(32).fill(5);
    const commitment = sha256(
      concatBytes(part('KeyPears/v1 kt-commitment'), part('register'), part(opening), part(ADDRESS), part(value)),
    );
    expect(entryCommitment('register', opening, ADDRESS, value)).toEqual(commitment);
    const { label } = proveLabel(VRF_SECRET, ADDRESS);
    const entry = registrationEntry({ kind: 'register', address: ADDRESS, label, opening, record: r });
    expect(entry).toEqual(concatBytes(part('KeyPears/v1 kt-entry'), part('register'), part(label), part(commitment)));
    expect(entry).toHaveLength(108);
  });

  it('an import without a recovered timestamp commits to empty parts', () => {
    const r = record({ registeredAt: undefined, registrationProof: undefined });
    expect(registrationValue(r).subarray(-8)).toEqual(new Uint8Array(8));
    expect(
      registrationEntry({
        kind: 'import',
        address: ADDRESS,
        label: new Uint8Array(32).fill(1),
        opening: new Uint8Array(32),
        record: r,
      }),
    ).toHaveLength(106);
    expectCode(() => registrationValue(record({ registrationProof: undefined })), 'invalid_argument');
  });

  it('the log-start entry has the zero label and commits to the origin and what it follows', () => {
    const start = { origin: 'kp.a.example/kt/2', startedAt: 1767225600, previousOrigin: 'kp.a.example/kt/1' };
    const commitment = sha256(
      concatBytes(
        part('KeyPears/v1 kt-log-start'),
        part(start.origin),
        part('1767225600'),
        part(start.previousOrigin),
        part(''),
      ),
    );
    const entry = logStartEntry(start);
    expect(entry).toEqual(
      concatBytes(part('KeyPears/v1 kt-entry'), part('log-start'), part(LOG_START_LABEL), part(commitment)),
    );
    expect(decodeEntry(entry)).toEqual({ kind: 'log-start', label: LOG_START_LABEL, commitment });
  });
});

describe('decoding', () => {
  const label = new Uint8Array(32).fill(9);
  const commitment = new Uint8Array(32).fill(8);
  const good = encodeEntry({ kind: 'register', label, commitment });

  it('round-trips', () => {
    expect(decodeEntry(good)).toEqual({ kind: 'register', label, commitment });
  });

  it.each([
    ['a trailing byte', concatBytes(good, Uint8Array.of(0))],
    ['a truncated entry', good.subarray(0, good.length - 1)],
    [
      'a reserved kind',
      concatBytes(part('KeyPears/v1 kt-entry'), part('identity-change'), part(label), part(commitment)),
    ],
    ['another context', concatBytes(part('KeyPears/v1 kt-entri'), part('register'), part(label), part(commitment))],
    [
      'a short label',
      concatBytes(part('KeyPears/v1 kt-entry'), part('register'), part(label.subarray(1)), part(commitment)),
    ],
    [
      'a register entry with the zero label',
      concatBytes(part('KeyPears/v1 kt-entry'), part('register'), part(LOG_START_LABEL), part(commitment)),
    ],
    [
      'a log-start entry with a label',
      concatBytes(part('KeyPears/v1 kt-entry'), part('log-start'), part(label), part(commitment)),
    ],
    ['a fifth part', concatBytes(good, part(''))],
    ['a length past the end', concatBytes(good.subarray(0, 4), Uint8Array.of(0xff))],
  ])('refuses %s', (_why, bytes) => {
    expectCode(() => decodeEntry(bytes), 'kt_proof_invalid');
  });
});

describe('labels', () => {
  it('are proven by the node and checked with its VRF public key', () => {
    const { vrfProof, label } = proveLabel(VRF_SECRET, ADDRESS);
    expect(label).toHaveLength(32);
    expect(verifyLabel(vrfPublicKey(VRF_SECRET), ADDRESS, vrfProof)).toEqual(label);
    expect(verifyLabel(vrfPublicKey(VRF_SECRET), 'bob@a.example', vrfProof)).toBeUndefined();
    expect(verifyLabel(vrfPublicKey(new Uint8Array(32).fill(4)), ADDRESS, vrfProof)).toBeUndefined();
    expect(proveLabel(VRF_SECRET, 'bob@a.example').label).not.toEqual(label);
  });
});

describe('record checks', () => {
  it('accept a register record whose signatures verify', () => {
    expect(() => checkRegistrationRecord('register', ADDRESS, record())).not.toThrow();
  });

  it('refuse a changed registration proof, DH key, time or node URL', () => {
    const r = record();
    const flipped = r.registrationProof!.slice();
    flipped[0] ^= 1;
    expectCode(
      () => checkRegistrationRecord('register', ADDRESS, { ...r, registrationProof: flipped }),
      'kt_proof_invalid',
    );
    expectCode(
      () => checkRegistrationRecord('register', ADDRESS, { ...r, registeredAt: registeredAt + 1 }),
      'kt_proof_invalid',
    );
    expectCode(
      () => checkRegistrationRecord('register', ADDRESS, { ...r, nodeBaseUrl: 'https://kp.c.example' }),
      'kt_proof_invalid',
    );
    const otherDh = { ...r.identityDhKey, publicKey: x25519Keygen(new Uint8Array(32).fill(6)).publicKey };
    expectCode(
      () => checkRegistrationRecord('register', ADDRESS, { ...r, identityDhKey: otherDh }),
      'kt_proof_invalid',
    );
    expectCode(() => checkRegistrationRecord('register', 'bob@a.example', r), 'kt_proof_invalid');
    // The DH record's own signature, which the registration proof does not cover: its id and its bytes.
    expectCode(
      () => checkRegistrationRecord('register', ADDRESS, { ...r, identityDhKey: { ...r.identityDhKey, id: 2 } }),
      'kt_proof_invalid',
    );
    const badSignature = r.identityDhKey.signature.slice();
    badSignature[5] ^= 1;
    const badDh = { ...r, identityDhKey: { ...r.identityDhKey, signature: badSignature } };
    expectCode(() => checkRegistrationRecord('register', ADDRESS, badDh), 'kt_proof_invalid');
  });

  it('let only an import lack its registration proof', () => {
    const r = record({ registeredAt: undefined, registrationProof: undefined });
    expect(() => checkRegistrationRecord('import', ADDRESS, r)).not.toThrow();
    expectCode(() => checkRegistrationRecord('register', ADDRESS, r), 'kt_proof_invalid');
    const bad = record({ registeredAt: registeredAt - 1 });
    expectCode(() => checkRegistrationRecord('import', ADDRESS, bad), 'kt_proof_invalid');
  });
});
