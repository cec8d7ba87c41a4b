/**
 * The hybrid key agreement (docs/protocol.md, "The exchange"): X25519 in the style of X3DH,
 * plus ML-KEM-768 as in Signal's PQXDH, with every input bound into one transcript hash.
 *
 * Alice (initiator) combines her identity DH key and an ephemeral key with Bob's (responder)
 * identity DH key, signed prekey and optional one-time prekey, and encapsulates to Bob's
 * post-quantum prekey. The shared secret stays secret as long as either X25519 or ML-KEM-768
 * holds. Alice signs the transcript hash; Bob answers with a MAC under a key only the two of
 * them can derive, signed by his identity key so that Alice's node can check it too.
 *
 * All functions are pure: randomness and time are parameters (optional ones default to fresh
 * randomness), so test vectors can pin every byte.
 */
import {
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  hkdfSha256,
  hmacSha256,
  MLKEM768_PUBLIC_KEY_LENGTH,
  MLKEM768_SECRET_KEY_LENGTH,
  mlkem768Decapsulate,
  mlkem768Encapsulate,
  randomBytes,
  sha256,
  x25519Keygen,
  x25519PublicKey,
  x25519SharedSecret,
} from './crypto.js';
import { concatBytes, equalBytes, fromB64u, lengthPrefixed, toB64u, utf8 } from './encoding.js';
import { KeyPearsError } from './errors.js';
import { type PqPrekeyKind, type PrekeyKind, requireCanonicalAddress, verifyPrekey } from './keys.js';
import {
  type DecodedPrekeyBundle,
  type DecodedPublicIdentity,
  EXCHANGE_ID_LENGTH,
  type ExchangeConfirmation,
  ExchangeConfirmationSchema,
  type ExchangeInitiation,
  ExchangeInitiationSchema,
  type KeyRecord,
  parseWire,
} from './wire.js';

export const EXCHANGE_TRANSCRIPT_CONTEXT = 'KeyPears/v1 exchange';
export const EXCHANGE_KDF_INFO = 'KeyPears/v1 exchange keys';
export const INITIATION_CONTEXT = 'KeyPears/v1 initiation';
export const CONFIRM_MAC_CONTEXT = 'KeyPears/v1 confirm';
export const CONFIRMATION_CONTEXT = 'KeyPears/v1 confirmation';
/** An initiation older than this is refused by `acceptExchange` (when given `now`); nodes expire it too. */
export const EXCHANGE_MAX_AGE_SECONDS = 7 * 24 * 3600;
/** How far in the future an initiation may be dated (clock differences). */
export const EXCHANGE_MAX_FUTURE_SECONDS = 300;

/**
 * Prepended to the IKM as in X3DH/PQXDH: 32 0xFF bytes, so that the IKM never starts like an
 * X25519 output and cannot collide with another protocol's KDF input using the same keys.
 */
const X25519_KDF_PREFIX = new Uint8Array(32).fill(0xff);
const KDF_SALT = new Uint8Array(32);
/** FIPS 203 §7.1: dk = dk_PKE (384k bytes) || ek || H(ek) || z; for k = 3, ek starts at 1152. */
const MLKEM768_EK_OFFSET = 1152;

export interface InitiatorKeys {
  /** Alice's canonical address. */
  address: string;
  /** Ed25519 identity secret key (seed). */
  identitySecretKey: Uint8Array;
  /** X25519 identity DH secret key. */
  identityDhSecretKey: Uint8Array;
}

export interface InitiateExchangeInput {
  self: InitiatorKeys;
  /** Bob's bundle, as returned by `decodeBundle` for the address Alice asked for. */
  peerBundle: DecodedPrekeyBundle;
  /** Unix seconds. */
  createdAt: number;
  /** base64url of 16 bytes; random by default. Fixed only for test vectors. */
  exchangeId?: string;
  /** X25519 ephemeral secret key; random by default. Fixed only for test vectors. */
  ephemeral?: Uint8Array;
  /** 32 bytes of ML-KEM encapsulation randomness; random by default. Fixed only for test vectors. */
  pqRandomness?: Uint8Array;
}

