/**
 * Log entries (docs/transparency.md §7): what a KeyPears log records about an address, without
 * revealing the address or the keys to anyone who reads the log.
 *
 * ```
 * label      = ECVRF_proof_to_hash(ECVRF_prove(V, LP("KeyPears/v1 kt-label", address)))[0..32)
 * value      = LP(nodeBaseUrl, identityKey, decimal(dhKeyId), dhPublicKey, dhSignature,
 *                 decimal(registeredAt) | "", registrationProof | "")
 * commitment = SHA-256(LP("KeyPears/v1 kt-commitment", kind, opening, address, value))
 * entry      = LP("KeyPears/v1 kt-entry", kind, label, commitment)
 * ```
 *
 * The label is pseudorandom without the node's VRF secret key, so the log cannot be searched
 * for guessed addresses; the commitment hides the registration behind a 32-byte random opening,
 * which only a lookup of the address reveals.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, lengthPrefixed, utf8 } from '../encoding.js';
import { KeyPearsError, type ErrorCode } from '../errors.js';
import { checkKeyId, requireCanonicalAddress, verifyPrekey, verifyRegistration } from '../keys.js';
import { isIndex } from './text.js';
import { VRF_PROOF_LENGTH, vrfProofToHash, vrfProve, vrfVerify } from './vrf.js';

export const LABEL_CONTEXT = 'KeyPears/v1 kt-label';
export const COMMITMENT_CONTEXT = 'KeyPears/v1 kt-commitment';
export const ENTRY_CONTEXT = 'KeyPears/v1 kt-entry';
export const LOG_START_CONTEXT = 'KeyPears/v1 kt-log-start';

/** The kinds a verifier accepts; others (KT-4's identity changes) are refused until specified. */
export const ENTRY_KINDS = ['log-start', 'register', 'import'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export const LABEL_LENGTH = 32;
export const OPENING_LENGTH = 32;
export const COMMITMENT_LENGTH = 32;
/** The label of the log-start entry, which concerns no address. */
export const LOG_START_LABEL = new Uint8Array(LABEL_LENGTH);
/** Longer than any entry this module encodes (106 to 109 bytes). */
const ENTRY_MAX_LENGTH = 256;

export interface Entry {
  kind: EntryKind;
  label: Uint8Array;
  commitment: Uint8Array;
}

/** The registration an entry commits to: what a lookup of the address serves. */
export interface RegistrationRecord {
  /** The node's base URL as the registration proof signs it. */
  nodeBaseUrl: string;
  identityKey: Uint8Array;
  identityDhKey: { id: number; publicKey: Uint8Array; signature: Uint8Array };
  /** The registration proof's timestamp; absent on an import whose timestamp was not recovered. */
  registeredAt?: number;
  /** The 64-byte registration proof (docs/protocol.md §4.2); absent exactly when registeredAt is. */
  registrationProof?: Uint8Array;
}

/** The VRF input for an address: LP("KeyPears/v1 kt-label", canonical address). */
export function labelInput(address: string): Uint8Array {
  requireCanonicalAddress(address, 'address');
  return lengthPrefixed(LABEL_CONTEXT, address);
}

/** The node's side: the VRF proof for an address, and the label it yields. */
export function proveLabel(vrfSecretKey: Uint8Array, address: string): { vrfProof: Uint8Array; label: Uint8Array } {
  const vrfProof = vrfProve(vrfSecretKey, labelInput(address));
  return { vrfProof, label: vrfProofToHash(vrfProof).slice(0, LABEL_LENGTH) };
}

/** The verifier's side: the label, when `vrfProof` is the node's VRF proof for this address. */
export function verifyLabel(vrfPublicKey: Uint8Array, address: string, vrfProof: Uint8Array): Uint8Array | undefined {
  if (!(vrfProof instanceof Uint8Array) || vrfProof.length !== VRF_PROOF_LENGTH) return undefined;
  const output = vrfVerify(vrfPublicKey, labelInput(address), vrfProof);
  return output?.slice(0, LABEL_LENGTH);
}

/** The committed value of a registration. @throws KeyPearsError `invalid_argument`, naming the field. */
export function registrationValue(record: RegistrationRecord): Uint8Array {
  const { nodeBaseUrl, identityKey, identityDhKey, registeredAt, registrationProof } = record;
  if (typeof nodeBaseUrl !== 'string' || nodeBaseUrl.length === 0) {
    throw new KeyPearsError('invalid_argument', 'nodeBaseUrl must be a non-empty string');
  }
  requireBytes(identityKey, 32, 'identityKey');
  checkKeyId(identityDhKey?.id, 'identityDhKey.id');
  requireBytes(identityDhKey.publicKey, 32, 'identityDhKey.publicKey');
  requireBytes(identityDhKey.signature, 64, 'identityDhKey.signature');
  if ((registeredAt === undefined) !== (registrationProof === undefined)) {
    throw new KeyPearsError(
      'invalid_argument',
      'registeredAt and registrationProof are present together or not at all',
    );
  }
  if (registeredAt !== undefined && !isIndex(registeredAt)) {
    throw new KeyPearsError('invalid_argument', 'registeredAt must be a non-negative integer (Unix seconds)');
  }
  if (registrationProof !== undefined) requireBytes(registrationProof, 64, 'registrationProof');
  return lengthPrefixed(
    nodeBaseUrl,
    identityKey,
    String(identityDhKey.id),
    identityDhKey.publicKey,
    identityDhKey.signature,
    registeredAt === undefined ? '' : String(registeredAt),
    registrationProof ?? new Uint8Array(0),
  );
}

/** SHA-256(LP("KeyPears/v1 kt-commitment", kind, opening, address, value)). */
export function entryCommitment(kind: EntryKind, opening: Uint8Array, address: string, value: Uint8Array): Uint8Array {
  requireKind(kind);
  requireBytes(opening, OPENING_LENGTH, 'opening');
  requireCanonicalAddress(address, 'address');
  return sha256(lengthPrefixed(COMMITMENT_CONTEXT, kind, opening, address, value));
}

/** What a log-start entry commits to: the log's origin, when it started, and the log it follows. */
export interface LogStart {
  origin: string;
  startedAt: number;
  /** The origin of the generation this log replaces, if any. */
  previousOrigin?: string;
  /** That generation's last checkpoint note, if any. */
  previousCheckpoint?: string;
}

/** SHA-256(LP("KeyPears/v1 kt-log-start", origin, decimal(startedAt), previousOrigin | "", previousCheckpoint | "")). */
export function logStartCommitment(start: LogStart): Uint8Array {
  const { origin, startedAt, previousOrigin, previousCheckpoint } = start;
  if (typeof origin !== 'string' || origin.length === 0)
    throw new KeyPearsError('invalid_argument', 'origin is required');
  if (!isIndex(startedAt)) throw new KeyPearsError('invalid_argument', 'startedAt must be a non-negative integer');
  return sha256(
    lengthPrefixed(LOG_START_CONTEXT, origin, String(startedAt), previousOrigin ?? '', previousCheckpoint ?? ''),
  );
}

/** LP("KeyPears/v1 kt-entry", kind, label, commitment): the bytes the log's leaf hashes. */
export function encodeEntry(entry: Entry): Uint8Array {
  requireKind(entry.kind);
  requireBytes(entry.label, LABEL_LENGTH, 'label');
  requireBytes(entry.commitment, COMMITMENT_LENGTH, 'commitment');
  if ((entry.kind === 'log-start') !== equalBytes(entry.label, LOG_START_LABEL)) {
    throw new KeyPearsError('invalid_argument', 'the log-start entry, and only it, has the all-zero label');
  }
  return lengthPrefixed(ENTRY_CONTEXT, entry.kind, entry.label, entry.commitment);
}

/**
 * Parses entry bytes (from an entry bundle or a tlog-proof) strictly: the exact encoding
 * encodeEntry produces, with a known kind.
 *
 * @throws KeyPearsError `code`.
 */
export function decodeEntry(bytes: Uint8Array, code: ErrorCode = 'kt_proof_invalid'): Entry {
  const parts =
    bytes instanceof Uint8Array && bytes.length <= ENTRY_MAX_LENGTH ? splitLengthPrefixed(bytes) : undefined;
  const [context, kindBytes, label, commitment] = parts ?? [];
  const kind = kindBytes && ENTRY_KINDS.find((k) => equalBytes(utf8(k), kindBytes));
  if (
    parts?.length !== 4 ||
    !equalBytes(context, utf8(ENTRY_CONTEXT)) ||
    kind === undefined ||
    label.length !== LABEL_LENGTH ||
    commitment.length !== COMMITMENT_LENGTH ||
    (kind === 'log-start') !== equalBytes(label, LOG_START_LABEL)
  ) {
    throw new KeyPearsError(code, 'not a KeyPears log entry');
  }
  return { kind, label: label.slice(), commitment: commitment.slice() };
}

/** The parts of an LP encoding, or undefined when the bytes are not exactly one. */
function splitLengthPrefixed(bytes: Uint8Array): Uint8Array[] | undefined {
  const parts: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) return undefined;
    const length = view.getUint32(at, false);
    if (at + 4 + length > bytes.length) return undefined;
    parts.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return parts;
}

