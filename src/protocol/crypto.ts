/**
 * The cryptographic primitives of the protocol, as a few verbs over Uint8Array. Thin,
 * input-checking wrappers around the audited noble libraries and, where present, OpenSSL and
 * liboqs; nothing here is home-made.
 *
 * noble is the reference and runs everywhere JavaScript does. Where faster code is at hand it
 * is used instead, loaded at run time and never required: Node's built-in X25519 and Ed25519
 * (OpenSSL) when node:crypto exists, and liboqs' ML-KEM-768 (WebAssembly) once
 * `loadFastMlkem768()` has found it. crypto.spec.ts checks each against noble and the
 * published vectors (docs/performance.md, "The cryptography").
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { concatBytes, fromB64u, fromHex, toB64, toB64u } from './encoding.js';
import { KeyPearsError, type ErrorCode } from './errors.js';

// Optional: present on Node.js (node, SDK, CLI); absent in a browser bundle.
const nodeCrypto: NodeCrypto | undefined = await import('node:crypto').catch(() => undefined);

type NodeCrypto = typeof import('node:crypto');
type KeyObject = import('node:crypto').KeyObject;
type OkpCurve = 'Ed25519' | 'X25519';

/** Which implementation each primitive uses in this process (for reports and tests). */
export function cryptoBackends(): { ed25519: string; x25519: string; mlkem768: string } {
  const curves = nodeCrypto ? 'node:crypto' : 'noble';
  return { ed25519: curves, x25519: curves, mlkem768: fastMlkem ? fastMlkem.name : 'noble' };
}

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
  return { secretKey, publicKey: ed25519PublicKey(secretKey) };
}

/**
 * The public key of a secret key (RFC 8032 §5.1.5): through node:crypto where available (noble's
 * scalar multiplication took about a third of a millisecond here, and an exchange derives its
 * keys' public halves several times), kept with the parsed key, so a signer's key is derived once.
 */
export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  requireLength(secretKey, ED25519_SECRET_KEY_LENGTH, 'Ed25519 secret key');
  return nodeCrypto ? nodeDerivedPublicKey(nodeCrypto, 'Ed25519', secretKey) : ed25519.getPublicKey(secretKey);
}

/**
 * Deterministic RFC 8032 signature. Uses Node's built-in Ed25519 (OpenSSL, an order of
 * magnitude faster here than pure JavaScript; every client request and node-to-node request
 * is signed) and noble where node:crypto is not available. Ed25519 signing is deterministic,
 * so both give the same bytes; crypto.spec.ts checks this against the RFC vectors and noble.
 */
export function ed25519Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  requireLength(secretKey, ED25519_SECRET_KEY_LENGTH, 'Ed25519 secret key');
  if (nodeCrypto)
    return new Uint8Array(nodeCrypto.sign(null, message, nodePrivateKey(nodeCrypto, 'Ed25519', secretKey).key));
  return ed25519.sign(message, secretKey);
}

/**
 * Parsed private keys, per secret-key array and curve: building the KeyObject costs more than
 * an Ed25519 signature, and signers sign many messages with one key (and derive its public key
 * more than once). Held weakly, so an entry lives no longer than the caller's own array, and
 * checked against a copy of the bytes, so an array whose contents have since changed is never
 * used with its old key.
 */
interface PrivateKeyEntry {
  bytes: Uint8Array;
  key: KeyObject;
  publicKey?: Uint8Array;
}
const privateKeys: Record<OkpCurve, WeakMap<Uint8Array, PrivateKeyEntry>> = {
  Ed25519: new WeakMap(),
  X25519: new WeakMap(),
};

function nodePrivateKey(crypto: NodeCrypto, curve: OkpCurve, secretKey: Uint8Array): PrivateKeyEntry {
  const cache = privateKeys[curve];
  const cached = cache.get(secretKey);
  if (cached && crypto.timingSafeEqual(cached.bytes, secretKey)) return cached;
  const bytes = secretKey.slice();
  const entry = { bytes, key: importPrivateKey(crypto, curve, bytes) };
  cache.set(secretKey, entry);
  return entry;
}

/** DER PKCS #8 prefixes of X25519 and Ed25519 private keys (RFC 8410); the 32 key bytes follow. */
const PKCS8_PREFIX: Record<OkpCurve, string> = {
  Ed25519: '302e020100300506032b657004220420',
  X25519: '302e020100300506032b656e04220420',
};

/**
 * Imports raw private key bytes as a JWK (RFC 8037): Node hands a private OKP JWK's `d` to
 * OpenSSL as raw bytes (it only checks that `x` is a string), where DER goes through OpenSSL 3's
 * decoders, which took about 0.5 ms a key on Node 20 against 0.06 ms. PKCS #8 (as PEM) remains the
 * fallback.
 */