export interface InitiatedExchange {
  /** The message to send to Bob through the nodes. */
  initiation: ExchangeInitiation;
  /** The 32-byte shared secret. */
  secret: Uint8Array;
  /** Kept by Alice until the confirmation arrives. */
  confirmKey: Uint8Array;
  transcriptHash: Uint8Array;
  /** True when Bob's X25519 one-time prekey was used (DH4). */
  usedOneTimePrekey: boolean;
}

/** Looks up one of the responder's secret keys by id; `undefined` when unknown (or already used). */
export type SecretKeyLookup = (id: number) => Uint8Array | undefined;

export interface ResponderKeys {
  /** Bob's canonical address. */
  address: string;
  identitySecretKey: Uint8Array;
  identityDhSecretKey: Uint8Array;
  signedPrekeySecret: SecretKeyLookup;
  oneTimePrekeySecret: SecretKeyLookup;
  /** The 2400-byte ML-KEM-768 decapsulation key for this kind and id. */
  pqPrekeySecret: (kind: PqPrekeyKind, id: number) => Uint8Array | undefined;
}

export interface AcceptExchangeInput {
  self: ResponderKeys;
  /** The initiation as received (validated here). */
  initiation: unknown;
  /** Alice's public identity, resolved independently and checked with `decodePublicIdentity`. */
  initiatorIdentity: DecodedPublicIdentity;
  /** Unix seconds; when given, stale or future-dated initiations are refused. */
  now?: number;
}

export interface AcceptedExchange {
  /** The 32-byte shared secret, equal to Alice's. */
  secret: Uint8Array;
  /** The message to send back to Alice through the nodes. */
  confirmation: ExchangeConfirmation;
  transcriptHash: Uint8Array;
}

/** Bob's public keys that an initiation refers to by id, as his node or client knows them. */
export interface ResponderPublicKeys {
  identityKey: Uint8Array;
  identityDhKey: Uint8Array;
  signedPrekey: Uint8Array;
  /** Present exactly when the initiation names a one-time prekey. */
  oneTimePrekey?: Uint8Array;
  /** The ML-KEM-768 key of the kind and id named by the initiation. */
  pqPrekey: Uint8Array;
}

export interface VerifyConfirmationInput {
  /** The confirmation as received (validated here). */
  confirmation: unknown;
  /** The initiation Alice sent. */
  initiation: ExchangeInitiation;
  /** Bob's identity key, from the bundle Alice used. */
  responderIdentityKey: Uint8Array;
  confirmKey: Uint8Array;
  transcriptHash: Uint8Array;
}

/**
 * Alice's side: derives the secret for Bob's bundle and builds the signed initiation.
 * The signatures of the prekeys used are checked again, so a bundle that did not come from
 * `decodeBundle` cannot slip through.
 *
 * @throws KeyPearsError `invalid_exchange` (bad input), `bad_signature` (a prekey signature),
 *   `invalid_key` (unusable key material).
 */
