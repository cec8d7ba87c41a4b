/**
 * The C2SP formats around a log's signed tree head (docs/transparency.md §5):
 *
 * - tlog-checkpoint: the note text `origin\nsize\nbase64(root)\n`, here without extension lines;
 * - tlog-cosignature v1: a witness's timestamped Ed25519 signature (type 0x04) over
 *   `cosignature/v1\ntime <T>\n` followed by the checkpoint text;
 * - tlog-proof: the offline evidence that an entry is in a log (index, inclusion proof,
 *   checkpoint, optional extra data);
 * - tlog-witness add-checkpoint request bodies (old size, consistency proof, checkpoint).
 */
import { ED25519_SIGNATURE_LENGTH, ed25519PublicKey, ed25519Sign, ed25519Verify } from '../crypto.js';
import { concatBytes, utf8 } from '../encoding.js';
import { KeyPearsError, type ErrorCode } from '../errors.js';
import { EMPTY_ROOT, HASH_LENGTH, MAX_PROOF_HASHES } from './merkle.js';
import {
  ed25519NoteVerifier,
  formatSignatureLine,
  isValidKeyName,
  type NoteSignature,
  type NoteVerifier,
  noteKeyId,
  openNote,
  type OpenedNote,
  parseNote,
  parseVerifierKey,
  SIGNATURE_TYPE_COSIGNATURE_V1,
} from './note.js';
import { fromBase64, fromBase64Sized, isIndex, parseDecimal, readU64, toBase64, u64 } from './text.js';

const DEFAULT_CODE: ErrorCode = 'kt_proof_invalid';

/** A log's tree head. */
export interface Checkpoint {
  /** The log's identity, also its key name: no spaces, no `+`. */
  origin: string;
  size: number;
  root: Uint8Array;
}

/** `origin\nsize\nbase64(root)\n`: the text a log signs. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, root } = checkpoint;
  if (!isValidKeyName(origin))
    throw new KeyPearsError('invalid_argument', 'origin must be non-empty, without spaces or +');
  if (!isIndex(size)) throw new KeyPearsError('invalid_argument', 'size must be an integer from 0 to 2^53 - 1');
  if (!(root instanceof Uint8Array) || root.length !== HASH_LENGTH) {
    throw new KeyPearsError('invalid_argument', `root must be ${HASH_LENGTH} bytes`);
  }
  return `${origin}\n${size}\n${toBase64(root)}\n`;
}

/**
 * Parses a checkpoint text: exactly three lines, no extension lines (KeyPears logs write none,
 * and a witness asserts nothing about them).
 *
 * @throws KeyPearsError `code`.
 */
export function parseCheckpoint(text: string, code: ErrorCode = DEFAULT_CODE): Checkpoint {
  const lines = typeof text === 'string' && text.endsWith('\n') ? text.slice(0, -1).split('\n') : [];
  if (lines.length !== 3) throw new KeyPearsError(code, 'a checkpoint is three lines: origin, size, root');
  const [origin, sizeText, rootText] = lines;
  if (!isValidKeyName(origin))
    throw new KeyPearsError(code, 'checkpoint origin must be non-empty, without spaces or +');
  const size = parseDecimal(sizeText, 'checkpoint size', code);
  const root = fromBase64Sized(rootText, HASH_LENGTH, 'checkpoint root', code);
  return { origin, size, root };
}

/** A checkpoint note whose log signature verified. */
export interface OpenedCheckpoint {
  checkpoint: Checkpoint;
  note: OpenedNote;
}

/**
 * Opens a checkpoint note signed by the log key `logKey` (a vkey whose name is the origin), and
 * checks any further known keys' signatures (for instance witnesses') on the way.
 *
 * @throws KeyPearsError `code` when the note is malformed, the log's signature is absent or
 *   fails, a given verifier's signature fails, or the origin is not the log key's name.
 */