/** The entry of a registration (or import), from the served record, the opening and the label. */
export function registrationEntry(input: {
  kind: Extract<EntryKind, 'register' | 'import'>;
  address: string;
  label: Uint8Array;
  opening: Uint8Array;
  record: RegistrationRecord;
}): Uint8Array {
  const { kind, address, label, opening, record } = input;
  if (kind !== 'register' && kind !== 'import')
    throw new KeyPearsError('invalid_argument', 'kind must be register or import');
  const commitment = entryCommitment(kind, opening, address, registrationValue(record));
  return encodeEntry({ kind, label, commitment });
}

/** The log-start entry of a log. */
export const logStartEntry = (start: LogStart): Uint8Array =>
  encodeEntry({ kind: 'log-start', label: LOG_START_LABEL, commitment: logStartCommitment(start) });

/**
 * Checks the signatures a record carries: the identity DH key's prekey statement, and the
 * registration proof (docs/protocol.md §4.1, §4.2). A `register` entry must carry a proof; an
 * `import` may lack one (a backfilled account whose timestamp was not recovered).
 *
 * @throws KeyPearsError `code`, naming what does not verify.
 */
export function checkRegistrationRecord(
  kind: Extract<EntryKind, 'register' | 'import'>,
  address: string,
  record: RegistrationRecord,
  code: ErrorCode = 'kt_proof_invalid',
): void {
  const { identityKey, identityDhKey, registeredAt, registrationProof, nodeBaseUrl } = record;
  const dh = { kind: 'identity-dh' as const, address, keyId: identityDhKey.id, publicKey: identityDhKey.publicKey };
  if (!verifyPrekey(dh, identityDhKey.signature, identityKey)) {
    throw new KeyPearsError(code, 'the identity DH key signature in the log entry does not verify');
  }
  if (registrationProof === undefined || registeredAt === undefined) {
    if (kind === 'register') throw new KeyPearsError(code, 'a register entry must carry its registration proof');
    return;
  }
  const statement = {
    address,
    nodeBaseUrl,
    identityKey,
    identityDhKey: identityDhKey.publicKey,
    timestamp: registeredAt,
  };
  if (!verifyRegistration(statement, registrationProof)) {
    throw new KeyPearsError(code, 'the registration proof in the log entry does not verify');
  }
}

function requireKind(kind: unknown): asserts kind is EntryKind {
  if (!(ENTRY_KINDS as readonly unknown[]).includes(kind)) {
    throw new KeyPearsError('invalid_argument', `kind must be one of ${ENTRY_KINDS.join(', ')}`);
  }
}

function requireBytes(value: unknown, length: number, field: string): void {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new KeyPearsError('invalid_argument', `${field} must be ${length} bytes`);
  }
}