export function initiateExchange(input: InitiateExchangeInput): InitiatedExchange {
  const { self, peerBundle: bundle, createdAt } = input;
  requireCanonicalAddress(self.address, 'self.address');
  requireCanonicalAddress(bundle.address, 'peerBundle.address');
  if (self.address === bundle.address) invalid('cannot start an exchange with oneself');
  checkCreatedAt(createdAt);
  const exchangeId = input.exchangeId ?? toB64u(randomBytes(EXCHANGE_ID_LENGTH));
  decodeExchangeId(exchangeId);

  const pqKind: PqPrekeyKind = bundle.pqOneTimePrekey ? 'pq-one-time' : 'pq-last-resort';
  const pqPrekey = bundle.pqOneTimePrekey ?? bundle.pqLastResort;
  checkPrekeySignature(bundle, 'identity-dh', bundle.identityDhKey, 'identityDhKey');
  checkPrekeySignature(bundle, 'signed-prekey', bundle.signedPrekey, 'signedPrekey');
  if (bundle.oneTimePrekey) checkPrekeySignature(bundle, 'one-time-prekey', bundle.oneTimePrekey, 'oneTimePrekey');
  checkPrekeySignature(bundle, pqKind, pqPrekey, pqKind === 'pq-one-time' ? 'pqOneTimePrekey' : 'pqLastResort');

  const ephemeral = x25519Keygen(input.ephemeral);
  const dh = [
    x25519SharedSecret(self.identityDhSecretKey, bundle.signedPrekey.publicKey),
    x25519SharedSecret(ephemeral.secretKey, bundle.identityDhKey.publicKey),
    x25519SharedSecret(ephemeral.secretKey, bundle.signedPrekey.publicKey),
  ];
  if (bundle.oneTimePrekey) dh.push(x25519SharedSecret(ephemeral.secretKey, bundle.oneTimePrekey.publicKey));
  const kem = mlkem768Encapsulate(pqPrekey.publicKey, input.pqRandomness);

  const unsigned: Omit<ExchangeInitiation, 'signature'> = {
    exchangeId,
    from: self.address,
    to: bundle.address,
    identityKey: toB64u(ed25519PublicKey(self.identitySecretKey)),
    identityDhKey: toB64u(x25519PublicKey(self.identityDhSecretKey)),
    ephemeralKey: toB64u(ephemeral.publicKey),
    signedPrekeyId: bundle.signedPrekey.id,
    ...(bundle.oneTimePrekey ? { oneTimePrekeyId: bundle.oneTimePrekey.id } : {}),
    pqPrekeyId: pqPrekey.id,
    pqPrekeyKind: pqKind,
    pqCiphertext: toB64u(kem.cipherText),
    createdAt,
  };
  const transcriptHash = sha256(
    exchangeTranscript(unsigned, {
      identityKey: bundle.identityKey,
      identityDhKey: bundle.identityDhKey.publicKey,
      signedPrekey: bundle.signedPrekey.publicKey,
      oneTimePrekey: bundle.oneTimePrekey?.publicKey,
      pqPrekey: pqPrekey.publicKey,
    }),
  );
  const { secret, confirmKey } = deriveKeys(dh, kem.sharedSecret, transcriptHash);
  const signature = ed25519Sign(initiationStatement(transcriptHash, createdAt), self.identitySecretKey);
  return {
    initiation: { ...unsigned, signature: toB64u(signature) },
    secret,
    confirmKey,
    transcriptHash,
    usedOneTimePrekey: bundle.oneTimePrekey !== undefined,
  };
}

/**
 * Bob's side: checks the initiation against Alice's published identity and his own keys,
 * derives the same secret, and builds the signed confirmation. The caller then deletes the
 * one-time secrets the initiation used.
 *
 * @throws KeyPearsError `invalid_exchange` (malformed, not for this user, unknown prekey id,
 *   keys not matching Alice's identity, future-dated), `exchange_expired`, `bad_signature`.
 */
