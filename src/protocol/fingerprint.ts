/**
 * Human-comparable forms of identity keys, for people to check out of band (read aloud, shown
 * side by side) that the key their software uses is the key of the person they mean.
 * The exact algorithms, byte by byte, are in docs/fingerprints.md; vectors in
 * docs/test-vectors/fingerprints.json.
 */
import { parseAddress } from './address.js';
import { ED25519_PUBLIC_KEY_LENGTH, isValidEd25519PublicKey, sha256 } from './crypto.js';
import { concatBytes, lengthPrefixed, toHex, utf8 } from './encoding.js';
import { KeyPearsError } from './errors.js';

const FINGERPRINT_CONTEXT = utf8('KeyPears/v1 fingerprint');
const FINGERPRINT_BYTES = 16;

const SAFETY_NUMBER_CONTEXT = 'KeyPears/v1 safety number';
/**
 * Signal's iteration count. Each guess in a search for a key whose half matches a victim's
 * costs 5,201 hashes, lifting a 30-digit (~99.7-bit) half to about 2^112 work.
 */
const SAFETY_NUMBER_ITERATIONS = 5200;
const CHUNKS_PER_HALF = 6;
const CHUNK_BYTES = 5;
const CHUNK_MODULUS = 100_000;

export interface SafetyNumberParty {
  /** Any accepted spelling; the canonical form is what counts. */
  address: string;
  /** The party's Ed25519 identity public key. */
  identityKey: Uint8Array;
}

/**
 * The fingerprint of an Ed25519 identity public key: the first 16 bytes of
 * SHA-256("KeyPears/v1 fingerprint" || key), as lower-case hex in 8 groups of 4.
 *
 * @throws KeyPearsError `invalid_key` when the key is not a valid Ed25519 public key.
 * @example identityFingerprint(rfc8032Test1PublicKey) === '09e3 6cda 2a63 2164 65a7 0c79 9f41 7c47'
 */
export function identityFingerprint(identityPublicKey: Uint8Array): string {
  requireIdentityKey(identityPublicKey, 'identityPublicKey');
  return fingerprintOf(identityPublicKey);
}

/**
 * `identityFingerprint` of a key that was fully checked when it was stored (a node's own
 * accounts): only the length is checked again. Skipping the point decoding saves about 0.1 ms
 * of CPU per call, which is most of a public key lookup's own work.
 *
 * @throws KeyPearsError `invalid_key` when the key is not 32 bytes.
 */
export function storedIdentityFingerprint(identityPublicKey: Uint8Array): string {
  if (!(identityPublicKey instanceof Uint8Array) || identityPublicKey.length !== ED25519_PUBLIC_KEY_LENGTH) {
    throw new KeyPearsError(
      'invalid_key',
      `identityPublicKey must be a ${ED25519_PUBLIC_KEY_LENGTH}-byte Ed25519 public key`,
    );
  }
  return fingerprintOf(identityPublicKey);
}

function fingerprintOf(identityPublicKey: Uint8Array): string {
  const digest = sha256(concatBytes(FINGERPRINT_CONTEXT, identityPublicKey)).subarray(0, FINGERPRINT_BYTES);
  return groups(toHex(digest), 4);
}

/**
 * The safety number of a conversation between two parties: 60 digits in 12 groups of 5. Each
 * party contributes 30 digits derived from its identity key and canonical address; the two
 * halves are sorted, so both sides compute the same number whatever the argument order.
 *
 * @throws KeyPearsError `invalid_address` or `invalid_key`, naming the bad field (`a.address`, ...).
 * @example safetyNumber({ address: 'alice@a.com', identityKey: k1 }, { address: 'bob@b.com', identityKey: k2 })
 */
export function safetyNumber(a: SafetyNumberParty, b: SafetyNumberParty): string {
  const halves = [safetyNumberHalf(a, 'a'), safetyNumberHalf(b, 'b')].sort();
  return groups(halves.join(''), 5);
}

/** 30 digits for one party. Exported for the test vectors, which pin each half separately. */
export function safetyNumberHalf(party: SafetyNumberParty, field = 'party'): string {
  requireIdentityKey(party?.identityKey, `${field}.identityKey`);
  const address = canonicalAddress(party.address, `${field}.address`);
  const key = party.identityKey;

  // H_0 = SHA-256(lengthPrefixed(context, key, address)); H_i = SHA-256(H_(i-1) || key).
  let digest = sha256(lengthPrefixed(SAFETY_NUMBER_CONTEXT, key, address));
  const block = new Uint8Array(digest.length + key.length);
  block.set(key, digest.length);
  for (let i = 0; i < SAFETY_NUMBER_ITERATIONS; i++) {
    block.set(digest, 0);
    digest = sha256(block);
  }

  let digits = '';
  for (let chunk = 0; chunk < CHUNKS_PER_HALF; chunk++) {
    let value = 0;
    // 40-bit big-endian integer: exact in a double (below 2^53).
    for (const byte of digest.subarray(chunk * CHUNK_BYTES, (chunk + 1) * CHUNK_BYTES)) value = value * 256 + byte;
    digits += String(value % CHUNK_MODULUS).padStart(5, '0');
  }
  return digits;
}

function requireIdentityKey(key: unknown, field: string): void {
  if (!(key instanceof Uint8Array) || key.length !== ED25519_PUBLIC_KEY_LENGTH) {
    throw new KeyPearsError('invalid_key', `${field} must be a ${ED25519_PUBLIC_KEY_LENGTH}-byte Ed25519 public key`);
  }
  if (!isValidEd25519PublicKey(key)) {
    throw new KeyPearsError('invalid_key', `${field} is not a valid Ed25519 public key`);
  }
}

function canonicalAddress(address: unknown, field: string): string {
  try {
    return parseAddress(address).canonical;
  } catch (e) {
    if (e instanceof KeyPearsError) throw new KeyPearsError(e.code, `${field}: ${e.message}`);
    throw e;
  }
}

function groups(text: string, size: number): string {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.join(' ');
}
