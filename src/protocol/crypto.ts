/**
 * The cryptographic primitives of the protocol, as a few verbs over Uint8Array. Thin,
 * input-checking wrappers around the audited noble libraries; nothing here is home-made.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { KeyPearsError, type ErrorCode } from './errors.js';

// Optional: present on Node.js (node, SDK, CLI); absent in a browser bundle.
const nodeCrypto: typeof import('node:crypto') | undefined = await import('node:crypto').catch(() => undefined);

export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SECRET_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;
export const X25519_KEY_LENGTH = 32;
export const MLKEM768_PUBLIC_KEY_LENGTH = 1184;
export const MLKEM768_SECRET_KEY_LENGTH = 2400;
export const MLKEM768_CIPHERTEXT_LENGTH = 1088;
export const SHARED_SECRET_LENGTH = 32;

export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

function requireLength(bytes: Uint8Array, length: number, field: string, code: ErrorCode = 'invalid_key'): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new KeyPearsError(code, `${field} must be ${length} bytes`);
  }
}

export const randomBytes = (length: number): Uint8Array => nobleRandomBytes(length);

// --- Ed25519 (RFC 8032) ---------------------------------------------------------------

export function ed25519Keygen(seed?: Uint8Array): KeyPair {
  const secretKey = seed ?? nobleRandomBytes(ED25519_SECRET_KEY_LENGTH);
  requireLength(secretKey, ED25519_SECRET_KEY_LENGTH, 'Ed25519 secret key');
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  requireLength(secretKey, ED25519_SECRET_KEY_LENGTH, 'Ed25519 secret key');
  return ed25519.getPublicKey(secretKey);
}

/** DER PKCS #8 prefix of an Ed25519 private key (RFC 8410); the 32 seed bytes follow. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER SubjectPublicKeyInfo prefix of an Ed25519 key (RFC 8410); the 32 key bytes follow. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Deterministic RFC 8032 signature. Uses Node's built-in Ed25519 (OpenSSL, an order of
 * magnitude faster here than pure JavaScript; every client request and node-to-node request
 * is signed) and noble where node:crypto is not available. Ed25519 signing is deterministic,
 * so both give the same bytes; crypto.spec.ts checks this against the RFC vectors and noble.
 */
export function ed25519Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  requireLength(secretKey, ED25519_SECRET_KEY_LENGTH, 'Ed25519 secret key');
  if (nodeCrypto) return new Uint8Array(nodeCrypto.sign(null, message, nodePrivateKey(nodeCrypto, secretKey)));
  return ed25519.sign(message, secretKey);
}

/**
 * Parsed private keys, per secret-key array and algorithm: building the KeyObject (which
 * derives the public key) costs over ten times an Ed25519 signature, and signers sign many
 * messages with one key (a node checks every X25519 key it is handed with one fixed key,
 * too). Held weakly, so an entry lives no longer than the caller's own array, and checked
 * against a copy of the bytes, so an array whose contents have since changed is never used
 * with its old key.
 */
type PrivateKeyCache = WeakMap<Uint8Array, { bytes: Buffer; key: import('node:crypto').KeyObject }>;
const ed25519PrivateKeys: PrivateKeyCache = new WeakMap();
const x25519PrivateKeys: PrivateKeyCache = new WeakMap();

function nodePrivateKey(
  crypto: typeof import('node:crypto'),
  secretKey: Uint8Array,
  pkcs8Prefix: Buffer = ED25519_PKCS8_PREFIX,
  cache: PrivateKeyCache = ed25519PrivateKeys,
): import('node:crypto').KeyObject {
  const cached = cache.get(secretKey);
  if (cached && crypto.timingSafeEqual(cached.bytes, secretKey)) return cached.key;
  const bytes = Buffer.from(secretKey);
  const key = crypto.createPrivateKey({ key: Buffer.concat([pkcs8Prefix, bytes]), format: 'der', type: 'pkcs8' });
  cache.set(secretKey, { bytes, key });
  return key;
}