export function acceptExchange(input: AcceptExchangeInput): AcceptedExchange {
  const { self, initiatorIdentity } = input;
  const initiation = parseWire(ExchangeInitiationSchema, input.initiation, 'invalid_exchange');
  requireCanonicalAddress(self.address, 'self.address');
  if (initiation.to !== self.address) invalid(`the initiation is for ${initiation.to}, not ${self.address}`);
  if (initiation.from !== initiatorIdentity.address) {
    invalid(`the initiation is from ${initiation.from}, but the identity given is ${initiatorIdentity.address}`);
  }
  // Alice's keys must be the ones she publishes; otherwise anyone could sign as "alice".
  if (
    !equalBytes(fromB64u(initiation.identityKey), initiatorIdentity.identityKey) ||
    !equalBytes(fromB64u(initiation.identityDhKey), initiatorIdentity.identityDhKey.publicKey)
  ) {
    invalid(`the initiation's keys are not the published identity of ${initiation.from}`);
  }
  if (input.now !== undefined) checkFreshness(initiation.createdAt, input.now);

  const spkSecret = self.signedPrekeySecret(initiation.signedPrekeyId);
  if (!spkSecret) invalid(`unknown signed prekey id ${initiation.signedPrekeyId}`);
  let opkSecret: Uint8Array | undefined;
  if (initiation.oneTimePrekeyId !== undefined) {
    opkSecret = self.oneTimePrekeySecret(initiation.oneTimePrekeyId);
    if (!opkSecret) invalid(`unknown or already used one-time prekey id ${initiation.oneTimePrekeyId}`);
  }
  const pqSecret = self.pqPrekeySecret(initiation.pqPrekeyKind, initiation.pqPrekeyId);
  if (!pqSecret) invalid(`unknown ${initiation.pqPrekeyKind} prekey id ${initiation.pqPrekeyId}`);
  if (pqSecret.length !== MLKEM768_SECRET_KEY_LENGTH) {
    throw new KeyPearsError('invalid_key', `ML-KEM-768 secret key must be ${MLKEM768_SECRET_KEY_LENGTH} bytes`);
  }

  const responder: ResponderPublicKeys = {
    identityKey: ed25519PublicKey(self.identitySecretKey),
    identityDhKey: x25519PublicKey(self.identityDhSecretKey),
    signedPrekey: x25519PublicKey(spkSecret),
    oneTimePrekey: opkSecret && x25519PublicKey(opkSecret),
    pqPrekey: pqSecret.slice(MLKEM768_EK_OFFSET, MLKEM768_EK_OFFSET + MLKEM768_PUBLIC_KEY_LENGTH),
  };
  const transcriptHash = sha256(exchangeTranscript(initiation, responder));
  if (
    !ed25519Verify(
      fromB64u(initiation.signature),
      initiationStatement(transcriptHash, initiation.createdAt),
      initiatorIdentity.identityKey,
    )
  ) {
    throw new KeyPearsError('bad_signature', 'the initiation signature does not verify');
  }

  const identityDhA = fromB64u(initiation.identityDhKey);
  const ephemeralA = fromB64u(initiation.ephemeralKey);
  const dh = [
    peerDh(spkSecret, identityDhA, 'identityDhKey'),
    peerDh(self.identityDhSecretKey, ephemeralA, 'ephemeralKey'),
    peerDh(spkSecret, ephemeralA, 'ephemeralKey'),
  ];
  if (opkSecret) dh.push(peerDh(opkSecret, ephemeralA, 'ephemeralKey'));
  let pqSharedSecret: Uint8Array;
  try {
    pqSharedSecret = mlkem768Decapsulate(fromB64u(initiation.pqCiphertext), pqSecret);
  } catch {
    throw new KeyPearsError('invalid_key', 'the ML-KEM-768 secret key is corrupt');
  }
  const { secret, confirmKey } = deriveKeys(dh, pqSharedSecret, transcriptHash);

  const mac = confirmationMac(confirmKey, transcriptHash);
  const confirmation: Omit<ExchangeConfirmation, 'signature'> = {
    exchangeId: initiation.exchangeId,
    from: initiation.to,
    to: initiation.from,
    mac: toB64u(mac),
  };
  const signature = ed25519Sign(confirmationStatement(confirmation), self.identitySecretKey);
  return { secret, confirmation: { ...confirmation, signature: toB64u(signature) }, transcriptHash };
}

