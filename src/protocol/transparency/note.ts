/**
 * C2SP signed-note (docs/transparency.md §4): text, a blank line, then signature lines
 * `— <name> base64(keyID || signature)`; verifier keys `name+hexID+base64(type || key)`.
 *
 * Parsing is strict and bounded, because notes arrive from other nodes: valid UTF-8 (well-formed
 * strings), no control character but newline, at most NOTE_MAX_BYTES and NOTE_MAX_SIGNATURES,
 * canonical base64. Opening a note ignores signatures by unknown keys, rejects the note when a
 * known key's signature fails, and requires at least one known key's signature to verify.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import {
  ED25519_PUBLIC_KEY_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  isValidEd25519PublicKey,
} from '../crypto.js';
import { concatBytes, utf8 } from '../encoding.js';
import { KeyPearsError, type ErrorCode } from '../errors.js';
import { fromBase64, hex32, toBase64 } from './text.js';

/** Notes larger than this (UTF-8 bytes) are refused: 32 Ed25519 lines and a long text fit easily. */
export const NOTE_MAX_BYTES = 16 * 1024;
/** More signature lines than this are refused (C2SP asks verifiers to accept at least 16). */
export const NOTE_MAX_SIGNATURES = 32;
/** A verifier key longer than this is refused. */
const VKEY_MAX_LENGTH = 1024;

/** Signature type bytes (C2SP signed-note). */
export const SIGNATURE_TYPE_ED25519 = 0x01;
export const SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04;

/** The code a failing note is reported with unless the caller names another. */
const DEFAULT_CODE: ErrorCode = 'kt_proof_invalid';

const SIGNATURE_PREFIX = '\u2014 ';
// Unicode White_Space is exactly the set Go's unicode.IsSpace, which the reference note code uses, refuses.
const BAD_NAME_RE = /[\p{White_Space}+\p{Cc}\p{Cs}]/u;
const LONE_SURROGATE_RE = /\p{Cs}/u;
const HEX32_RE = /^[0-9a-f]{8}$/;

export interface NoteSignature {
  name: string;
  /** The key ID, a uint32. */
  keyId: number;
  /** The signature bytes after the key ID. */
  signature: Uint8Array;
  /** The line as it appears in the note, without its newline. */
  line: string;
}

export interface ParsedNote {
  /** The signed text, ending in a newline. */
  text: string;
  signatures: NoteSignature[];
}

/** A key that can check one kind of signature line. */
export interface NoteVerifier {
  name: string;
  keyId: number;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

/** A key that can sign a note text. */
export interface NoteSigner {
  name: string;
  keyId: number;
  sign(text: Uint8Array): Uint8Array;
}

/** A parsed verifier key. */
export interface VerifierKey {
  name: string;
  keyId: number;
  type: number;
  publicKey: Uint8Array;
}

/** ASCII control characters other than newline, which notes may not hold. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

const malformed = (code: ErrorCode, why: string): KeyPearsError =>
  new KeyPearsError(code, `signed note is malformed: ${why}`, { reason: 'malformed' });

/** Key names: non-empty, no Unicode space, no `+`, no control character. */
export const isValidKeyName = (name: unknown): name is string =>
  typeof name === 'string' && name.length > 0 && !BAD_NAME_RE.test(name);

/** SHA-256(name || 0x0A || type || publicKey)[:4] as a big-endian uint32. */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): number {
  const hash = sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, type), publicKey));
  return new DataView(hash.buffer, hash.byteOffset, 4).getUint32(0, false);
}

/**
 * The text of a note must end in a newline and hold no control character but newlines; its
 * signatures follow the last blank line, so a text may itself contain blank lines.
 *
 * @throws KeyPearsError `code` (details.reason `malformed`).
 */
export function parseNote(note: string, code: ErrorCode = DEFAULT_CODE): ParsedNote {
  if (typeof note !== 'string') throw malformed(code, 'not a string');
  if (note.length > NOTE_MAX_BYTES || utf8(note).length > NOTE_MAX_BYTES) {
    throw malformed(code, `larger than ${NOTE_MAX_BYTES} bytes`);
  }
  if (LONE_SURROGATE_RE.test(note)) throw malformed(code, 'not valid UTF-8');
  if (hasControlCharacter(note)) throw malformed(code, 'contains a control character');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw malformed(code, 'no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw malformed(code, 'the signature lines must end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > NOTE_MAX_SIGNATURES) throw malformed(code, `more than ${NOTE_MAX_SIGNATURES} signatures`);
  return { text, signatures: lines.map((line) => parseSignatureLine(line, code)) };
}