export function openCheckpoint(
  note: string,
  logKey: string,
  others: readonly NoteVerifier[] = [],
  code: ErrorCode = DEFAULT_CODE,
): OpenedCheckpoint {
  const log = ed25519NoteVerifier(logKey, code);
  const opened = openNote(note, [log, ...others], code);
  if (!opened.verified.some((s) => s.name === log.name && s.keyId === log.keyId)) {
    throw new KeyPearsError(code, `the checkpoint is not signed by ${log.name}`, { reason: 'unverified' });
  }
  const checkpoint = parseCheckpoint(opened.text, code);
  if (checkpoint.origin !== log.name) {
    throw new KeyPearsError(code, `the checkpoint is for ${checkpoint.origin}, not ${log.name}`);
  }
  if (checkpoint.size === 0 && !equalRoot(checkpoint.root, EMPTY_ROOT)) {
    throw new KeyPearsError(code, 'an empty checkpoint must carry the empty tree root');
  }
  return { checkpoint, note: opened };
}

const equalRoot = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

// --- tlog-cosignature v1 ---------------------------------------------------------------

/** The message a cosigner signs: `cosignature/v1\ntime <T>\n` then the checkpoint text. */
export function cosignatureMessage(checkpointText: string, time: number): Uint8Array {
  if (!isIndex(time)) throw new KeyPearsError('invalid_argument', 'time must be an integer from 0 to 2^53 - 1');
  return utf8(`cosignature/v1\ntime ${time}\n${checkpointText}`);
}

/** A witness key: its name (a schema-less URL) and Ed25519 seed. */
export interface CosignerKey {
  name: string;
  secretKey: Uint8Array;
}

/** The cosignature line a witness adds to a checkpoint at `time` (Unix seconds). */
export function cosignCheckpoint(checkpointText: string, witness: CosignerKey, time: number): string {
  parseCheckpoint(checkpointText, 'invalid_argument');
  const publicKey = ed25519PublicKey(witness.secretKey);
  const signature = ed25519Sign(cosignatureMessage(checkpointText, time), witness.secretKey);
  return formatSignatureLine(
    witness.name,
    noteKeyId(witness.name, SIGNATURE_TYPE_COSIGNATURE_V1, publicKey),
    concatBytes(u64(time), signature),
  );
}

/** A verifier of a witness's cosignatures, from its vkey (type 0x04). */
export function cosignatureVerifier(vkey: string, code: ErrorCode = DEFAULT_CODE): NoteVerifier {
  const key = parseVerifierKey(vkey, 'witness key', code);
  if (key.type !== SIGNATURE_TYPE_COSIGNATURE_V1) throw new KeyPearsError(code, 'witness key must be of type 0x04');
  return {
    name: key.name,
    keyId: key.keyId,
    verify(text, signature) {
      const time = cosignatureTime(signature);
      return (
        time !== undefined &&
        ed25519Verify(signature.subarray(8), concatBytes(cosignatureMessage('', time), text), key.publicKey)
      );
    },
  };
}

/** The timestamp of a cosignature's bytes (after the key ID), or undefined if they are not one. */
export function cosignatureTime(signature: Uint8Array): number | undefined {
  if (!(signature instanceof Uint8Array) || signature.length !== 8 + ED25519_SIGNATURE_LENGTH) return undefined;
  return readU64(signature, 0);
}

/** The verified cosignature of one witness on an opened checkpoint, with its time. */
export function witnessCosignature(opened: OpenedCheckpoint, witness: NoteVerifier): { time: number } | undefined {
  const line = opened.note.verified.find((s: NoteSignature) => s.name === witness.name && s.keyId === witness.keyId);
  const time = line && cosignatureTime(line.signature);
  return time === undefined ? undefined : { time };
}

// --- tlog-proof ------------------------------------------------------------------------

const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

/** Offline evidence that the entry at `index` is in the log of a checkpoint. */
export interface TlogProof {
  /** Opaque data for the verifier (KeyPears puts the entry itself here). */
  extra?: Uint8Array;
  index: number;
  inclusion: Uint8Array[];
  /** The checkpoint note, verbatim, with whatever signatures it carries. */
  checkpoint: string;
}

export function formatTlogProof(proof: TlogProof): string {
  const { extra, index, inclusion, checkpoint } = proof;
  if (!isIndex(index)) throw new KeyPearsError('invalid_argument', 'index must be an integer from 0 to 2^53 - 1');
  parseNote(checkpoint, 'invalid_argument');
  const lines = [TLOG_PROOF_HEADER];
  if (extra !== undefined) lines.push(`extra ${toBase64(extra)}`);
  lines.push(`index ${index}`, ...hashLines(inclusion), '');
  return `${lines.join('\n')}\n${checkpoint}`;
}

