/**
 * The JSON messages exchanged between clients and nodes and between nodes, as zod schemas
 * (docs/protocol.md, "Wire formats"). Objects are strict (unknown keys are refused), byte
 * strings are unpadded canonical base64url of an exact length, addresses are canonical.
 *
 * The `decode*` helpers turn a message into bytes and verify every signature it carries, so
 * that no caller can use a key it has not checked.
 */
import { z } from 'zod';
import { parseAddress } from './address.js';
import {
  ED25519_PUBLIC_KEY_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  MLKEM768_CIPHERTEXT_LENGTH,
  MLKEM768_PUBLIC_KEY_LENGTH,
  X25519_KEY_LENGTH,
} from './crypto.js';
import { fromB64u, isCanonicalB64u, toB64u } from './encoding.js';
import { identityFingerprint } from './fingerprint.js';
import { KeyPearsError, type ErrorCode } from './errors.js';
import {
  checkIdentityKey,
  checkPrekeyPublicKey,
  MAX_KEY_ID,
  type PrekeyKind,
  verifyPrekey,
  verifyRegistration,
} from './keys.js';

/** Exchange ids are 16 random bytes. */
export const EXCHANGE_ID_LENGTH = 16;
/** At most this many one-time prekeys (of each family) per upload. */
export const MAX_PREKEYS_PER_UPLOAD = 100;

const B64U_CHARS = /^[A-Za-z0-9_-]*$/;

/** Unpadded base64url of exactly `length` bytes, canonical (one value, one encoding). */
function b64uBytes(length: number, what: string) {
  const message = `${what} must be ${length} bytes of unpadded base64url`;
  return z
    .string()
    .length(Math.ceil((length * 4) / 3), message)
    .regex(B64U_CHARS, message)
    .refine(isCanonicalB64u, `${what} is not canonical base64url`)
    .describe(`${what}: ${length} bytes, unpadded base64url`);
}

export const Ed25519PublicKeySchema = b64uBytes(ED25519_PUBLIC_KEY_LENGTH, 'Ed25519 public key');
export const X25519PublicKeySchema = b64uBytes(X25519_KEY_LENGTH, 'X25519 public key');
export const MlKem768PublicKeySchema = b64uBytes(MLKEM768_PUBLIC_KEY_LENGTH, 'ML-KEM-768 public key');
export const MlKem768CiphertextSchema = b64uBytes(MLKEM768_CIPHERTEXT_LENGTH, 'ML-KEM-768 ciphertext');
export const SignatureSchema = b64uBytes(ED25519_SIGNATURE_LENGTH, 'Ed25519 signature');
export const MacSchema = b64uBytes(32, 'HMAC-SHA256 tag');
export const ExchangeIdSchema = b64uBytes(EXCHANGE_ID_LENGTH, 'exchange id');
export const KeyIdSchema = z.int().min(0).max(MAX_KEY_ID);
/** Unix time in seconds. */
export const UnixTimeSchema = z.int().min(0);

/** A canonical address; other spellings are refused, not converted, so signatures stay valid. */
export const AddressSchema = z
  .string()
  .max(320)
  .describe('canonical address local@domain (lowercase, domain in ASCII form)')
  .superRefine((text, ctx) => {
    try {
      const { canonical } = parseAddress(text);
      if (canonical !== text) ctx.addIssue({ code: 'custom', message: `address must be canonical (${canonical})` });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof KeyPearsError ? e.message : 'invalid address' });
    }
  });

/** A signed X25519 key (identity DH key, signed prekey, one-time prekey). */
export const X25519KeyRecordSchema = z.strictObject({
  id: KeyIdSchema,
  publicKey: X25519PublicKeySchema,
  signature: SignatureSchema,
});

/** A signed ML-KEM-768 key (last-resort or one-time). */
export const MlKemKeyRecordSchema = z.strictObject({
  id: KeyIdSchema,
  publicKey: MlKem768PublicKeySchema,
  signature: SignatureSchema,
});

/** A signed public key as sent on the wire; `publicKey` is 32 or 1184 bytes depending on its slot. */
export interface PublicKeyRecord {
  id: number;
  publicKey: string;
  signature: string;
}

/** `POST` to a node to create an account: the proof is the identity key's registration statement. */
export const RegistrationRequestSchema = z.strictObject({
  address: AddressSchema,
  identityKey: Ed25519PublicKeySchema,
  identityDhKey: X25519KeyRecordSchema,
  timestamp: UnixTimeSchema,
  proof: SignatureSchema,
  invite: z
    .string()
    .regex(/^[\x21-\x7e]{1,256}$/, 'invite must be 1-256 visible ASCII characters')
    .optional(),
});
export type RegistrationRequest = z.infer<typeof RegistrationRequestSchema>;

