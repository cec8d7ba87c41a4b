/**
 * The signed statements of the key directory (docs/protocol.md, "Signed statements").
 *
 * Every public key a user publishes is signed by their Ed25519 identity key over a statement
 * that names the key's kind, its owner and its id, so that a node (or anyone relaying a
 * bundle) cannot move a key to another user, another slot or another id. Registration is
 * proven by a statement bound to the node it is sent to, so a proof cannot be replayed on
 * another node.
 */
import { parseAddress } from './address.js';
import {
  ED25519_PUBLIC_KEY_LENGTH,
  ed25519Sign,
  ed25519Verify,
  isValidEd25519PublicKey,
  isValidMlkem768PublicKey,
  MLKEM768_PUBLIC_KEY_LENGTH,
  X25519_KEY_LENGTH,
} from './crypto.js';
import { equalBytes, lengthPrefixed, toB64u, toHex } from './encoding.js';
import { KeyPearsError } from './errors.js';

export const PREKEY_STATEMENT_CONTEXT = 'KeyPears/v1 prekey';
export const REGISTRATION_STATEMENT_CONTEXT = 'KeyPears/v1 register';

/** The slots a signed public key can occupy. Part of every prekey statement. */
export const PREKEY_KINDS = [
  'identity-dh',
  'signed-prekey',
  'one-time-prekey',
  'pq-last-resort',
  'pq-one-time',
] as const;
export type PrekeyKind = (typeof PREKEY_KINDS)[number];
/** The two kinds of ML-KEM-768 prekey; an exchange says which one it used. */
export type PqPrekeyKind = Extract<PrekeyKind, 'pq-last-resort' | 'pq-one-time'>;

/** Key ids are chosen by the client: integers from 0 to 2^32 - 1. */
export const MAX_KEY_ID = 0xffffffff;

const MAX_NODE_BASE_URL_LENGTH = 2048;

export interface PrekeyStatementInput {
  kind: PrekeyKind;
  /** Canonical address of the key's owner. */
  address: string;
  keyId: number;
  publicKey: Uint8Array;
}

export interface RegistrationStatementInput {
  /** Canonical address being registered. */
  address: string;
  /** The node's base URL exactly as in its `/.well-known/keypears.json` document. */
  nodeBaseUrl: string;
  /** Ed25519 identity public key. */
  identityKey: Uint8Array;
  /** X25519 identity DH public key. */
  identityDhKey: Uint8Array;
  /** Unix time in seconds when the proof was made. */
  timestamp: number;
}

/** The public key length for each kind: 32 for X25519 keys, 1184 for ML-KEM-768 keys. */
export function prekeyPublicKeyLength(kind: PrekeyKind): number {
  return isPqKind(kind) ? MLKEM768_PUBLIC_KEY_LENGTH : X25519_KEY_LENGTH;
}

export function isPqKind(kind: PrekeyKind): kind is PqPrekeyKind {
  return kind === 'pq-last-resort' || kind === 'pq-one-time';
}

/**
 * The bytes an identity key signs to publish a key:
 * `lengthPrefixed("KeyPears/v1 prekey", kind, address, decimal keyId, publicKey)`.
 *
 * @throws KeyPearsError `invalid_argument` (kind, key id), `invalid_address` (not canonical),
 *   `invalid_key` (wrong length for the kind).
 * @example prekeyStatement({ kind: 'signed-prekey', address: 'bob@b.example', keyId: 1, publicKey })
 */
export function prekeyStatement(input: PrekeyStatementInput): Uint8Array {
  const { kind, address, keyId, publicKey } = input;
  if (!(PREKEY_KINDS as readonly unknown[]).includes(kind)) {
    throw new KeyPearsError('invalid_argument', `kind must be one of ${PREKEY_KINDS.join(', ')}`);
  }
  requireCanonicalAddress(address, 'address');
  checkKeyId(keyId, 'keyId');
  const length = prekeyPublicKeyLength(kind);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== length) {
    throw new KeyPearsError('invalid_key', `${kind} public key must be ${length} bytes`);
  }
  return lengthPrefixed(PREKEY_STATEMENT_CONTEXT, kind, address, String(keyId), publicKey);
}

