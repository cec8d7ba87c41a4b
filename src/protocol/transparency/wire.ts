/**
 * The JSON of key transparency (docs/transparency.md §10, §11): the `transparency` member of a
 * node document (the log a node advertises), the `KeyPears-KT-Known` request header, and the
 * `transparency` member that identity, bundle, registration and resolve answers carry when the
 * request asked for it. Shared by the node, which produces them, and every verifier (peer
 * nodes, the SDK, the CLI), which parse them strictly and verify them with `verifyLogAnswer`.
 */
import { z } from 'zod';
import { fromB64uSized, toB64u } from '../encoding.js';
import { isKeyPearsError, KeyPearsError, type ErrorCode } from '../errors.js';
import { RegistrationResponseSchema } from '../client-api.js';
import { PrekeyBundleSchema, PublicIdentitySchema } from '../wire.js';
import { checkRegistrationRecord, registrationEntry, type RegistrationRecord, verifyLabel } from './entry.js';
import {
  type KtVerdict,
  type LogAnswer,
  type LogIdentity,
  type LogState,
  sameLogIdentity,
  verifyLogAnswer,
} from './log-verifier.js';
import { HASH_LENGTH, MAX_PROOF_HASHES } from './merkle.js';
import { isValidKeyName, NOTE_MAX_BYTES, parseVerifierKey, SIGNATURE_TYPE_COSIGNATURE_V1 } from './note.js';
import { parseDecimal } from './text.js';
import { isValidVrfPublicKey, VRF_PROOF_LENGTH, VRF_PUBLIC_KEY_LENGTH } from './vrf.js';

/** The request header a requester opts in with (lower case, as HTTP/1.1 servers see it). */
export const KT_KNOWN_HEADER = 'keypears-kt-known';
/** The header as written in documents and `Vary`. */
export const KT_KNOWN_HEADER_NAME = 'KeyPears-KT-Known';
/** The version of the node document member this module reads and writes. */
export const LOG_ADVERTISEMENT_VERSION = 1;
/** Longest vkey accepted in a node document (an Ed25519 vkey is its name plus 55 characters). */
export const VKEY_MAX_CHARS = 256;
/** Entries per C2SP tile. */
export const TILE_WIDTH = 256;

const MAX_INDEX = Number.MAX_SAFE_INTEGER;
const Index = z.int().min(0).max(MAX_INDEX);
const B64U_RE = /^[A-Za-z0-9_-]*$/;

/** Canonical unpadded base64url of exactly `length` bytes. */
function b64u(length: number, what: string) {
  const chars = Math.ceil((length * 4) / 3);
  return z
    .string()
    .length(chars, `${what} must be ${length} bytes of unpadded base64url (${chars} characters)`)
    .regex(B64U_RE, `${what} must be unpadded base64url`)
    .describe(`${what}: ${length} bytes, unpadded base64url`);
}

const HashSchema = b64u(HASH_LENGTH, 'hash');
const ProofSchema = z.array(HashSchema).max(MAX_PROOF_HASHES);

/** The node document member `transparency` (docs/transparency.md §10.1). */
export const LogAdvertisementSchema = z.strictObject({
  version: z.literal(LOG_ADVERTISEMENT_VERSION),
  origin: z.string().min(1).max(VKEY_MAX_CHARS).describe('the log origin: node URL without scheme + /kt/<generation>'),
  log: z
    .string()
    .min(1)
    .max(VKEY_MAX_CHARS + 8)
    .describe('the log URL prefix: node URL + /kt/<generation>'),
  logKey: z.string().min(1).max(VKEY_MAX_CHARS).describe('the log key as a C2SP vkey (type 0x01), named origin'),
  vrfKey: b64u(VRF_PUBLIC_KEY_LENGTH, 'VRF public key'),
  importEnd: z.int().min(1).max(MAX_INDEX).describe('entries 1 to importEnd - 1 may be imports'),
  witnessKey: z.string().min(1).max(VKEY_MAX_CHARS).optional().describe('reserved: the witness key (type 0x04)'),
});
export type LogAdvertisement = z.infer<typeof LogAdvertisementSchema>;