/**
 * Alice's side: checks Bob's confirmation of her initiation (addresses, exchange id, Bob's
 * signature, then the MAC, in constant time). Returns the validated confirmation.
 *
 * @throws KeyPearsError `invalid_exchange` (malformed, another exchange, or a MAC showing that
 *   Bob derived different keys) or `bad_signature`.
 */
export function verifyConfirmation(input: VerifyConfirmationInput): ExchangeConfirmation {
  const confirmation = parseWire(ExchangeConfirmationSchema, input.confirmation, 'invalid_exchange');
  const { initiation } = input;
  if (
    confirmation.exchangeId !== initiation.exchangeId ||
    confirmation.from !== initiation.to ||
    confirmation.to !== initiation.from
  ) {
    invalid('the confirmation is not for this exchange');
  }
  if (!verifyConfirmationSignature(confirmation, input.responderIdentityKey)) {
    throw new KeyPearsError('bad_signature', 'the confirmation signature does not verify');
  }
  if (!equalBytes(fromB64u(confirmation.mac), confirmationMac(input.confirmKey, input.transcriptHash))) {
    invalid('the confirmation MAC does not match: the two sides derived different keys');
  }
  return confirmation;
}

/**
 * Checks Bob's signature on a (schema-valid) confirmation, without the MAC: what a node can
 * check before marking an exchange confirmed. Never throws.
 */
export function verifyConfirmationSignature(
  confirmation: ExchangeConfirmation,
  responderIdentityKey: Uint8Array,
): boolean {
  try {
    return ed25519Verify(fromB64u(confirmation.signature), confirmationStatement(confirmation), responderIdentityKey);
  } catch {
    return false;
  }
}

/**
 * Checks Alice's signature on a (schema-valid) initiation, given the public keys of Bob's that
 * it names: what Bob's node checks before storing it. The caller must also check that
 * `initiation.identityKey` is the published identity key of `initiation.from`. Never throws.
 */
export function verifyInitiationSignature(initiation: ExchangeInitiation, responder: ResponderPublicKeys): boolean {
  try {
    const transcriptHash = sha256(exchangeTranscript(initiation, responder));
    const statement = initiationStatement(transcriptHash, initiation.createdAt);
    return ed25519Verify(fromB64u(initiation.signature), statement, fromB64u(initiation.identityKey));
  } catch {
    return false;
  }
}

/**
 * The exchange transcript: every name and public key the secret depends on,
 * `lengthPrefixed("KeyPears/v1 exchange", exchangeId, from, to, IK_A, IKdh_A, EK_A, IK_B,
 * IKdh_B, spkId, SPK_B, opkId | "", OPK_B | "", pqKind, pqId, PQPK_B, CT)`, ids in decimal.
 *
 * @throws KeyPearsError `invalid_exchange` when the one-time prekey is given without its id or
 *   the other way round.
 */
export function exchangeTranscript(
  initiation: Omit<ExchangeInitiation, 'signature' | 'createdAt'>,
  responder: ResponderPublicKeys,
): Uint8Array {
  const hasOneTime = initiation.oneTimePrekeyId !== undefined;
  if (hasOneTime !== (responder.oneTimePrekey !== undefined)) {
    invalid('the one-time prekey and its id must be given together');
  }
  return lengthPrefixed(
    EXCHANGE_TRANSCRIPT_CONTEXT,
    decodeExchangeId(initiation.exchangeId),
    initiation.from,
    initiation.to,
    fromB64u(initiation.identityKey),
    fromB64u(initiation.identityDhKey),
    fromB64u(initiation.ephemeralKey),
    responder.identityKey,
    responder.identityDhKey,
    String(initiation.signedPrekeyId),
    responder.signedPrekey,
    hasOneTime ? String(initiation.oneTimePrekeyId) : '',
    responder.oneTimePrekey ?? new Uint8Array(0),
    initiation.pqPrekeyKind,
    String(initiation.pqPrekeyId),
    responder.pqPrekey,
    fromB64u(initiation.pqCiphertext),
  );
}