/**
 * Parses a tlog-proof strictly. The checkpoint is returned unopened: the verifier opens it with
 * the log's key and checks the inclusion proof against the entry it rebuilds (or the extra data).
 *
 * @throws KeyPearsError `code`.
 */
export function parseTlogProof(text: string, code: ErrorCode = DEFAULT_CODE): TlogProof {
  if (typeof text !== 'string') throw new KeyPearsError(code, 'a tlog-proof is text');
  const blank = text.indexOf('\n\n');
  if (blank < 0) throw new KeyPearsError(code, 'a tlog-proof needs a blank line before its checkpoint');
  const head = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  parseNote(checkpoint, code);
  if (head.shift() !== TLOG_PROOF_HEADER)
    throw new KeyPearsError(code, `a tlog-proof starts with ${TLOG_PROOF_HEADER}`);
  let extra: Uint8Array | undefined;
  if (head[0]?.startsWith('extra ')) extra = fromBase64(head.shift()!.slice(6), 'tlog-proof extra', code);
  const indexLine = head.shift();
  if (!indexLine?.startsWith('index ')) throw new KeyPearsError(code, 'a tlog-proof names the entry index');
  const index = parseDecimal(indexLine.slice(6), 'tlog-proof index', code);
  return {
    ...(extra ? { extra } : {}),
    index,
    inclusion: parseHashLines(head, 'tlog-proof inclusion proof', code),
    checkpoint,
  };
}

// --- tlog-witness add-checkpoint -------------------------------------------------------

/** The body a log sends a witness: the size the witness last cosigned, a consistency proof from it, the checkpoint. */
export interface AddCheckpointRequest {
  oldSize: number;
  proof: Uint8Array[];
  checkpoint: string;
}

export function formatAddCheckpoint(request: AddCheckpointRequest): string {
  const { oldSize, proof, checkpoint } = request;
  if (!isIndex(oldSize)) throw new KeyPearsError('invalid_argument', 'oldSize must be an integer from 0 to 2^53 - 1');
  parseNote(checkpoint, 'invalid_argument');
  return [`old ${oldSize}`, ...hashLines(proof), '', checkpoint].join('\n');
}

/** @throws KeyPearsError `code` (a witness answers a malformed body with 400). */
export function parseAddCheckpoint(text: string, code: ErrorCode = 'invalid_request'): AddCheckpointRequest {
  const blank = typeof text === 'string' ? text.indexOf('\n\n') : -1;
  if (blank < 0) throw new KeyPearsError(code, 'an add-checkpoint body needs a blank line before its checkpoint');
  const head = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  parseNote(checkpoint, code);
  const oldLine = head.shift()!;
  if (!oldLine.startsWith('old ')) throw new KeyPearsError(code, 'an add-checkpoint body starts with the old size');
  const oldSize = parseDecimal(oldLine.slice(4), 'old size', code);
  return { oldSize, proof: parseHashLines(head, 'consistency proof', code), checkpoint };
}

function hashLines(hashes: readonly Uint8Array[]): string[] {
  if (!Array.isArray(hashes) || hashes.length > MAX_PROOF_HASHES) {
    throw new KeyPearsError('invalid_argument', `a proof has at most ${MAX_PROOF_HASHES} hashes`);
  }
  return hashes.map((h) => {
    if (!(h instanceof Uint8Array) || h.length !== HASH_LENGTH) {
      throw new KeyPearsError('invalid_argument', `proof hashes are ${HASH_LENGTH} bytes`);
    }
    return toBase64(h);
  });
}

function parseHashLines(lines: readonly string[], field: string, code: ErrorCode): Uint8Array[] {
  if (lines.length > MAX_PROOF_HASHES)
    throw new KeyPearsError(code, `${field} has more than ${MAX_PROOF_HASHES} hashes`);
  return lines.map((line, i) => fromBase64Sized(line, HASH_LENGTH, `${field} line ${i + 1}`, code));
}