/** The answer member `transparency` (docs/transparency.md §11.3). */
export const TransparencyMemberSchema = z
  .strictObject({
    log: LogAdvertisementSchema,
    kind: z.enum(['register', 'import']),
    index: z.int().min(1).max(MAX_INDEX),
    vrfProof: b64u(VRF_PROOF_LENGTH, 'VRF proof'),
    opening: b64u(32, 'opening'),
    registeredAt: Index.optional(),
    registrationProof: b64u(64, 'registration proof').optional(),
    checkpoint: z.string().min(1).max(NOTE_MAX_BYTES).describe('the latest checkpoint note (C2SP signed note)'),
    inclusion: ProofSchema.describe('PATH(index, size): the inclusion proof, lowest first'),
    consistency: z
      .strictObject({ from: z.int().min(1).max(MAX_INDEX), proof: ProofSchema })
      .optional()
      .describe('PROOF(from, size), from the size the request said it knows'),
  })
  .refine((m) => (m.registeredAt === undefined) === (m.registrationProof === undefined), {
    message: 'registeredAt and registrationProof are present together or not at all',
    path: ['registrationProof'],
  })
  .refine((m) => m.kind === 'import' || m.registrationProof !== undefined, {
    message: 'a register entry carries its registration proof',
    path: ['registrationProof'],
  });
export type TransparencyMember = z.infer<typeof TransparencyMemberSchema>;

/** `<node URL without scheme>/kt/<generation>`: a log's origin (docs/transparency.md §10). */
export function logOrigin(nodeUrl: string, generation: number): string {
  const origin = `${nodeUrl.replace(/^https?:\/\//, '')}/kt/${requireGeneration(generation)}`;
  if (!isValidKeyName(origin) || !/^https?:\/\//.test(nodeUrl)) {
    throw new KeyPearsError('invalid_argument', `${nodeUrl} gives no valid log origin`);
  }
  return origin;
}

/** `<node URL>/kt/<generation>`: the URL prefix of a log's routes. */
export const logUrl = (nodeUrl: string, generation: number): string => `${nodeUrl}/kt/${requireGeneration(generation)}`;

function requireGeneration(generation: number): number {
  if (!Number.isSafeInteger(generation) || generation < 1) {
    throw new KeyPearsError('invalid_argument', 'a log generation is an integer from 1');
  }
  return generation;
}

/** A parsed, checked advertisement: the log's identity (what is pinned) and where it is served. */
export interface AdvertisedLog {
  /** The member as published (what a relay passes on, and what is compared member for member). */
  advertisement: LogAdvertisement;
  identity: LogIdentity;
  generation: number;
  /** The log's URL prefix. */
  url: string;
}

/**
 * Parses a node document's `transparency` member for the node whose base URL is `nodeUrl`
 * (normalised, as the document's `node`): the shape, the origin and log URL derived from that
 * node, the log key named after the origin, a usable VRF key.
 *
 * @throws KeyPearsError `code` saying what is wrong.
 */