/** Signs a prekey statement with the Ed25519 identity secret key; returns the 64-byte signature. */
export function signPrekey(input: PrekeyStatementInput, identitySecretKey: Uint8Array): Uint8Array {
  return ed25519Sign(prekeyStatement(input), identitySecretKey);
}

/**
 * Prekey signatures that verified, by identity key and signature, with the statement each
 * signs. The same signatures are verified again and again: a bundle's when it is decoded and
 * again when an exchange uses it (initiateExchange), a node's for the client and again in the
 * initiation it relays. Ed25519 verification is a function of its three inputs, so a hit (the
 * same key, signature and statement, byte for byte) has the same answer; only successes are
 * kept, so nothing gets here but by verifying, and the oldest entry goes when full. Verifying
 * costs about 0.2 ms here, a lookup a few microseconds.
 */
const verifiedPrekeys = new Map<string, Uint8Array>();
const VERIFIED_PREKEYS_MAX = 1024;

/** True only when `signature` is the identity key's signature of this statement. Never throws. */
export function verifyPrekey(input: PrekeyStatementInput, signature: Uint8Array, identityKey: Uint8Array): boolean {
  const statement = statementOrUndefined(() => prekeyStatement(input));
  if (statement === undefined || !(signature instanceof Uint8Array) || !(identityKey instanceof Uint8Array)) {
    return false;
  }
  const id = `${toB64u(identityKey)}.${toB64u(signature)}`;
  const known = verifiedPrekeys.get(id);
  if (known && equalBytes(known, statement)) return true;
  if (!ed25519Verify(signature, statement, identityKey)) return false;
  if (verifiedPrekeys.size >= VERIFIED_PREKEYS_MAX) verifiedPrekeys.delete(verifiedPrekeys.keys().next().value!);
  verifiedPrekeys.set(id, statement);
  return true;
}

/**
 * Checks that a public key is usable in its slot, beyond its length: an X25519 key must be a
 * canonical encoding (below 2^255 - 19) of a point that is not of low order (a DH with it would
 * be all zeros), an ML-KEM-768 key must pass the FIPS 203 modulus check. Nodes run this at
 * upload so that bad key material is refused (422) rather than handed out.
 *
 * @throws KeyPearsError `invalid_key`, naming `field`.
 */
export function checkPrekeyPublicKey(kind: PrekeyKind, publicKey: Uint8Array, field: string = kind): void {
  const length = prekeyPublicKeyLength(kind);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== length) {
    throw new KeyPearsError('invalid_key', `${field} must be ${length} bytes`);
  }
  if (isPqKind(kind)) {
    if (!isValidMlkem768PublicKey(publicKey)) {
      throw new KeyPearsError('invalid_key', `${field} is not a valid ML-KEM-768 public key`);
    }
    return;
  }
  if (!isCanonicalX25519(publicKey)) throw new KeyPearsError('invalid_key', `${field} is not a canonical X25519 key`);
  if (LOW_ORDER_X25519.has(toHex(publicKey))) {
    throw new KeyPearsError('invalid_key', `${field} is a low-order X25519 point`);
  }
}

/** Checks an Ed25519 identity public key decodes to a curve point. @throws `invalid_key`. */
export function checkIdentityKey(identityKey: Uint8Array, field = 'identity key'): void {
  if (!(identityKey instanceof Uint8Array) || identityKey.length !== ED25519_PUBLIC_KEY_LENGTH) {
    throw new KeyPearsError('invalid_key', `${field} must be ${ED25519_PUBLIC_KEY_LENGTH} bytes`);
  }
  if (!isValidEd25519PublicKey(identityKey)) throw new KeyPearsError('invalid_key', `${field} is not an Ed25519 point`);
}

/**
 * The bytes a client signs to register:
 * `lengthPrefixed("KeyPears/v1 register", address, nodeBaseUrl, identityKey, identityDhKey, decimal timestamp)`.
 * The node checks the timestamp is recent (docs/protocol.md), which this function does not.
 *
 * @throws KeyPearsError `invalid_address`, `invalid_argument` or `invalid_key`.
 */
