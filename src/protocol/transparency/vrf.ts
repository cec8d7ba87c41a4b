/**
 * ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 §5, suite string 0x03): a verifiable random function
 * on edwards25519, so the log's labels hide addresses yet anyone holding the node's VRF public
 * key can check that a label belongs to an address (docs/transparency.md §6).
 *
 * Secret keys are 32-byte seeds as in RFC 8032 §5.1.5 (the same derivation as Ed25519 keys),
 * public keys 32 bytes, proofs 80 bytes (Gamma 32 || c 16 || s 32), outputs 64 bytes. Point
 * arithmetic is @noble/curves; proving multiplies by the secret scalar in constant time,
 * verifying (public inputs only) uses the faster variable-time multiplication. The try-and-
 * increment encoding is not constant time, which is harmless here: its input is public.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../encoding.js';
import { KeyPearsError } from '../errors.js';

type Point = InstanceType<typeof ed25519.Point>;

const SUITE = 0x03;
const COFACTOR = 8n;
const Q = ed25519.Point.Fn.ORDER;
/** Length of the challenge c in bytes (cLen). */
const C_LENGTH = 16;

export const VRF_SECRET_KEY_LENGTH = 32;
export const VRF_PUBLIC_KEY_LENGTH = 32;
export const VRF_PROOF_LENGTH = 80;
export const VRF_OUTPUT_LENGTH = 64;

/** string_to_point: RFC 8032 decoding (y below p, no x = 0 with the sign bit set), or undefined. */
function decodePoint(bytes: Uint8Array): Point | undefined {
  try {
    return ed25519.Point.fromBytes(bytes, false);
  } catch {
    return undefined;
  }
}

/** ECVRF_encode_to_curve_try_and_increment (RFC 9381 §5.4.1.1), salted with the public key. */
function encodeToCurve(publicKey: Uint8Array, alpha: Uint8Array): Point {
  for (let ctr = 0; ctr < 256; ctr++) {
    const hash = sha512(concatBytes(Uint8Array.of(SUITE, 0x01), publicKey, alpha, Uint8Array.of(ctr, 0x00)));
    const point = decodePoint(hash.subarray(0, 32));
    if (point === undefined) continue;
    const h = point.multiplyUnsafe(COFACTOR);
    if (!h.is0()) return h;
  }
  // Each try fails with probability about 1/2; 256 failures do not happen.
  throw new KeyPearsError('internal_error', 'ECVRF encode_to_curve found no point');
}

/** ECVRF_challenge_generation (RFC 9381 §5.4.3): the first 16 bytes of a hash of five points, as an integer. */
function challenge(points: readonly Point[]): bigint {
  const hash = sha512(concatBytes(Uint8Array.of(SUITE, 0x02), ...points.map((p) => p.toBytes()), Uint8Array.of(0x00)));
  return bytesToNumberLE(hash.subarray(0, C_LENGTH));
}

/** The VRF public key of a secret key (the Ed25519 public key of the same seed). */
export function vrfPublicKey(secretKey: Uint8Array): Uint8Array {
  requireBytes(secretKey, VRF_SECRET_KEY_LENGTH, 'VRF secret key');
  return ed25519.utils.getExtendedPublicKey(secretKey).pointBytes;
}

/** ECVRF_validate_key (RFC 9381 §5.4.5): the key decodes (RFC 8032, strictly) and is not of small order. */
export function isValidVrfPublicKey(publicKey: Uint8Array): boolean {
  if (!isBytes(publicKey, VRF_PUBLIC_KEY_LENGTH)) return false;
  const y = decodePoint(publicKey);
  return y !== undefined && !y.multiplyUnsafe(COFACTOR).is0();
}

/** ECVRF_prove (RFC 9381 §5.1): the 80-byte proof for input `alpha`. */
export function vrfProve(secretKey: Uint8Array, alpha: Uint8Array): Uint8Array {
  requireBytes(secretKey, VRF_SECRET_KEY_LENGTH, 'VRF secret key');
  requireBytes(alpha, undefined, 'VRF input');
  const { scalar: x, pointBytes: publicKey, point: y, prefix } = ed25519.utils.getExtendedPublicKey(secretKey);
  const h = encodeToCurve(publicKey, alpha);
  const gamma = h.multiply(x);
  // ECVRF_nonce_generation_RFC8032 (§5.4.2.2): k from the second half of SHA-512(SK) and H.
  const k = bytesToNumberLE(sha512(concatBytes(prefix, h.toBytes()))) % Q;
  const c = challenge([y, h, gamma, ed25519.Point.BASE.multiply(k), h.multiply(k)]);
  const s = (k + c * x) % Q;
  return concatBytes(gamma.toBytes(), numberToBytesLE(c, C_LENGTH), numberToBytesLE(s, 32));
}

/**
 * ECVRF_verify (RFC 9381 §5.3, with key validation): the 64-byte output when `proof` is the
 * public key's proof for `alpha`, undefined otherwise. Never throws on bad input.
 */
export function vrfVerify(publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array): Uint8Array | undefined {
  if (!isBytes(publicKey, VRF_PUBLIC_KEY_LENGTH) || !isBytes(alpha) || !isBytes(proof, VRF_PROOF_LENGTH)) {
    return undefined;
  }
  // ECVRF_validate_key: a key of small order would let one Gamma serve every input.
  if (!isValidVrfPublicKey(publicKey)) return undefined;
  const y = decodePoint(publicKey)!;
  const decoded = decodeProof(proof);
  if (decoded === undefined) return undefined;
  const { gamma, c, s } = decoded;
  const h = encodeToCurve(publicKey, alpha);
  const u = ed25519.Point.BASE.multiplyUnsafe(s).subtract(y.multiplyUnsafe(c));
  const v = h.multiplyUnsafe(s).subtract(gamma.multiplyUnsafe(c));
  return challenge([y, h, gamma, u, v]) === c ? proofOutput(gamma) : undefined;
}

/**
 * ECVRF_proof_to_hash (RFC 9381 §5.2): the 64-byte output of a proof. It does not check the
 * proof: call it on proofs vrfVerify accepted, or on one's own.
 */
export function vrfProofToHash(proof: Uint8Array): Uint8Array {
  requireBytes(proof, VRF_PROOF_LENGTH, 'VRF proof');
  const decoded = decodeProof(proof);
  if (decoded === undefined) throw new KeyPearsError('invalid_argument', 'VRF proof does not decode');
  return proofOutput(decoded.gamma);
}

function proofOutput(gamma: Point): Uint8Array {
  return sha512(concatBytes(Uint8Array.of(SUITE, 0x03), gamma.multiplyUnsafe(COFACTOR).toBytes(), Uint8Array.of(0x00)));
}

/** ECVRF_decode_proof (RFC 9381 §5.4.4): Gamma must decode and s must be below the group order. */
function decodeProof(proof: Uint8Array): { gamma: Point; c: bigint; s: bigint } | undefined {
  const gamma = decodePoint(proof.subarray(0, 32));
  const c = bytesToNumberLE(proof.subarray(32, 32 + C_LENGTH));
  const s = bytesToNumberLE(proof.subarray(32 + C_LENGTH));
  return gamma === undefined || s >= Q ? undefined : { gamma, c, s };
}

const isBytes = (value: unknown, length?: number): value is Uint8Array =>
  value instanceof Uint8Array && (length === undefined || value.length === length);

function requireBytes(value: unknown, length: number | undefined, field: string): void {
  if (!isBytes(value, length)) {
    throw new KeyPearsError(
      'invalid_argument',
      `${field} must be ${length === undefined ? 'a Uint8Array' : `${length} bytes`}`,
    );
  }
}