function parseSignatureLine(line: string, code: ErrorCode): NoteSignature {
  if (!line.startsWith(SIGNATURE_PREFIX)) throw malformed(code, 'a signature line must start with an em dash');
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? '' : rest.slice(0, space);
  const encoded = space < 0 ? '' : rest.slice(space + 1);
  if (!isValidKeyName(name)) throw malformed(code, 'bad key name in a signature line');
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(encoded, `signature of ${name}`, code);
  } catch (e) {
    throw malformed(code, (e as Error).message);
  }
  if (bytes.length < 5) throw malformed(code, `signature of ${name} is too short`);
  const keyId = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
  return { name, keyId, signature: bytes.subarray(4), line };
}

/** One signature line, without its newline. */
export function formatSignatureLine(name: string, keyId: number, signature: Uint8Array): string {
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, keyId, false);
  return `${SIGNATURE_PREFIX}${name} ${toBase64(concatBytes(id, signature))}`;
}

/** Checks a text can be signed: non-empty, ending in a newline, no control character but newlines. */
function requireNoteText(text: string): void {
  if (
    typeof text !== 'string' ||
    !text.endsWith('\n') ||
    hasControlCharacter(text) ||
    LONE_SURROGATE_RE.test(text) ||
    utf8(text).length > NOTE_MAX_BYTES
  ) {
    throw new KeyPearsError('invalid_argument', 'a note text must end in a newline and hold no control character');
  }
}

/** The note: the text, a blank line, then one line per signer. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  requireNoteText(text);
  const bytes = utf8(text);
  const lines = signers.map((s) => formatSignatureLine(s.name, s.keyId, s.sign(bytes)));
  return `${text}\n${lines.map((l) => `${l}\n`).join('')}`;
}

/** The same note with more signature lines appended (for instance a witness's cosignature). */
export function addSignatureLines(note: string, lines: readonly string[], code: ErrorCode = DEFAULT_CODE): string {
  parseNote(note, code);
  const result = `${note}${lines.map((l) => `${l}\n`).join('')}`;
  parseNote(result, code);
  return result;
}

export interface OpenedNote {
  text: string;
  /** Signatures by the given verifiers, each verified. */
  verified: NoteSignature[];
  /** Signatures by keys the caller did not give, not checked. */
  unknown: NoteSignature[];
}

/**
 * Parses a note and checks it against known keys: a signature whose name and key ID match a
 * verifier must verify, signatures by other keys are ignored, and at least one must verify.
 *
 * @throws KeyPearsError `code`, with details.reason `malformed`, `bad_signature` (a known key's
 *   signature fails) or `unverified` (no known key signed); `invalid_argument` when two
 *   verifiers share a name and key ID.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[], code: ErrorCode = DEFAULT_CODE): OpenedNote {
  const parsed = parseNote(note, code);
  const byKey = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const key = `${v.name}+${hex32(v.keyId)}`;
    if (byKey.has(key)) throw new KeyPearsError('invalid_argument', `two verifiers for ${key}`);
    byKey.set(key, v);
  }
  const text = utf8(parsed.text);
  const verified: NoteSignature[] = [];
  const unknown: NoteSignature[] = [];
  const checked = new Set<string>();
  for (const sig of parsed.signatures) {
    const verifier = byKey.get(`${sig.name}+${hex32(sig.keyId)}`);
    if (!verifier) {
      unknown.push(sig);
      continue;
    }
    // Identical lines give identical answers: verify each once, keep each once.
    if (checked.has(sig.line)) continue;
    checked.add(sig.line);
    if (!verifier.verify(text, sig.signature)) {
      throw new KeyPearsError(code, `the signature of ${sig.name}+${hex32(sig.keyId)} does not verify`, {
        reason: 'bad_signature',
        key: sig.name,
      });
    }
    verified.push(sig);
  }
  if (verified.length === 0) {
    throw new KeyPearsError(code, 'the note carries no signature by a known key', { reason: 'unverified' });
  }
  return { text: parsed.text, verified, unknown };
}

/**
 * Parses a verifier key, splitting only at the first two `+` (base64 contains `+`), and checks
 * its key ID. Only Ed25519 keys are accepted: type 0x01 (note signatures) and 0x04
 * (cosignature/v1), each a valid 32-byte point.
 *
 * @throws KeyPearsError `code`, naming `field`.
 */
