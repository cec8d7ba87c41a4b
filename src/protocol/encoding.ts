/**
 * Byte encodings used on the wire. Every decoder is strict: it refuses anything that a
 * canonical encoder would not have produced, so one value has exactly one encoding.
 */
import { KeyPearsError, type ErrorCode } from './errors.js';

const HEX_RE = /^(?:[0-9a-f]{2})*$/;
const B64U_RE = /^[A-Za-z0-9_-]*$/;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Lower-case hex only; `field` names the input in the error message. A value that does not
 * decode is `invalid_request`, as any other member failing its schema (docs/errors.md).
 */
export function fromHex(hex: string, field = 'value', code: ErrorCode = 'invalid_request'): Uint8Array {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) {
    throw new KeyPearsError(code, `${field} must be lower-case hexadecimal`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** base64url without padding (RFC 4648 §5). */
export function toB64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

export function fromB64u(text: string, field = 'value', code: ErrorCode = 'invalid_request'): Uint8Array {
  if (typeof text !== 'string' || !B64U_RE.test(text) || text.length % 4 === 1) {
    throw new KeyPearsError(code, `${field} must be unpadded base64url`);
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  if (toB64u(bytes) !== text) {
    throw new KeyPearsError(code, `${field} is not canonical base64url`);
  }
  return bytes;
}

/** Decodes base64url and checks the length, for fixed-size keys and signatures. */
export function fromB64uSized(
  text: string,
  length: number,
  field: string,
  code: ErrorCode = 'invalid_key',
): Uint8Array {
  const bytes = fromB64u(text, field, code);
  if (bytes.length !== length) {
    throw new KeyPearsError(code, `${field} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Length-prefixed concatenation: each part as a 4-byte big-endian length followed by its
 * bytes (strings as UTF-8). Used for every signed or hashed transcript so that no two
 * different lists of fields encode to the same bytes.
 */
export function lengthPrefixed(...parts: Array<Uint8Array | string>): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    const bytes = typeof part === 'string' ? utf8(part) : part;
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, bytes.length, false);
    chunks.push(len, bytes);
  }
  return concatBytes(...chunks);
}

/** Constant-time comparison of two byte strings. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