export function parseLogAdvertisement(
  value: unknown,
  nodeUrl: string,
  code: ErrorCode = 'node_document_invalid',
): AdvertisedLog {
  const fail = (why: string): never => {
    throw new KeyPearsError(code, `transparency member of ${nodeUrl}: ${why}`);
  };
  const parsed = LogAdvertisementSchema.safeParse(value);
  if (!parsed.success) return fail(parsed.error.issues.map((i) => `${i.path.join('.') || 'member'}: ${i.message}`)[0]);
  const advertisement = parsed.data;
  const match = /\/kt\/([1-9][0-9]{0,15})$/.exec(advertisement.log);
  const generation = match ? parseDecimal(match[1], 'generation', code) : fail('log must end in /kt/<generation>');
  let origin: string | undefined;
  try {
    origin = logOrigin(nodeUrl, generation);
  } catch {
    fail(`${nodeUrl} gives no valid log origin`);
  }
  if (advertisement.log !== logUrl(nodeUrl, generation)) fail(`log must be ${logUrl(nodeUrl, generation)}`);
  if (advertisement.origin !== origin) fail(`origin must be ${origin}`);
  let logKeyName: string | undefined;
  let logKeyType: number | undefined;
  try {
    ({ name: logKeyName, type: logKeyType } = parseVerifierKey(advertisement.logKey, 'logKey', code));
  } catch (e) {
    fail(isKeyPearsError(e) ? e.message : 'logKey is malformed');
  }
  if (logKeyType !== 0x01) fail('logKey must be of type 0x01 (Ed25519)');
  if (logKeyName !== origin) fail('logKey must be named after the origin');
  const vrfKey = decodeBytes(advertisement.vrfKey, VRF_PUBLIC_KEY_LENGTH, 'vrfKey', code);
  if (!isValidVrfPublicKey(vrfKey)) fail('vrfKey is not a usable VRF public key');
  if (advertisement.witnessKey !== undefined) {
    try {
      const witness = parseVerifierKey(advertisement.witnessKey, 'witnessKey', code);
      if (witness.type !== SIGNATURE_TYPE_COSIGNATURE_V1) fail('witnessKey must be of type 0x04');
    } catch (e) {
      if (isKeyPearsError(e) && e.code === code) throw e;
      fail('witnessKey is malformed');
    }
  }
  return {
    advertisement,
    identity: { origin: origin!, logKey: advertisement.logKey, vrfKey, importEnd: advertisement.importEnd },
    generation,
    url: advertisement.log,
  };
}

/** The node document member of a log (what the node publishes). */
export function formatLogAdvertisement(identity: LogIdentity, url: string): LogAdvertisement {
  return {
    version: LOG_ADVERTISEMENT_VERSION,
    origin: identity.origin,
    log: url,
    logKey: identity.logKey,
    vrfKey: toB64u(identity.vrfKey),
    importEnd: identity.importEnd,
  };
}

/** Two advertisements are the same when every member is (a relayed one against the document's). */
export function sameAdvertisement(a: LogAdvertisement, b: LogAdvertisement): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof LogAdvertisement>;
  return [...keys].every((k) => a[k] === b[k]);
}

/**
 * Parses `KeyPears-KT-Known` as a node receives it: absent (`undefined`: the requester did not
 * opt in), or one decimal size from 0 to 2^53 - 1.
 *
 * @throws KeyPearsError `invalid_request` for a malformed value or a repeated header.
 */
export function parseKnownHeader(value: string | readonly string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new KeyPearsError('invalid_request', `${KT_KNOWN_HEADER_NAME} must be given once`);
  }
  return parseDecimal(value, KT_KNOWN_HEADER_NAME, 'invalid_request');
}

/** The decoded answer member. */
export interface DecodedTransparency {
  log: AdvertisedLog;
  kind: 'register' | 'import';
  index: number;
  vrfProof: Uint8Array;
  opening: Uint8Array;
  registeredAt?: number;
  registrationProof?: Uint8Array;
  /** What `verifyLogAnswer` checks. */
  answer: LogAnswer;
}

/**
 * Parses an answer's `transparency` member for an address served by the node at `nodeUrl`:
 * its shape and limits, every byte string, and its `log` against that node (§10.1).
 *
 * @throws KeyPearsError `code` (default `kt_proof_invalid`) saying what is wrong.
 */