const uniqueIds = (records: PublicKeyRecord[] | undefined) =>
  records === undefined || new Set(records.map((r) => r.id)).size === records.length;

/** New prekeys for an already registered address (a signed request). At least one key. */
export const PrekeyUploadSchema = z
  .strictObject({
    signedPrekey: X25519KeyRecordSchema.optional(),
    oneTimePrekeys: z.array(X25519KeyRecordSchema).min(1).max(MAX_PREKEYS_PER_UPLOAD).optional(),
    pqLastResort: MlKemKeyRecordSchema.optional(),
    pqOneTimePrekeys: z.array(MlKemKeyRecordSchema).min(1).max(MAX_PREKEYS_PER_UPLOAD).optional(),
  })
  .refine((u) => Object.keys(u).length > 0, 'an upload must contain at least one key')
  .refine((u) => uniqueIds(u.oneTimePrekeys), {
    message: 'one-time prekey ids must be unique',
    path: ['oneTimePrekeys'],
  })
  .refine((u) => uniqueIds(u.pqOneTimePrekeys), {
    message: 'post-quantum one-time prekey ids must be unique',
    path: ['pqOneTimePrekeys'],
  });
export type PrekeyUpload = z.infer<typeof PrekeyUploadSchema>;

/** What anyone can learn about an address: its identity and its current long-lived prekeys. */
export const PublicIdentitySchema = z.strictObject({
  address: AddressSchema,
  identityKey: Ed25519PublicKeySchema,
  identityDhKey: X25519KeyRecordSchema,
  signedPrekey: X25519KeyRecordSchema,
  pqLastResort: MlKemKeyRecordSchema,
  /** `identityFingerprint(identityKey)`, for display; decoders check it matches the key. */
  fingerprint: z.string().regex(/^[0-9a-f]{4}(?: [0-9a-f]{4}){7}$/, 'fingerprint must be 8 groups of 4 hex digits'),
});
export type PublicIdentity = z.infer<typeof PublicIdentitySchema>;

/**
 * A public identity plus the one-time keys handed out for one exchange. `usedLastResort` is
 * true exactly when no post-quantum one-time prekey was left, so the last-resort key is the
 * one to use; the X25519 one-time prekey may be absent on its own when those ran out.
 */
export const PrekeyBundleSchema = PublicIdentitySchema.extend({
  oneTimePrekey: X25519KeyRecordSchema.optional(),
  pqOneTimePrekey: MlKemKeyRecordSchema.optional(),
  usedLastResort: z.boolean(),
}).refine((b) => b.usedLastResort === (b.pqOneTimePrekey === undefined), {
  message: 'usedLastResort must be true exactly when pqOneTimePrekey is absent',
  path: ['usedLastResort'],
});
export type PrekeyBundle = z.infer<typeof PrekeyBundleSchema>;

/** Alice's first message to Bob, carried by the nodes (docs/protocol.md, "Initiation"). */
export const ExchangeInitiationSchema = z
  .strictObject({
    exchangeId: ExchangeIdSchema,
    from: AddressSchema,
    to: AddressSchema,
    identityKey: Ed25519PublicKeySchema,
    identityDhKey: X25519PublicKeySchema,
    ephemeralKey: X25519PublicKeySchema,
    signedPrekeyId: KeyIdSchema,
    oneTimePrekeyId: KeyIdSchema.optional(),
    pqPrekeyId: KeyIdSchema,
    pqPrekeyKind: z.enum(['pq-last-resort', 'pq-one-time']),
    pqCiphertext: MlKem768CiphertextSchema,
    createdAt: UnixTimeSchema,
    signature: SignatureSchema,
  })
  .refine((m) => m.from !== m.to, { message: 'from and to must differ', path: ['to'] });
export type ExchangeInitiation = z.infer<typeof ExchangeInitiationSchema>;

/** Bob's answer: proof that he derived the same keys (docs/protocol.md, "Confirmation"). */
export const ExchangeConfirmationSchema = z
  .strictObject({
    exchangeId: ExchangeIdSchema,
    /** The responder (Bob). */
    from: AddressSchema,
    /** The initiator (Alice). */
    to: AddressSchema,
    mac: MacSchema,
    signature: SignatureSchema,
  })
  .refine((m) => m.from !== m.to, { message: 'from and to must differ', path: ['to'] });
