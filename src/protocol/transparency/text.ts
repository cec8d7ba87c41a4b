/**
 * The text encodings of the transparency formats (docs/transparency.md §1): standard base64
 * with padding (RFC 4648 §4, as C2SP uses it), decimal integers, big-endian u64 and strict
 * UTF-8. Written without Buffer so that the transparency core also runs in a browser; every
 * decoder refuses what a canonical encoder would not have produced.
 */
import { KeyPearsError, type ErrorCode } from '../errors.js';

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DECIMAL_RE = /^(?:0|[1-9][0-9]{0,15})$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // Chunks keep String.fromCharCode's argument list short for large inputs.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Decodes canonical standard base64 (padding required, unused bits zero).
 *
 * @throws KeyPearsError `code`, naming `field`.
 */
export function fromBase64(text: string, field: string, code: ErrorCode): Uint8Array {
  if (typeof text !== 'string' || !BASE64_RE.test(text)) {
    throw new KeyPearsError(code, `${field} must be standard base64 with padding`);
  }
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  if (toBase64(bytes) !== text) throw new KeyPearsError(code, `${field} is not canonical base64`);
  return bytes;
}

/** Like fromBase64, and checks the decoded length. */
export function fromBase64Sized(text: string, length: number, field: string, code: ErrorCode): Uint8Array {
  const bytes = fromBase64(text, field, code);
  if (bytes.length !== length) throw new KeyPearsError(code, `${field} must be ${length} bytes, got ${bytes.length}`);
  return bytes;
}

/**
 * A non-negative decimal integer without sign or leading zeros, at most 2^53 - 1 (sizes,
 * indexes and times are JavaScript safe integers).
 *
 * @throws KeyPearsError `code`, naming `field`.
 */
export function parseDecimal(text: string, field: string, code: ErrorCode): number {
  const value = DECIMAL_RE.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new KeyPearsError(code, `${field} must be a decimal integer from 0 to 2^53 - 1 without leading zeros`);
  }
  return value;
}

/** True for an integer from 0 to 2^53 - 1. */
export const isIndex = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** @throws KeyPearsError `invalid_argument` unless `value` is an integer from 0 to 2^53 - 1. */
export function requireIndex(value: unknown, field: string): number {
  if (!isIndex(value)) throw new KeyPearsError('invalid_argument', `${field} must be an integer from 0 to 2^53 - 1`);
  return value;
}

/** 8 bytes, big-endian. */
export function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(requireIndex(value, 'u64 value')), false);
  return out;
}

/** Reads a big-endian u64 that must be a safe integer; undefined when it is larger. */
export function readU64(bytes: Uint8Array, offset: number): number | undefined {
  const value = new DataView(bytes.buffer, bytes.byteOffset + offset, 8).getBigUint64(0, false);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}

/** Decodes UTF-8, refusing invalid sequences (a byte-order mark is kept as a character). */
export function decodeUtf8(bytes: Uint8Array, field: string, code: ErrorCode): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new KeyPearsError(code, `${field} is not valid UTF-8`);
  }
}

/** Lower-case hex of a uint32, 8 digits. */
export const hex32 = (value: number): string => value.toString(16).padStart(8, '0');