export function parseTransparencyMember(
  value: unknown,
  nodeUrl: string,
  code: ErrorCode = 'kt_proof_invalid',
): DecodedTransparency {
  const parsed = TransparencyMemberSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KeyPearsError(code, `transparency: ${issue.path.join('.') || 'member'}: ${issue.message}`);
  }
  const m = parsed.data;
  const hashes = (list: readonly string[], field: string) =>
    list.map((h, i) => decodeBytes(h, HASH_LENGTH, `${field}[${i}]`, code));
  const answer: LogAnswer = {
    checkpoint: m.checkpoint,
    inclusion: { index: m.index, proof: hashes(m.inclusion, 'inclusion') },
  };
  if (m.consistency) {
    answer.consistency = { from: m.consistency.from, proof: hashes(m.consistency.proof, 'consistency.proof') };
  }
  const decoded: DecodedTransparency = {
    log: parseLogAdvertisement(m.log, nodeUrl, code),
    kind: m.kind,
    index: m.index,
    vrfProof: decodeBytes(m.vrfProof, VRF_PROOF_LENGTH, 'vrfProof', code),
    opening: decodeBytes(m.opening, 32, 'opening', code),
    answer,
  };
  if (m.registrationProof !== undefined) {
    decoded.registeredAt = m.registeredAt;
    decoded.registrationProof = decodeBytes(m.registrationProof, 64, 'registrationProof', code);
  }
  return decoded;
}

/** The served identity an entry is rebuilt from (the decoded `PublicIdentity` or bundle members). */
export interface ServedIdentity {
  identityKey: Uint8Array;
  identityDhKey: { id: number; publicKey: Uint8Array; signature: Uint8Array };
}

/**
 * The record an entry commits to (§7.2), from the served identity and, when there is one, the
 * registration proof with its timestamp.
 */
export function servedRecord(
  nodeUrl: string,
  identity: ServedIdentity,
  proof: { registeredAt?: number; registrationProof?: Uint8Array },
): RegistrationRecord {
  const record: RegistrationRecord = {
    nodeBaseUrl: nodeUrl,
    identityKey: identity.identityKey,
    identityDhKey: identity.identityDhKey,
  };
  if (proof.registrationProof !== undefined && proof.registeredAt !== undefined) {
    record.registeredAt = proof.registeredAt;
    record.registrationProof = proof.registrationProof;
  }
  return record;
}

export interface VerifyTransparencyInput {
  /** The canonical address asked for. */
  address: string;
  /** The base URL of the node that serves the address (discovery's answer). */
  nodeUrl: string;
  identity: ServedIdentity;
  /** The answer's `transparency` member, as received (undefined when absent). */
  member: unknown;
  /** What the verifier stored for this log. */
  state?: LogState;
  /**
   * The log the serving node advertises, as the verifier learnt it itself (a node: from the
   * node document it fetched). Omitted by a client, which takes the member's `log`; when given,
   * the member's `log` must equal it.
   */
  advertised?: LogAdvertisement;
  /** The label already verified for this (log, address), to skip the VRF verification. */
  knownLabel?: Uint8Array;
}

/** Where the served identity sits in its log, on success. */
export interface VerifiedEntry {
  origin: string;
  index: number;
  kind: 'register' | 'import';
  label: Uint8Array;
  entry: Uint8Array;
  /** The log as the answer advertised it (what a client pins). */
  log: AdvertisedLog;
}

/** A verdict of `verifyTransparencyMember`: on success, also where the entry is. */
export type MemberVerdict =
  (Extract<KtVerdict, { ok: true }> & { entry: VerifiedEntry }) | Extract<KtVerdict, { ok: false }>;

/**
 * docs/transparency.md §11.3 steps 1 to 4: parses the member, checks the VRF proof, the
 * record's signatures, rebuilds the entry and runs the verification state machine. Never
 * throws for what a hostile node can send: every failure is a verdict. When the record or its
 * proof is wrong, the checkpoint is still checked against the stored state first, so that a
 * fork is reported as one whatever else the answer holds (§14).
 */