/**
 * Strict verification (RFC 8032: canonical S and point encodings required): returns false for
 * any bad input, never throws. Verification is the node's hottest operation, so it uses
 * Node's built-in Ed25519 (OpenSSL, about five times faster here than pure JavaScript) and
 * keeps noble, with ZIP-215 off, where node:crypto is not available. Both follow RFC 8032;
 * the known-answer and malleability tests in crypto.spec.ts run against this function.
 */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (
    !(signature instanceof Uint8Array && message instanceof Uint8Array && publicKey instanceof Uint8Array) ||
    signature.length !== ED25519_SIGNATURE_LENGTH ||
    publicKey.length !== ED25519_PUBLIC_KEY_LENGTH
  ) {
    return false;
  }
  try {
    if (nodeCrypto) return nodeCrypto.verify(null, message, nodePublicKey(nodeCrypto, publicKey), signature);
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Parsed public keys by their bytes: building a KeyObject costs more than the verification
 * itself, and a node verifies the same few keys (its users', its peers' node keys) again and
 * again. Keyed by content, so a hit is always the same key; the oldest entry goes when full.
 */
const publicKeyObjects = new Map<string, import('node:crypto').KeyObject>();
const PUBLIC_KEY_OBJECTS_MAX = 4096;

function nodePublicKey(crypto: typeof import('node:crypto'), publicKey: Uint8Array): import('node:crypto').KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString('base64');
  let key = publicKeyObjects.get(id);
  if (key === undefined) {
    // Throws on an invalid point; the caller turns that into `false`.
    key = crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (publicKeyObjects.size >= PUBLIC_KEY_OBJECTS_MAX) {
      publicKeyObjects.delete(publicKeyObjects.keys().next().value!);
    }
    publicKeyObjects.set(id, key);
  }
  return key;
}

/** True when the bytes decode to a valid Ed25519 point (a usable public key). */
export function isValidEd25519PublicKey(publicKey: Uint8Array): boolean {
  if (publicKey?.length !== ED25519_PUBLIC_KEY_LENGTH) return false;
  try {
    ed25519.Point.fromBytes(publicKey);
    return true;
  } catch {
    return false;
  }
}

// --- X25519 (RFC 7748) ----------------------------------------------------------------

export function x25519Keygen(seed?: Uint8Array): KeyPair {
  const secretKey = seed ?? nobleRandomBytes(X25519_KEY_LENGTH);
  requireLength(secretKey, X25519_KEY_LENGTH, 'X25519 secret key');
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  requireLength(secretKey, X25519_KEY_LENGTH, 'X25519 secret key');
  return x25519.getPublicKey(secretKey);
}

/** DER PKCS #8 prefix of an X25519 private key (RFC 8410); the 32 key bytes follow. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
/** DER SubjectPublicKeyInfo prefix of an X25519 key (RFC 8410); the 32 key bytes follow. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * X25519 shared secret (RFC 7748); refuses low-order peer keys (an all-zero result). Uses
 * Node's built-in X25519 (OpenSSL; a node checks every X25519 key it is handed this way, and
 * the pure JavaScript ladder took a fifth of a node's CPU in an exchange) and noble where
 * node:crypto is not available. Both follow RFC 7748 (the high bit of the peer key is masked,
 * the scalar clamped); crypto.spec.ts checks the RFC vectors and the two against each other.
 */
export function x25519SharedSecret(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  requireLength(secretKey, X25519_KEY_LENGTH, 'X25519 secret key');
  requireLength(peerPublicKey, X25519_KEY_LENGTH, 'X25519 public key');
  let shared: Uint8Array | undefined;
  try {
    shared = nodeCrypto
      ? nodeX25519(nodeCrypto, secretKey, peerPublicKey)
      : x25519.getSharedSecret(secretKey, peerPublicKey);
  } catch {
    shared = undefined;
  }
  if (!shared || shared.every((b) => b === 0)) {
    throw new KeyPearsError('invalid_key', 'X25519 public key is of low order');
  }
  return shared;
}