export function registrationStatement(input: RegistrationStatementInput): Uint8Array {
  const { address, nodeBaseUrl, identityKey, identityDhKey, timestamp } = input;
  requireCanonicalAddress(address, 'address');
  if (
    typeof nodeBaseUrl !== 'string' ||
    nodeBaseUrl.length > MAX_NODE_BASE_URL_LENGTH ||
    !/^https?:\/\/[\x21-\x7e]+$/.test(nodeBaseUrl) ||
    !URL.canParse(nodeBaseUrl)
  ) {
    throw new KeyPearsError('invalid_argument', 'nodeBaseUrl must be an absolute http(s) URL');
  }
  if (!(identityKey instanceof Uint8Array) || identityKey.length !== ED25519_PUBLIC_KEY_LENGTH) {
    throw new KeyPearsError('invalid_key', `identity key must be ${ED25519_PUBLIC_KEY_LENGTH} bytes`);
  }
  if (!(identityDhKey instanceof Uint8Array) || identityDhKey.length !== X25519_KEY_LENGTH) {
    throw new KeyPearsError('invalid_key', `identity DH key must be ${X25519_KEY_LENGTH} bytes`);
  }
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new KeyPearsError('invalid_argument', 'timestamp must be a non-negative integer (Unix seconds)');
  }
  return lengthPrefixed(
    REGISTRATION_STATEMENT_CONTEXT,
    address,
    nodeBaseUrl,
    identityKey,
    identityDhKey,
    String(timestamp),
  );
}

/** Signs a registration statement with the identity secret key; returns the 64-byte proof. */
export function signRegistration(input: RegistrationStatementInput, identitySecretKey: Uint8Array): Uint8Array {
  return ed25519Sign(registrationStatement(input), identitySecretKey);
}

/** True only when `proof` is `input.identityKey`'s signature of this statement. Never throws. */
export function verifyRegistration(input: RegistrationStatementInput, proof: Uint8Array): boolean {
  const statement = statementOrUndefined(() => registrationStatement(input));
  return statement !== undefined && ed25519Verify(proof, statement, input.identityKey);
}

/**
 * Statements are signed over the canonical address only; a non-canonical spelling is refused
 * rather than silently converted, so that what was signed is what was sent.
 *
 * @throws KeyPearsError `invalid_address`.
 */
export function requireCanonicalAddress(address: string, field: string): void {
  const { canonical } = parseAddress(address);
  if (canonical !== address) {
    throw new KeyPearsError('invalid_address', `${field} must be in canonical form (${canonical})`);
  }
}

/** @throws KeyPearsError `invalid_argument`. */
export function checkKeyId(keyId: unknown, field: string): void {
  if (typeof keyId !== 'number' || !Number.isInteger(keyId) || keyId < 0 || keyId > MAX_KEY_ID) {
    throw new KeyPearsError('invalid_argument', `${field} must be an integer from 0 to ${MAX_KEY_ID}`);
  }
}

/** Any clamped scalar maps exactly the low-order points to the all-zero output. */
/**
 * The canonical encodings (u < p) of every point of small order on Curve25519 and its twist:
 * 0 (order 2), 1 (order 4), p - 1 (order 4 on the twist) and the two points of order 8; with
 * any of them every shared secret is all zeros (RFC 7748 §6.1). The same list libsodium
 * checks, less its non-canonical encodings, which isCanonicalX25519 refuses first. A table
 * rather than a trial scalar multiplication, because a node checks every X25519 key it is
 * handed; keys.spec.ts checks that each entry gives the all-zero secret.
 */
export const LOW_ORDER_X25519: ReadonlySet<string> = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
]);
/** 2^255 - 19, little-endian, the field modulus of Curve25519. */
const P25519 = (1n << 255n) - 19n;

function isCanonicalX25519(publicKey: Uint8Array): boolean {
  let value = 0n;
  for (let i = publicKey.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(publicKey[i]);
  return value < P25519;
}

function statementOrUndefined(build: () => Uint8Array): Uint8Array | undefined {
  try {
    return build();
  } catch (e) {
    if (e instanceof KeyPearsError) return undefined;
    throw e;
  }
}