export function verifyTransparencyMember(input: VerifyTransparencyInput): MemberVerdict {
  const { address, nodeUrl, identity, member, state, advertised, knownLabel } = input;
  const failure = (code: 'kt_proof_invalid' | 'kt_proof_missing', message: string): MemberVerdict => ({
    ok: false,
    code,
    message,
    evidence: { storedCheckpoint: state?.checkpoint },
  });
  let advertisedLog: AdvertisedLog | undefined;
  if (advertised !== undefined) {
    try {
      advertisedLog = parseLogAdvertisement(advertised, nodeUrl, 'kt_proof_invalid');
    } catch (e) {
      if (isKeyPearsError(e)) return failure('kt_proof_invalid', e.message);
      throw e;
    }
  }
  if (member === undefined) {
    return verifyLogAnswer({ state, advertised: advertisedLog?.identity ?? state?.log }) as MemberVerdict;
  }
  let decoded: DecodedTransparency;
  try {
    decoded = parseTransparencyMember(member, nodeUrl);
  } catch (e) {
    if (isKeyPearsError(e)) return failure('kt_proof_invalid', e.message);
    throw e;
  }
  if (advertisedLog && !sameAdvertisement(decoded.log.advertisement, advertisedLog.advertisement)) {
    return failure('kt_proof_invalid', "the answer's log is not the one the node document advertises");
  }
  const log = advertisedLog ?? decoded.log;
  // The pin comes first (§8 step 1): a label under another VRF key than the pinned one proves nothing.
  if (state && !sameLogIdentity(state.log, log.identity)) {
    return verifyLogAnswer({ state, advertised: log.identity }) as MemberVerdict;
  }
  /** The record's own failure, unless the checkpoint already fails against the stored state. */
  const recordFailure = (message: string): MemberVerdict => {
    const head = verifyLogAnswer({ state, advertised: log.identity, answer: decoded.answer });
    if (!head.ok) return head;
    const evidence = { storedCheckpoint: state?.checkpoint, answeredCheckpoint: decoded.answer.checkpoint };
    return { ok: false, code: 'kt_proof_invalid', message, evidence };
  };
  const label = knownLabel ?? verifyLabel(log.identity.vrfKey, address, decoded.vrfProof);
  if (!label) return recordFailure(`the VRF proof does not verify for ${address}`);
  const record = servedRecord(nodeUrl, identity, decoded);
  let entry: Uint8Array;
  try {
    checkRegistrationRecord(decoded.kind, address, record);
    entry = registrationEntry({ kind: decoded.kind, address, label, opening: decoded.opening, record });
  } catch (e) {
    if (isKeyPearsError(e)) return recordFailure(e.message);
    throw e;
  }
  const verdict = verifyLogAnswer({ state, advertised: log.identity, answer: decoded.answer, entry });
  if (!verdict.ok) return verdict;
  const { kind, index } = decoded;
  return { ...verdict, entry: { origin: log.identity.origin, index, kind, label, entry, log } };
}

/** The label of `address` in a log, when `vrfProof` is that log's proof for it. */
export function labelOf(log: LogIdentity, address: string, vrfProof: Uint8Array): Uint8Array | undefined {
  return verifyLabel(log.vrfKey, address, vrfProof);
}