// --- Internals ---------------------------------------------------------------------------

/**
 * IKM = 0xFF*32 || DH1 || DH2 || DH3 || [DH4] || SS;
 * OKM = HKDF-SHA256(IKM, salt = 32 zero bytes, info = "KeyPears/v1 exchange keys" || TH, 64).
 * The transcript hash in `info` binds the keys to everything both sides saw.
 */
function deriveKeys(dh: Uint8Array[], pqSharedSecret: Uint8Array, transcriptHash: Uint8Array) {
  const ikm = concatBytes(X25519_KDF_PREFIX, ...dh, pqSharedSecret);
  const okm = hkdfSha256(ikm, KDF_SALT, concatBytes(utf8(EXCHANGE_KDF_INFO), transcriptHash), 64);
  return { secret: okm.slice(0, 32), confirmKey: okm.slice(32, 64) };
}

/** `lengthPrefixed("KeyPears/v1 initiation", TH, decimal createdAt)`, signed by Alice. */
function initiationStatement(transcriptHash: Uint8Array, createdAt: number): Uint8Array {
  return lengthPrefixed(INITIATION_CONTEXT, transcriptHash, String(createdAt));
}

/** `HMAC-SHA256(confirmKey, lengthPrefixed("KeyPears/v1 confirm", TH))`. */
function confirmationMac(confirmKey: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
  return hmacSha256(confirmKey, lengthPrefixed(CONFIRM_MAC_CONTEXT, transcriptHash));
}

/** `lengthPrefixed("KeyPears/v1 confirmation", exchangeId, from, to, mac)`, signed by Bob. */
function confirmationStatement(confirmation: Omit<ExchangeConfirmation, 'signature'>): Uint8Array {
  return lengthPrefixed(
    CONFIRMATION_CONTEXT,
    decodeExchangeId(confirmation.exchangeId),
    confirmation.from,
    confirmation.to,
    fromB64u(confirmation.mac),
  );
}

function decodeExchangeId(exchangeId: string): Uint8Array {
  const bytes = fromB64u(exchangeId, 'exchangeId', 'invalid_exchange');
  if (bytes.length !== EXCHANGE_ID_LENGTH) invalid(`exchangeId must be ${EXCHANGE_ID_LENGTH} bytes`);
  return bytes;
}

function checkCreatedAt(createdAt: unknown): void {
  if (typeof createdAt !== 'number' || !Number.isSafeInteger(createdAt) || createdAt < 0) {
    invalid('createdAt must be a non-negative integer (Unix seconds)');
  }
}

function checkFreshness(createdAt: number, now: number): void {
  if (createdAt > now + EXCHANGE_MAX_FUTURE_SECONDS) invalid('the initiation is dated in the future');
  if (createdAt < now - EXCHANGE_MAX_AGE_SECONDS) {
    throw new KeyPearsError('exchange_expired', 'the initiation is too old to be accepted');
  }
}

function checkPrekeySignature(bundle: DecodedPrekeyBundle, kind: PrekeyKind, record: KeyRecord, field: string): void {
  const statement = { kind, address: bundle.address, keyId: record.id, publicKey: record.publicKey };
  if (!verifyPrekey(statement, record.signature, bundle.identityKey)) {
    throw new KeyPearsError('bad_signature', `the signature of ${field} does not verify`, { key: field });
  }
}

/** A DH with a key Alice sent; a low-order key makes the initiation invalid. */
function peerDh(secretKey: Uint8Array, peerKey: Uint8Array, field: string): Uint8Array {
  try {
    return x25519SharedSecret(secretKey, peerKey);
  } catch (e) {
    if (e instanceof KeyPearsError && e.code === 'invalid_key') invalid(`${field} is not a usable X25519 key`);
    throw e;
  }
}

function invalid(message: string): never {
  throw new KeyPearsError('invalid_exchange', message);
}