export type ExchangeConfirmation = z.infer<typeof ExchangeConfirmationSchema>;

/** How many problems of one value an error message lists. */
const MAX_LISTED_ISSUES = 5;

/**
 * The problems of a failed parse for an error message: the first five, each with its path,
 * or `where` (`body`, `query`, `document`) when it is about the value as a whole. The one
 * formatter of schema failures, for the node's requests and everything parsed from peers.
 */
export function describeZodError(error: z.ZodError, where?: string): string {
  return error.issues
    .slice(0, MAX_LISTED_ISSUES)
    .map((issue) => {
      const at = issue.path.length > 0 ? issue.path.join('.') : where;
      return at === undefined ? issue.message : `${at}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * Validates a value against a schema; on failure throws a KeyPearsError with `code` and a
 * message naming the problems (`describeZodError`).
 *
 * @example const upload = parseWire(PrekeyUploadSchema, body);
 */
export function parseWire<T extends z.ZodType>(
  schema: T,
  value: unknown,
  code: ErrorCode = 'invalid_request',
  where?: string,
): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new KeyPearsError(code, describeZodError(result.error, where));
  return result.data;
}

// --- Decoding with signature checks ------------------------------------------------------

/** A public key record with its bytes decoded. */
export interface KeyRecord {
  id: number;
  publicKey: Uint8Array;
  signature: Uint8Array;
}

export interface DecodedPublicIdentity {
  address: string;
  identityKey: Uint8Array;
  identityDhKey: KeyRecord;
  signedPrekey: KeyRecord;
  pqLastResort: KeyRecord;
  fingerprint: string;
}

export interface DecodedPrekeyBundle extends DecodedPublicIdentity {
  oneTimePrekey?: KeyRecord;
  pqOneTimePrekey?: KeyRecord;
  usedLastResort: boolean;
}

export interface DecodedRegistration {
  address: string;
  identityKey: Uint8Array;
  identityDhKey: KeyRecord;
  timestamp: number;
  proof: Uint8Array;
  invite?: string;
}

export interface DecodedPrekeyUpload {
  signedPrekey?: KeyRecord;
  oneTimePrekeys: KeyRecord[];
  pqLastResort?: KeyRecord;
  pqOneTimePrekeys: KeyRecord[];
}

/** The wire form of a decoded record (for building uploads and bundles). */
export function encodeKeyRecord(record: KeyRecord): PublicKeyRecord {
  return { id: record.id, publicKey: toB64u(record.publicKey), signature: toB64u(record.signature) };
}

/**
 * Validates a public identity and verifies the signatures of its identity DH key, signed
 * prekey and last-resort key against its identity key.
 *
 * @param expectedAddress when given, the identity must be for this address (the one asked for).
 * @throws KeyPearsError `invalid_identity` (shape, address, fingerprint), `invalid_key` (unusable
 *   key material), `invalid_address` (bad `expectedAddress`), or
 *   `bad_signature` with `details.key` naming the key whose signature failed.
 */
export function decodePublicIdentity(input: unknown, expectedAddress?: string): DecodedPublicIdentity {
  const identity = parseWire(PublicIdentitySchema, input, 'invalid_identity');
  return decodeIdentityFields(identity, expectedAddress, 'invalid_identity');
}

/**
 * Validates a prekey bundle and verifies every signature in it against its identity key.
 *
 * @param expectedAddress when given, the bundle must be for this address (the one asked for),
 *   so that a node cannot answer with another user's correctly signed bundle.
 * @throws KeyPearsError `invalid_bundle` (shape, address, fingerprint), `invalid_key`,
 *   `invalid_address` (bad `expectedAddress`), or `bad_signature`
 *   with `details.key` naming the key whose signature failed.
 */
export function decodeBundle(input: unknown, expectedAddress?: string): DecodedPrekeyBundle {
  const bundle = parseWire(PrekeyBundleSchema, input, 'invalid_bundle');
  const decoded: DecodedPrekeyBundle = {
    ...decodeIdentityFields(bundle, expectedAddress, 'invalid_bundle'),
    usedLastResort: bundle.usedLastResort,
  };
  if (bundle.oneTimePrekey) {
    decoded.oneTimePrekey = verifiedRecord(bundle.oneTimePrekey, 'one-time-prekey', 'oneTimePrekey', decoded);
  }
  if (bundle.pqOneTimePrekey) {
    decoded.pqOneTimePrekey = verifiedRecord(bundle.pqOneTimePrekey, 'pq-one-time', 'pqOneTimePrekey', decoded);
  }
  return decoded;
}

/**
 * Validates a registration request for the node at `nodeBaseUrl`: the proof and the identity
 * DH key's signature must verify. The node still checks that the timestamp is recent.
 *
 * @throws KeyPearsError `invalid_request`, `invalid_key` or `bad_signature` (`details.key`).
 */
export function decodeRegistrationRequest(input: unknown, nodeBaseUrl: string): DecodedRegistration {
  const request = parseWire(RegistrationRequestSchema, input);
  const identityKey = fromB64u(request.identityKey);
  checkIdentityKey(identityKey, 'identityKey');
  const owner = { address: request.address, identityKey };
  const identityDhKey = verifiedRecord(request.identityDhKey, 'identity-dh', 'identityDhKey', owner);
  const proof = fromB64u(request.proof);
  const statement = {
    address: request.address,
    nodeBaseUrl,
    identityKey,
    identityDhKey: identityDhKey.publicKey,
    timestamp: request.timestamp,
  };
  if (!verifyRegistration(statement, proof)) {
    throw new KeyPearsError('bad_signature', 'the registration proof does not verify', { key: 'proof' });
  }
  const decoded: DecodedRegistration = { ...owner, identityDhKey, timestamp: request.timestamp, proof };
  if (request.invite !== undefined) decoded.invite = request.invite;
  return decoded;
}

/**
 * Validates a prekey upload by the owner of `address`, verifying every signature against the
 * owner's identity key.
 *
 * @throws KeyPearsError `invalid_request`, `invalid_key` or `bad_signature` (`details.key`).
 */
export function decodePrekeyUpload(input: unknown, address: string, identityKey: Uint8Array): DecodedPrekeyUpload {
  const upload = parseWire(PrekeyUploadSchema, input);
  const owner = { address, identityKey };
  const decoded: DecodedPrekeyUpload = {
    oneTimePrekeys: (upload.oneTimePrekeys ?? []).map((r, i) =>
      verifiedRecord(r, 'one-time-prekey', `oneTimePrekeys.${i}`, owner),
    ),
    pqOneTimePrekeys: (upload.pqOneTimePrekeys ?? []).map((r, i) =>
      verifiedRecord(r, 'pq-one-time', `pqOneTimePrekeys.${i}`, owner),
    ),
  };
  if (upload.signedPrekey) {
    decoded.signedPrekey = verifiedRecord(upload.signedPrekey, 'signed-prekey', 'signedPrekey', owner);
  }
  if (upload.pqLastResort) {
    decoded.pqLastResort = verifiedRecord(upload.pqLastResort, 'pq-last-resort', 'pqLastResort', owner);
  }
  return decoded;
}

function decodeIdentityFields(
  identity: PublicIdentity,
  expectedAddress: string | undefined,
  code: ErrorCode,
): DecodedPublicIdentity {
  if (expectedAddress !== undefined && identity.address !== parseAddress(expectedAddress).canonical) {
    throw new KeyPearsError(code, `expected keys for ${expectedAddress}, got keys for ${identity.address}`);
  }
  const identityKey = fromB64u(identity.identityKey);
  checkIdentityKey(identityKey, 'identityKey');
  if (identity.fingerprint !== identityFingerprint(identityKey)) {
    throw new KeyPearsError(code, 'fingerprint does not match the identity key');
  }
  const owner = { address: identity.address, identityKey };
  return {
    address: identity.address,
    identityKey,
    identityDhKey: verifiedRecord(identity.identityDhKey, 'identity-dh', 'identityDhKey', owner),
    signedPrekey: verifiedRecord(identity.signedPrekey, 'signed-prekey', 'signedPrekey', owner),
    pqLastResort: verifiedRecord(identity.pqLastResort, 'pq-last-resort', 'pqLastResort', owner),
    fingerprint: identity.fingerprint,
  };
}

/** Decodes a schema-checked record, checks the key is usable, and verifies its signature. */
function verifiedRecord(
  record: PublicKeyRecord,
  kind: PrekeyKind,
  field: string,
  owner: { address: string; identityKey: Uint8Array },
): KeyRecord {
  const decoded = { id: record.id, publicKey: fromB64u(record.publicKey), signature: fromB64u(record.signature) };
  checkPrekeyPublicKey(kind, decoded.publicKey, field);
  const statement = { kind, address: owner.address, keyId: decoded.id, publicKey: decoded.publicKey };
  if (!verifyPrekey(statement, decoded.signature, owner.identityKey)) {
    throw new KeyPearsError('bad_signature', `the signature of ${field} does not verify`, { key: field });
  }
  return decoded;
}