function importPrivateKey(crypto: NodeCrypto, curve: OkpCurve, bytes: Uint8Array): KeyObject {
  try {
    return crypto.createPrivateKey({
      key: { kty: 'OKP', crv: curve, d: toB64u(bytes), x: '' },
      format: 'jwk',
    });
  } catch {
    const der = toB64(concatBytes(fromHex(PKCS8_PREFIX[curve]), bytes));
    return crypto.createPrivateKey({
      key: `-----BEGIN PRIVATE KEY-----\n${der}\n-----END PRIVATE KEY-----\n`,
      format: 'pem',
    });
  }
}

/** A public key as a KeyObject, from its raw bytes (a JWK, for the reason above). */
function importPublicKey(crypto: NodeCrypto, curve: OkpCurve, publicKey: Uint8Array): KeyObject {
  const x = toB64u(publicKey);
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: curve, x }, format: 'jwk' });
}

/** The public key of a secret key, derived by OpenSSL once per parsed key; a fresh copy each call. */
function nodeDerivedPublicKey(crypto: NodeCrypto, curve: OkpCurve, secretKey: Uint8Array): Uint8Array {
  const entry = nodePrivateKey(crypto, curve, secretKey);
  if (!entry.publicKey) {
    const { x } = crypto.createPublicKey(entry.key).export({ format: 'jwk' });
    entry.publicKey = fromB64u(x!, 'public key', 'internal_error');
  }
  return entry.publicKey.slice();
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
const publicKeyObjects = new Map<string, KeyObject>();
const PUBLIC_KEY_OBJECTS_MAX = 4096;

function nodePublicKey(crypto: NodeCrypto, publicKey: Uint8Array): KeyObject {
  const id = bytesId(publicKey);
  let key = publicKeyObjects.get(id);
  if (key === undefined) {
    // The import does not decode the point; OpenSSL's verification refuses an invalid one.
    key = importPublicKey(crypto, 'Ed25519', publicKey);
    if (publicKeyObjects.size >= PUBLIC_KEY_OBJECTS_MAX) {
      publicKeyObjects.delete(publicKeyObjects.keys().next().value!);
    }
    publicKeyObjects.set(id, key);
  }
  return key;
}

/**
 * Keys found to decode, by their bytes: every decode of an identity or bundle checks its
 * identity key's point (noble, about 0.1 ms; OpenSSL offers no such check), and the same few
 * keys come back again and again. The answer is a function of the bytes; only valid keys are
 * kept, and the oldest goes when full.
 */
const validEd25519Keys = new Set<string>();
const VALID_ED25519_KEYS_MAX = 4096;

/** True when the bytes decode to a valid Ed25519 point (a usable public key). */
export function isValidEd25519PublicKey(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) return false;
  const id = bytesId(publicKey);
  if (validEd25519Keys.has(id)) return true;
  try {
    ed25519.Point.fromBytes(publicKey);
  } catch {
    return false;
  }
  if (validEd25519Keys.size >= VALID_ED25519_KEYS_MAX) validEd25519Keys.delete(validEd25519Keys.values().next().value!);
  validEd25519Keys.add(id);
  return true;
}

/** The bytes as a string, one to one (latin1: a character per byte). */
const bytesId = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

// --- X25519 (RFC 7748) ----------------------------------------------------------------

export function x25519Keygen(seed?: Uint8Array): KeyPair {
  const secretKey = seed ?? nobleRandomBytes(X25519_KEY_LENGTH);
  return { secretKey, publicKey: x25519PublicKey(secretKey) };
}

/**
 * X25519(k, 9) (RFC 7748 §6.1), through node:crypto where available (noble's ladder took
 * about half a millisecond here), kept with the parsed key. Both clamp the scalar.
 */
export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  requireLength(secretKey, X25519_KEY_LENGTH, 'X25519 secret key');
  return nodeCrypto ? nodeDerivedPublicKey(nodeCrypto, 'X25519', secretKey) : x25519.getPublicKey(secretKey);
}

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

function nodeX25519(crypto: NodeCrypto, secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  const privateKey = nodePrivateKey(crypto, 'X25519', secretKey).key;
  const publicKey = importPublicKey(crypto, 'X25519', peerPublicKey);
  return new Uint8Array(crypto.diffieHellman({ privateKey, publicKey }));
}

// --- ML-KEM-768 (FIPS 203) ------------------------------------------------------------