/** The path of tile `tile` (`<N>` of docs/transparency.md §11.1): `000`, `x001/x234/067`. */
export function formatTileIndex(tile: number): string {
  if (!Number.isSafeInteger(tile) || tile < 0) throw new KeyPearsError('invalid_argument', 'tile index out of range');
  let digits = String(tile);
  digits = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups = digits.match(/.{3}/g)!;
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/**
 * Parses the part of a tile path after `tile/entries/`: `<N>` or `<N>.p/<W>`.
 *
 * @returns the tile index and width (256 for a full tile), or undefined for any other spelling.
 */
export function parseEntryTilePath(path: string): { tile: number; width: number } | undefined {
  const match = /^((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(path);
  if (!match) return undefined;
  const digits = (match[1] + match[2]).replace(/[x/]/g, '');
  if (digits.length > 15) return undefined;
  const tile = Number(digits);
  const width = match[3] === undefined ? TILE_WIDTH : Number(match[3]);
  if ((match[3] !== undefined && width >= TILE_WIDTH) || formatTileIndex(tile) !== match[1] + match[2])
    return undefined;
  return { tile, width };
}

/** An entry bundle: `u16be(length) || entry` for each entry. */
export function formatEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(entries.reduce((n, e) => n + 2 + e.length, 0));
  let at = 0;
  for (const entry of entries) {
    if (entry.length > 0xffff) throw new KeyPearsError('invalid_argument', 'an entry is at most 65535 bytes');
    out[at] = entry.length >> 8;
    out[at + 1] = entry.length & 0xff;
    out.set(entry, at + 2);
    at += 2 + entry.length;
  }
  return out;
}

/**
 * Parses an entry bundle of exactly `width` entries.
 *
 * @throws KeyPearsError `code` when it is truncated, too long, or holds another number of entries.
 */
export function parseEntryBundle(bytes: Uint8Array, width: number, code: ErrorCode = 'kt_proof_invalid'): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length && entries.length < width) {
    if (at + 2 > bytes.length) break;
    const length = (bytes[at] << 8) | bytes[at + 1];
    if (at + 2 + length > bytes.length) break;
    entries.push(bytes.slice(at + 2, at + 2 + length));
    at += 2 + length;
  }
  if (entries.length !== width || at !== bytes.length) {
    throw new KeyPearsError(code, `an entry bundle of ${width} entries was expected`);
  }
  return entries;
}

function decodeBytes(text: string, length: number, field: string, code: ErrorCode): Uint8Array {
  return fromB64uSized(text, length, field, code);
}

/** A query integer of the log's routes: decimal, no sign or leading zeros, 0 to 2^53 - 1. */
const QueryIndex = z
  .string()
  .regex(/^(?:0|[1-9][0-9]{0,15})$/, 'must be a decimal integer without sign or leading zeros')
  .transform(Number)
  .refine(Number.isSafeInteger, 'must be at most 2^53 - 1');

/** `GET <log>/proof/inclusion?index=&size=` (docs/transparency.md §11.1). */
export const InclusionQuerySchema = z.strictObject({ index: QueryIndex, size: QueryIndex });
/** `GET <log>/proof/consistency?from=&to=`. */
export const ConsistencyQuerySchema = z.strictObject({ from: QueryIndex, to: QueryIndex });

/** The answer of `GET <log>/proof/inclusion`: PATH(index, D[size]). */
export const InclusionProofResponseSchema = z.strictObject({ index: Index, size: Index, proof: ProofSchema });
export type InclusionProofResponse = z.infer<typeof InclusionProofResponseSchema>;
/** The answer of `GET <log>/proof/consistency`: PROOF(from, D[to]). */
export const ConsistencyProofResponseSchema = z.strictObject({ from: Index, to: Index, proof: ProofSchema });
export type ConsistencyProofResponse = z.infer<typeof ConsistencyProofResponseSchema>;

/** An answer object with the member a requester asked for with `KeyPears-KT-Known` (§11.2). */
export type WithTransparency<T> = T & { transparency?: TransparencyMember };

/** A `PublicIdentity` as a node answers it: with `transparency` when the request asked for it. */
export const PublicIdentityAnswerSchema = PublicIdentitySchema.extend({
  transparency: TransparencyMemberSchema.optional(),
});
/** A `PrekeyBundle` as a node answers it: with `transparency` when the request asked for it. */
export const PrekeyBundleAnswerSchema = PrekeyBundleSchema.safeExtend({
  transparency: TransparencyMemberSchema.optional(),
});
/** A `RegistrationResponse` with the new entry's member when the request asked for it. */
export const RegistrationAnswerSchema = RegistrationResponseSchema.extend({
  transparency: TransparencyMemberSchema.optional(),
});