export function parseVerifierKey(vkey: string, field = 'verifier key', code: ErrorCode = DEFAULT_CODE): VerifierKey {
  const cached = typeof vkey === 'string' ? parsedKeys.get(vkey) : undefined;
  if (cached) return { ...cached, publicKey: cached.publicKey.slice() };
  const parsed = parseVerifierKeyUncached(vkey, field, code);
  if (parsedKeys.size >= PARSED_KEYS_MAX) parsedKeys.delete(parsedKeys.keys().next().value!);
  parsedKeys.set(vkey, { ...parsed, publicKey: parsed.publicKey.slice() });
  return parsed;
}

/**
 * Keys parsed before, by their text: checking the point costs more than the signature a
 * verifier checks with it, and a node or client meets the same few log and witness keys on
 * every lookup. Only keys that parsed are kept; the oldest goes when full.
 */
const parsedKeys = new Map<string, VerifierKey>();
const PARSED_KEYS_MAX = 1024;

function parseVerifierKeyUncached(vkey: string, field: string, code: ErrorCode): VerifierKey {
  if (typeof vkey !== 'string' || vkey.length > VKEY_MAX_LENGTH) throw new KeyPearsError(code, `${field} is malformed`);
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw new KeyPearsError(code, `${field} must be name+hexid+base64key`);
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  if (!isValidKeyName(name)) throw new KeyPearsError(code, `${field} has a bad key name`);
  if (!HEX32_RE.test(idHex)) throw new KeyPearsError(code, `${field} key ID must be 8 lower-case hex digits`);
  const material = fromBase64(vkey.slice(second + 1), `${field} key`, code);
  const [type, publicKey] = [material[0], material.subarray(1)];
  if (
    (type !== SIGNATURE_TYPE_ED25519 && type !== SIGNATURE_TYPE_COSIGNATURE_V1) ||
    publicKey.length !== ED25519_PUBLIC_KEY_LENGTH ||
    !isValidEd25519PublicKey(publicKey)
  ) {
    throw new KeyPearsError(code, `${field} must be an Ed25519 key of type 0x01 or 0x04`);
  }
  const keyId = Number.parseInt(idHex, 16);
  if (keyId !== noteKeyId(name, type, publicKey))
    throw new KeyPearsError(code, `${field} key ID does not match its key`);
  return { name, keyId, type, publicKey };
}

/** The verifier key of an Ed25519 public key for a name and signature type. */
export function formatVerifierKey(name: string, type: number, publicKey: Uint8Array): string {
  if (!isValidKeyName(name))
    throw new KeyPearsError('invalid_argument', 'key name must be non-empty, without spaces or +');
  return `${name}+${hex32(noteKeyId(name, type, publicKey))}+${toBase64(concatBytes(Uint8Array.of(type), publicKey))}`;
}

/** A verifier for Ed25519 note signatures (type 0x01). */
export function ed25519NoteVerifier(vkey: string, code: ErrorCode = DEFAULT_CODE): NoteVerifier {
  const key = parseVerifierKey(vkey, 'log key', code);
  if (key.type !== SIGNATURE_TYPE_ED25519) throw new KeyPearsError(code, 'log key must be of type 0x01 (Ed25519)');
  return {
    name: key.name,
    keyId: key.keyId,
    verify: (text, signature) =>
      signature.length === ED25519_SIGNATURE_LENGTH && ed25519Verify(signature, text, key.publicKey),
  };
}

/** A signer of Ed25519 note signatures (type 0x01) from a 32-byte seed. */
export function ed25519NoteSigner(name: string, secretKey: Uint8Array): NoteSigner {
  const publicKey = ed25519PublicKey(secretKey);
  if (!isValidKeyName(name))
    throw new KeyPearsError('invalid_argument', 'key name must be non-empty, without spaces or +');
  return {
    name,
    keyId: noteKeyId(name, SIGNATURE_TYPE_ED25519, publicKey),
    sign: (text) => ed25519Sign(text, secretKey),
  };
}