function nodeX25519(
  crypto: typeof import('node:crypto'),
  secretKey: Uint8Array,
  peerPublicKey: Uint8Array,
): Uint8Array {
  const privateKey = nodePrivateKey(crypto, secretKey, X25519_PKCS8_PREFIX, x25519PrivateKeys);
  const publicKey = crypto.createPublicKey({
    key: Buffer.concat([X25519_SPKI_PREFIX, peerPublicKey]),
    format: 'der',
    type: 'spki',
  });
  return new Uint8Array(crypto.diffieHellman({ privateKey, publicKey }));
}

// --- ML-KEM-768 (FIPS 203) ------------------------------------------------------------

/** `seed` is 64 bytes (d || z) for deterministic test vectors. */
export function mlkem768Keygen(seed?: Uint8Array): KeyPair {
  if (seed) requireLength(seed, 64, 'ML-KEM-768 seed');
  return ml_kem768.keygen(seed);
}

/** The ML-KEM modulus q (FIPS 203). */
const MLKEM_Q = 3329;
/** Bytes of ByteEncode12(t̂) at the start of a 768 encapsulation key (k = 3 polynomials of 256 coefficients); ρ follows. */
const MLKEM768_ENCODED_T_LENGTH = 384 * 3;

/**
 * FIPS 203 §7.2 encapsulation key check, without throwing: the length (type check), and the
 * modulus check, which asks that ByteEncode12(ByteDecode12(ek[0:1152])) = ek[0:1152], that is,
 * that every 12-bit coefficient packed there is below q. Decoding alone answers that; an
 * encapsulation (which performs the same check before its own work) took a millisecond here for
 * every key a node is handed. crypto.spec.ts compares the two on valid and broken keys.
 */
export function isValidMlkem768PublicKey(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== MLKEM768_PUBLIC_KEY_LENGTH) return false;
  // ByteDecode12: each 3 bytes hold two little-endian 12-bit coefficients.
  for (let i = 0; i < MLKEM768_ENCODED_T_LENGTH; i += 3) {
    const low = publicKey[i] | ((publicKey[i + 1] & 0x0f) << 8);
    const high = (publicKey[i + 1] >> 4) | (publicKey[i + 2] << 4);
    if (low >= MLKEM_Q || high >= MLKEM_Q) return false;
  }
  return true;
}

/** `randomness` (32 bytes) only for test vectors. */
export function mlkem768Encapsulate(
  publicKey: Uint8Array,
  randomness?: Uint8Array,
): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
  requireLength(publicKey, MLKEM768_PUBLIC_KEY_LENGTH, 'ML-KEM-768 public key');
  try {
    return ml_kem768.encapsulate(publicKey, randomness);
  } catch {
    throw new KeyPearsError('invalid_key', 'ML-KEM-768 public key is malformed');
  }
}

export function mlkem768Decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  requireLength(cipherText, MLKEM768_CIPHERTEXT_LENGTH, 'ML-KEM-768 ciphertext');
  requireLength(secretKey, MLKEM768_SECRET_KEY_LENGTH, 'ML-KEM-768 secret key');
  return ml_kem768.decapsulate(cipherText, secretKey);
}

// --- Hashes and KDFs ------------------------------------------------------------------

export const sha256 = (data: Uint8Array): Uint8Array => nobleSha256(data);

/** BLAKE3 with a 32-byte (default) or longer extendable output. */
export const blake3 = (data: Uint8Array, outputLength = 32): Uint8Array => nobleBlake3(data, { dkLen: outputLength });

/** HKDF-SHA256 (RFC 5869). */
export const hkdfSha256 = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array =>
  hkdf(nobleSha256, ikm, salt, info, length);

export const hmacSha256 = (key: Uint8Array, message: Uint8Array): Uint8Array => hmac(nobleSha256, key, message);