/** An ML-KEM-768 implementation other than noble's, with noble's byte encodings (FIPS 203). */
interface MlkemBackend {
  name: string;
  keygen(): KeyPair;
  encapsulate(publicKey: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array };
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

let fastMlkem: MlkemBackend | undefined;
let fastMlkemLoading: Promise<boolean> | undefined;

/**
 * Loads liboqs' ML-KEM-768 (`@oqs/liboqs-js`: liboqs compiled to WebAssembly, whose ML-KEM is
 * mlkem-native), about eight times noble's speed here, for the ML-KEM calls below that take no
 * test-vector input. Optional: where the package or WebAssembly is missing, or where it fails
 * the round trip with noble run here, noble stays in use and this resolves to false. Loaded on
 * request rather than on import, because a node never encapsulates; the SDK asks before its
 * exchanges and key uploads. Idempotent.
 */
export function loadFastMlkem768(): Promise<boolean> {
  fastMlkemLoading ??= (async () => {
    try {
      const { createMLKEM768 } = await import('@oqs/liboqs-js/kem');
      const kem = await createMLKEM768();
      const backend: MlkemBackend = {
        name: 'liboqs (WebAssembly)',
        keygen: () => kem.generateKeyPair(),
        encapsulate: (publicKey) => {
          const { ciphertext, sharedSecret } = kem.encapsulate(publicKey);
          return { cipherText: ciphertext, sharedSecret };
        },
        decapsulate: (cipherText, secretKey) => kem.decapsulate(cipherText, secretKey),
      };
      if (agreesWithNoble(backend)) fastMlkem = backend;
    } catch {
      // Not available here: noble stays.
    }
    return fastMlkem !== undefined;
  })();
  return fastMlkemLoading;
}

/** Each side decapsulates the other's ciphertext to the same secret, with the other's key layout. */
function agreesWithNoble(backend: MlkemBackend): boolean {
  const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
  const ours = backend.keygen();
  const theirs = ml_kem768.keygen();
  const toOurs = ml_kem768.encapsulate(ours.publicKey);
  const toTheirs = backend.encapsulate(theirs.publicKey);
  return (
    equal(backend.decapsulate(toOurs.cipherText, ours.secretKey), toOurs.sharedSecret) &&
    equal(ml_kem768.decapsulate(toTheirs.cipherText, theirs.secretKey), toTheirs.sharedSecret)
  );
}

/** `seed` is 64 bytes (d || z) for deterministic test vectors (always noble: liboqs takes no seed). */
export function mlkem768Keygen(seed?: Uint8Array): KeyPair {
  if (seed) {
    requireLength(seed, 64, 'ML-KEM-768 seed');
    return ml_kem768.keygen(seed);
  }
  return fastMlkem ? fastMlkem.keygen() : ml_kem768.keygen();
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

/**
 * `randomness` (32 bytes) only for test vectors (always noble). Both implementations run the
 * FIPS 203 §7.2 key checks before encapsulating.
 */
export function mlkem768Encapsulate(
  publicKey: Uint8Array,
  randomness?: Uint8Array,
): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
  requireLength(publicKey, MLKEM768_PUBLIC_KEY_LENGTH, 'ML-KEM-768 public key');
  try {
    return fastMlkem && !randomness ? fastMlkem.encapsulate(publicKey) : ml_kem768.encapsulate(publicKey, randomness);
  } catch {
    throw new KeyPearsError('invalid_key', 'ML-KEM-768 public key is malformed');
  }
}

/**
 * Decapsulation with implicit rejection (FIPS 203 §7.3); both implementations refuse a secret
 * key whose embedded H(ek) does not match its ek (throwing), and answer a modified ciphertext
 * with the same J(z || c).
 */
export function mlkem768Decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  requireLength(cipherText, MLKEM768_CIPHERTEXT_LENGTH, 'ML-KEM-768 ciphertext');
  requireLength(secretKey, MLKEM768_SECRET_KEY_LENGTH, 'ML-KEM-768 secret key');
  return fastMlkem ? fastMlkem.decapsulate(cipherText, secretKey) : ml_kem768.decapsulate(cipherText, secretKey);
}

// --- Hashes and KDFs ------------------------------------------------------------------

/**
 * SHA-256 and the HMAC and HKDF built on it go through node:crypto where available (an exchange
 * hashes its 3.5 KB transcript and derives its keys with them; OpenSSL's SHA-256 is several
 * times noble's speed here), noble otherwise; the specs run the FIPS, RFC 4231 and RFC 5869
 * vectors and compare the two on random inputs.
 */
export const sha256 = (data: Uint8Array): Uint8Array =>
  nodeCrypto ? new Uint8Array(nodeCrypto.createHash('sha256').update(data).digest()) : nobleSha256(data);

/** BLAKE3 with a 32-byte (default) or longer extendable output. */
export const blake3 = (data: Uint8Array, outputLength = 32): Uint8Array => nobleBlake3(data, { dkLen: outputLength });

/** Node refuses HKDF `info` longer than this; such calls go to noble. */
const NODE_HKDF_INFO_MAX = 1024;

/** HKDF-SHA256 (RFC 5869). */
export const hkdfSha256 = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array =>
  nodeCrypto && info.length <= NODE_HKDF_INFO_MAX
    ? new Uint8Array(nodeCrypto.hkdfSync('sha256', ikm, salt, info, length))
    : hkdf(nobleSha256, ikm, salt, info, length);

export const hmacSha256 = (key: Uint8Array, message: Uint8Array): Uint8Array =>
  nodeCrypto
    ? new Uint8Array(nodeCrypto.createHmac('sha256', key).update(message).digest())
    : hmac(nobleSha256, key, message);
