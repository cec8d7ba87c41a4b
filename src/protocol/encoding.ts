/**
 * Byte encodings used on the wire. Every decoder is strict: it refuses anything that a
 * canonical encoder would not have produced, so one value has exactly one encoding.
 *
 * The codecs are @scure/base and noble's hex, which run everywhere (a browser uses its built-in
 * base64 and hex through them where it has them). On Node.js, Buffer's native codecs, about ten
 * times faster there, are loaded at run time and used instead (a node encodes and decodes every
 * key it stores or serves); encoding-fallback.spec.ts checks that both give the same answers.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { base64, base64urlnopad } from '@scure/base';
import { KeyPearsError, type ErrorCode } from './errors.js';

// Optional: present on Node.js; absent in a browser bundle.
const NodeBuffer = await import('node:buffer').then((m) => m.Buffer).catch(() => undefined);

type Coder = { encode(bytes: Uint8Array): string; decode(text: string): Uint8Array };

/** A codec of Node's Buffer; `decode` is lenient there, and the callers check the round trip. */
const nodeCoder = (encoding: 'hex' | 'base64' | 'base64url'): Coder | undefined =>
  NodeBuffer && {
    encode: (bytes) => NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding),
    decode: (text) => new Uint8Array(NodeBuffer.from(text, encoding)),
  };

const HEX: Coder = nodeCoder('hex') ?? { encode: bytesToHex, decode: hexToBytes };
const B64U: Coder = nodeCoder('base64url') ?? base64urlnopad;
const B64: Coder = nodeCoder('base64') ?? base64;

/** Which codecs this process uses (for tests). */
export const encodingBackend = (): 'node:buffer' | 'scure' => (NodeBuffer ? 'node:buffer' : 'scure');

const HEX_RE = /^(?:[0-9a-f]{2})*$/;
const B64U_RE = /^[A-Za-z0-9_-]*$/;

export function toHex(bytes: Uint8Array): string {
  return HEX.encode(bytes);
}

/**
 * Lower-case hex only; `field` names the input in the error message. A value that does not
 * decode is `invalid_request`, as any other member failing its schema (docs/errors.md).
 */
export function fromHex(hex: string, field = 'value', code: ErrorCode = 'invalid_request'): Uint8Array {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) {
    throw new KeyPearsError(code, `${field} must be lower-case hexadecimal`);
  }
  return HEX.decode(hex);
}

/** base64url without padding (RFC 4648 §5). */
export function toB64u(bytes: Uint8Array): string {
  return B64U.encode(bytes);
}

export function fromB64u(text: string, field = 'value', code: ErrorCode = 'invalid_request'): Uint8Array {
  if (typeof text !== 'string' || !B64U_RE.test(text) || text.length % 4 === 1) {
    throw new KeyPearsError(code, `${field} must be unpadded base64url`);
  }
  const bytes = decodeCanonical(text, B64U);
  if (!bytes) throw new KeyPearsError(code, `${field} is not canonical base64url`);
  return bytes;
}

/**
 * True when `text` is unpadded base64url that a canonical encoder produces (every unused bit
 * of the last character zero), for schemas that check the form before decoding.
 */
export function isCanonicalB64u(text: string): boolean {
  return B64U_RE.test(text) && text.length % 4 !== 1 && decodeCanonical(text, B64U) !== undefined;
}

/** Standard base64 with padding (RFC 4648 §4), as HTTP structured fields carry bytes. */
export function toB64(bytes: Uint8Array): string {
  return B64.encode(bytes);
}

/** Padded standard base64, canonical; undefined for anything else. */
export function fromB64Canonical(text: string): Uint8Array | undefined {
  return decodeCanonical(text, B64);
}

/** The decoded bytes when `text` is the one encoding of them, otherwise undefined. */
function decodeCanonical(text: string, coder: Coder): Uint8Array | undefined {
  let bytes: Uint8Array;
  try {
    bytes = coder.decode(text);
  } catch {
    return undefined;
  }
  return coder.encode(bytes) === text ? bytes : undefined;
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

export const utf8 = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);

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
