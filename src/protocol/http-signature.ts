/**
 * HTTP Message Signatures (RFC 9421) with Ed25519, as profiled by KeyPears (docs/protocol.md,
 * "HTTP request signatures"). One profile serves both client requests (keyid = the user's
 * canonical address) and node-to-node requests (keyid = a node key id, plus a covered
 * `keypears-origin` header).
 *
 * The profile is deliberately narrow: one signature labelled `kp`, a fixed list of covered
 * components, five mandatory parameters, and a strict parser for the subset of Structured Field
 * syntax (RFC 8941) that this needs. Anything else is refused rather than interpreted, so a
 * verifier can never be led to check a different base than the signer produced.
 *
 * Replay protection is not done here: `verifyRequest` returns the nonce, and the caller keeps
 * it (in PostgreSQL) until `expires + maxSkewSeconds`.
 */
import { ed25519Sign, ed25519Verify, ED25519_PUBLIC_KEY_LENGTH, randomBytes, sha256 } from './crypto.js';
import { equalBytes, fromB64Canonical, isCanonicalB64u, toB64, toB64u, utf8 } from './encoding.js';
import { KeyPearsError } from './errors.js';

/** The only signature label this profile produces or accepts. */
export const SIGNATURE_LABEL = 'kp';
/** The only algorithm this profile produces or accepts. */
export const SIGNATURE_ALG = 'ed25519';
/** Upper bound on `expires - created`: signed requests are short-lived. */
export const MAX_SIGNATURE_VALIDITY_SECONDS = 300;
/** Default validity of a request signed by `signRequest`. */
export const DEFAULT_SIGNATURE_TTL_SECONDS = 120;
/** Default tolerance for clock differences between signer and verifier. */
export const DEFAULT_MAX_SKEW_SECONDS = 60;

/** Components every signature covers, in this order, before the caller's extra headers. */
const BASE_COMPONENTS = ['@method', '@target-uri', 'content-digest'] as const;
/**
 * Parameters every signature carries, each exactly once and in this order: verifiers refuse
 * any other order, so that two conforming verifiers never disagree (docs/protocol.md §6).
 */
const REQUIRED_PARAMS = ['created', 'expires', 'nonce', 'keyid', 'alg'] as const;

const MIN_NONCE_BYTES = 16;
const MAX_NONCE_BYTES = 64;
const MAX_KEY_ID_LENGTH = 512;
const MAX_TARGET_URI_LENGTH = 4096;
const MAX_EXTRA_HEADERS = 16;
const MAX_HEADER_VALUE_LENGTH = 4096;
const MAX_SIGNATURE_INPUT_LENGTH = 4096;
const MAX_SIGNATURE_HEADER_LENGTH = 256;
/** 15 digits: the RFC 8941 limit for integers, far beyond any Unix time. */
const MAX_INTEGER_DIGITS = 15;

/** RFC 9110 token characters, lower-case only (field names are compared lower-cased). */
const FIELD_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const METHOD = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** Field values allowed in a signature base: visible ASCII, space and tab (no CR, LF, NUL). */
const FIELD_VALUE = /^[\x20-\x7e\t]*$/;
/** Visible ASCII, as in an HTTP request target. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
/** Characters of an RFC 8941 sf-string that need no escaping; escapes are refused. */
const SF_STRING_CHARS = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const B64U_NONCE = /^[A-Za-z0-9_-]+$/;
const CONTENT_DIGEST = /^sha-256=:([A-Za-z0-9+/]{43}=):$/;
const FORBIDDEN_EXTRA_HEADERS = new Set(['content-digest', 'signature', 'signature-input']);

export interface SignRequestOptions {
  method: string;
  /** The absolute request URI (`https://node.example/api/...`), exactly as the verifier rebuilds it. */
  targetUri: string;
  /** The exact body bytes sent; `undefined` for no body (digest of the empty string). */
  body: Uint8Array | undefined;
  /** The user's canonical address, or a node key id. */
  keyId: string;
  /** Ed25519 secret key (32-byte seed). */
  secretKey: Uint8Array;
  /**
   * Extra headers to cover, in this order, by lower-case name. The caller must send them with
   * exactly these values; they are not part of the returned headers.
   */
  headers?: Record<string, string>;
  /** Unix time in seconds; defaults to the current time. */
  now?: number;
  /** Seconds until expiry, 1 to 300; default 120. */
  ttlSeconds?: number;
  /** base64url (unpadded) of at least 16 bytes; random by default. Fixed only for test vectors. */
  nonce?: string;
}

export interface VerifyRequestOptions {
  method: string;
  /** The absolute request URI as the signer addressed it (the node's public base URL + path and query). */
  targetUri: string;
  body: Uint8Array | undefined;
  /** Request headers; names in any case, repeated fields as arrays (as Node.js gives them). */
  headers: Record<string, string | string[] | undefined>;
  /** Extra headers the signature must cover, in order, after the base components. */
  requiredHeaders?: string[];
  /** Unix time in seconds. */
  now: number;
  /** Default 60. */
  maxSkewSeconds?: number;
  /** The Ed25519 public key for a key id, or `undefined` when the key id is unknown. */
  resolveKey: (keyId: string) => Promise<Uint8Array | undefined> | Uint8Array | undefined;
}

export interface VerifiedRequest {
  keyId: string;
  /** To be remembered by the caller until `expires + maxSkewSeconds`, to refuse replays. */
  nonce: string;
  created: number;
  expires: number;
  /** Values of the `requiredHeaders`, by lower-case name. */
  coveredHeaders: Record<string, string>;
}

/**
 * Signs a request and returns the headers to add: `Content-Digest`, `Signature-Input` and
 * `Signature`. The caller must also send the extra covered headers itself.
 *
 * @example
 * const headers = signRequest({ method: 'POST', targetUri: 'https://b.example/api/x', body, keyId: 'alice@a.example', secretKey });
 */
export function signRequest(opts: SignRequestOptions): Record<string, string> {
  const method = checkMethod(opts.method, argumentError);
  const targetUri = checkTargetUri(opts.targetUri, argumentError);
  const body = checkBody(opts.body);
  const keyId = checkSfString(opts.keyId, 'keyId', MAX_KEY_ID_LENGTH, argumentError);
  const created = opts.now ?? Math.floor(Date.now() / 1000);
  checkUnixTime(created, 'now');
  const ttl = opts.ttlSeconds ?? DEFAULT_SIGNATURE_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_SIGNATURE_VALIDITY_SECONDS) {
    argumentError(`ttlSeconds must be an integer from 1 to ${MAX_SIGNATURE_VALIDITY_SECONDS}`);
  }
  const nonce = opts.nonce ?? toB64u(randomBytes(MIN_NONCE_BYTES));
  checkNonce(nonce, argumentError);

  const extra = opts.headers ?? {};
  const extraNames = Object.keys(extra);
  checkExtraHeaderNames(extraNames, argumentError);
  const extraValues = extraNames.map((name) => {
    const value = extra[name];
    if (typeof value !== 'string' || value !== value.trim() || !isFieldValue(value)) {
      argumentError(`header ${name} must be printable ASCII without leading or trailing whitespace`);
    }
    return value;
  });

  const contentDigest = contentDigestOf(body);
  const components = [...BASE_COMPONENTS, ...extraNames];
  const signatureParams =
    `(${components.map((c) => `"${c}"`).join(' ')})` +
    `;created=${created};expires=${created + ttl};nonce="${nonce}";keyid="${keyId}";alg="${SIGNATURE_ALG}"`;
  const base = signatureBase(components, [method, targetUri, contentDigest, ...extraValues], signatureParams);
  const signature = ed25519Sign(utf8(base), opts.secretKey);
  return {
    'Content-Digest': contentDigest,
    'Signature-Input': `${SIGNATURE_LABEL}=${signatureParams}`,
    Signature: `${SIGNATURE_LABEL}=:${toB64(signature)}:`,
  };
}

/**
 * Verifies a signed request. Checks, in order: presence of the three headers, syntax of the
 * signature headers, the covered
 * components (exactly the base ones then `requiredHeaders`), the parameters, the validity
 * window, the body digest, the key, and finally the Ed25519 signature over the RFC 9421
 * signature base.
 *
 * @throws KeyPearsError `signature_missing`, `signature_malformed`, `signature_expired`,
 *   `signature_future`, `digest_mismatch`, `unknown_key` or `bad_signature`.
 */
export async function verifyRequest(opts: VerifyRequestOptions): Promise<VerifiedRequest> {
  const maxSkew = opts.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS;
  if (!Number.isSafeInteger(maxSkew) || maxSkew < 0 || maxSkew > MAX_SIGNATURE_VALIDITY_SECONDS) {
    argumentError(`maxSkewSeconds must be an integer from 0 to ${MAX_SIGNATURE_VALIDITY_SECONDS}`);
  }
  checkUnixTime(opts.now, 'now');
  const requiredHeaders = opts.requiredHeaders ?? [];
  checkExtraHeaderNames(requiredHeaders, argumentError);
  const body = checkBody(opts.body);

  const header = headerReader(opts.headers);
  const signatureInput = header('signature-input');
  const signatureHeader = header('signature');
  const contentDigest = header('content-digest');
  if (signatureInput === undefined || signatureHeader === undefined || contentDigest === undefined) {
    const missing =
      signatureInput === undefined ? 'Signature-Input' : signatureHeader === undefined ? 'Signature' : 'Content-Digest';
    throw new KeyPearsError('signature_missing', `the request has no ${missing} header`);
  }
  const method = checkMethod(opts.method, malformed);
  const targetUri = checkTargetUri(opts.targetUri, malformed);

  const input = parseSignatureInput(signatureInput);
  const signature = parseSignatureHeader(signatureHeader);

  const expected = [...BASE_COMPONENTS, ...requiredHeaders];
  if (input.components.length !== expected.length || input.components.some((c, i) => c !== expected[i])) {
    malformed(`covered components must be exactly (${expected.map((c) => `"${c}"`).join(' ')})`);
  }
  const { created, expires, nonce, keyId } = input;
  if (expires <= created) malformed('expires must be later than created');
  if (expires - created > MAX_SIGNATURE_VALIDITY_SECONDS) {
    malformed(`signature validity must not exceed ${MAX_SIGNATURE_VALIDITY_SECONDS} seconds`);
  }
  if (created > opts.now + maxSkew) {
    throw new KeyPearsError('signature_future', 'the signature is dated in the future');
  }
  if (expires < opts.now - maxSkew) {
    throw new KeyPearsError('signature_expired', 'the signature has expired');
  }

  const digestMatch = CONTENT_DIGEST.exec(contentDigest);
  if (!digestMatch) {
    throw new KeyPearsError('digest_mismatch', 'Content-Digest must be a single sha-256=:<base64>: value');
  }
  const digest = fromB64Canonical(digestMatch[1]);
  if (!digest || !equalBytes(digest, sha256(body))) {
    throw new KeyPearsError('digest_mismatch', 'Content-Digest does not match the body');
  }

  const extraValues = requiredHeaders.map((name) => {
    const value = header(name);
    if (value === undefined) malformed(`covered header ${name} is missing`);
    return value;
  });

  const publicKey = await opts.resolveKey(keyId);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) {
    throw new KeyPearsError('unknown_key', `no key is known for key id ${keyId}`);
  }
  const base = signatureBase(expected, [method, targetUri, contentDigest, ...extraValues], input.params);
  if (!ed25519Verify(signature, utf8(base), publicKey)) {
    throw new KeyPearsError('bad_signature', 'the request signature does not verify');
  }
  // fromEntries defines own properties, so no header name can reach the prototype.
  const coveredHeaders = Object.fromEntries(requiredHeaders.map((name, i) => [name, extraValues[i]]));
  return { keyId, nonce, created, expires, coveredHeaders };
}

/** `sha-256=:<base64>:` over the exact body bytes (RFC 9530). */
function contentDigestOf(body: Uint8Array): string {
  return `sha-256=:${toB64(sha256(body))}:`;
}

/** RFC 9421 §2.5: one line per component, then the `@signature-params` line, joined by LF. */
function signatureBase(components: readonly string[], values: readonly string[], signatureParams: string): string {
  const lines = components.map((name, i) => `"${name}": ${values[i]}`);
  lines.push(`"@signature-params": ${signatureParams}`);
  return lines.join('\n');
}

// --- Strict parsing of the two signature headers ----------------------------------------

interface ParsedSignatureInput {
  components: string[];
  created: number;
  expires: number;
  nonce: string;
  keyId: string;
  /** The member value exactly as received: the `@signature-params` component value. */
  params: string;
}

/**
 * Parses `kp=("c1" "c2" ...);created=1;expires=2;nonce="n";keyid="k";alg="ed25519"`. Only
 * canonical RFC 8941 serializations are accepted (single spaces, no escapes, no leading
 * zeros), so the text received is itself the `@signature-params` value.
 */
function parseSignatureInput(value: string): ParsedSignatureInput {
  if (value.length > MAX_SIGNATURE_INPUT_LENGTH) malformed('Signature-Input is too long');
  const cursor = new Cursor(value, 'Signature-Input');
  cursor.expectLabel();
  const start = cursor.pos;
  cursor.expect('(');
  const components: string[] = [];
  while (!cursor.consume(')')) {
    if (components.length > 0) cursor.expect(' ');
    const component = cursor.sfString();
    if (components.includes(component)) malformed(`component "${component}" is covered twice`);
    components.push(component);
    if (components.length > BASE_COMPONENTS.length + MAX_EXTRA_HEADERS) malformed('too many covered components');
  }
  const params = new Map<string, string | number>();
  while (cursor.consume(';')) {
    const key = cursor.key();
    if (params.has(key)) malformed(`parameter ${key} appears twice`);
    if (!(REQUIRED_PARAMS as readonly string[]).includes(key)) malformed(`unknown parameter ${key}`);
    cursor.expect('=');
    params.set(key, cursor.peek() === '"' ? cursor.sfString() : cursor.integer());
  }
  const paramsText = value.slice(start, cursor.pos);
  cursor.expectEndOfSingleMember();

  for (const name of REQUIRED_PARAMS) if (!params.has(name)) malformed(`parameter ${name} is missing`);
  if ([...params.keys()].some((name, i) => name !== REQUIRED_PARAMS[i])) {
    malformed(`parameters must be in the order ${REQUIRED_PARAMS.join(';')}`);
  }
  const created = params.get('created');
  const expires = params.get('expires');
  const nonce = params.get('nonce');
  const keyId = params.get('keyid');
  const alg = params.get('alg');
  if (typeof created !== 'number') malformed('created must be an integer');
  if (typeof expires !== 'number') malformed('expires must be an integer');
  if (typeof nonce !== 'string') malformed('nonce must be a string');
  if (typeof keyId !== 'string') malformed('keyid must be a string');
  if (typeof alg !== 'string') malformed('alg must be a string');
  if (alg !== SIGNATURE_ALG) malformed(`alg must be "${SIGNATURE_ALG}"`);
  checkNonce(nonce, malformed);
  checkSfString(keyId, 'keyid', MAX_KEY_ID_LENGTH, malformed);
  return { components, created, expires, nonce, keyId, params: paramsText };
}

/** Parses `kp=:<base64 of 64 bytes>:`. */
function parseSignatureHeader(value: string): Uint8Array {
  if (value.length > MAX_SIGNATURE_HEADER_LENGTH) malformed('Signature is too long');
  const cursor = new Cursor(value, 'Signature');
  cursor.expectLabel();
  const signature = cursor.byteSequence();
  cursor.expectEndOfSingleMember();
  if (signature.length !== 64) malformed('Signature must hold a 64-byte Ed25519 signature');
  return signature;
}

/** A position in a header value, with the few RFC 8941 productions the profile uses. */
class Cursor {
  pos = 0;

  constructor(
    private readonly text: string,
    private readonly field: string,
  ) {}

  peek(): string {
    return this.text[this.pos] ?? '';
  }

  consume(ch: string): boolean {
    if (this.text[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }

  expect(ch: string): void {
    if (!this.consume(ch)) malformed(`${this.field}: expected '${ch}' at position ${this.pos}`);
  }

  /** The dictionary key, which must be the profile's label, and its `=`. */
  expectLabel(): void {
    const label = this.key();
    if (label !== SIGNATURE_LABEL) malformed(`${this.field}: unexpected label ${label}, expected ${SIGNATURE_LABEL}`);
    this.expect('=');
  }

  /** After the one member: the end, or a second member, which is refused with a precise message. */
  expectEndOfSingleMember(): void {
    if (this.pos === this.text.length) return;
    const rest = this.text.slice(this.pos);
    const next = /^[ \t]*,[ \t]*([a-z*][a-z0-9_.*-]*)/.exec(rest);
    if (!next) malformed(`${this.field}: unexpected characters at position ${this.pos}`);
    if (next[1] === SIGNATURE_LABEL) malformed(`${this.field}: label ${SIGNATURE_LABEL} appears twice`);
    malformed(`${this.field}: only one signature, labelled ${SIGNATURE_LABEL}, is accepted`);
  }

  key(): string {
    const match = /^[a-z*][a-z0-9_.*-]{0,63}/.exec(this.text.slice(this.pos));
    if (!match) malformed(`${this.field}: expected a key at position ${this.pos}`);
    this.pos += match[0].length;
    return match[0];
  }

  sfString(): string {
    this.expect('"');
    const end = this.text.indexOf('"', this.pos);
    if (end < 0) malformed(`${this.field}: unterminated string`);
    const content = this.text.slice(this.pos, end);
    if (!SF_STRING_CHARS.test(content)) malformed(`${this.field}: string with escapes or non-ASCII characters`);
    this.pos = end + 1;
    return content;
  }

  /** A non-negative integer without leading zeros. */
  integer(): number {
    const match = /^(?:0|[1-9][0-9]*)/.exec(this.text.slice(this.pos));
    if (!match || match[0].length > MAX_INTEGER_DIGITS || /^[0-9.]/.test(this.text.slice(this.pos + match[0].length))) {
      malformed(`${this.field}: expected a non-negative integer at position ${this.pos}`);
    }
    this.pos += match[0].length;
    return Number(match[0]);
  }

  /** `:<base64 with padding>:`, canonical. */
  byteSequence(): Uint8Array {
    this.expect(':');
    const end = this.text.indexOf(':', this.pos);
    if (end < 0) malformed(`${this.field}: unterminated byte sequence`);
    const b64 = this.text.slice(this.pos, end);
    const bytes = fromB64Canonical(b64);
    if (!bytes) malformed(`${this.field}: byte sequence is not canonical base64`);
    this.pos = end + 1;
    return bytes;
  }
}

// --- Input checks ----------------------------------------------------------------------

type Fail = (message: string) => never;

function malformed(message: string): never {
  throw new KeyPearsError('signature_malformed', message);
}

function argumentError(message: string): never {
  throw new KeyPearsError('invalid_argument', message);
}

function isFieldValue(value: string): boolean {
  return value.length <= MAX_HEADER_VALUE_LENGTH && FIELD_VALUE.test(value);
}

function checkMethod(method: unknown, fail: Fail): string {
  if (typeof method !== 'string' || !METHOD.test(method)) fail('method must be an HTTP token');
  return method;
}

/** An absolute http(s) URI without fragment, in visible ASCII (as sent on the wire). */
function checkTargetUri(uri: unknown, fail: Fail): string {
  if (typeof uri !== 'string' || uri.length > MAX_TARGET_URI_LENGTH || !VISIBLE_ASCII.test(uri)) {
    fail('target URI must be at most 4096 visible ASCII characters');
  }
  if (!/^https?:\/\//.test(uri) || uri.includes('#') || !URL.canParse(uri)) {
    fail('target URI must be an absolute http(s) URI without fragment');
  }
  return uri;
}

function checkBody(body: unknown): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  if (!(body instanceof Uint8Array)) argumentError('body must be a Uint8Array or undefined');
  return body;
}

function checkUnixTime(value: unknown, field: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    argumentError(`${field} must be a non-negative integer (Unix seconds)`);
  }
}

function checkNonce(nonce: unknown, fail: Fail): void {
  const ok = typeof nonce === 'string' && B64U_NONCE.test(nonce) && isCanonicalB64u(nonce);
  const bytes = ok ? Math.floor((nonce.length * 3) / 4) : 0;
  if (!ok || bytes < MIN_NONCE_BYTES || bytes > MAX_NONCE_BYTES) {
    fail(`nonce must be unpadded base64url of ${MIN_NONCE_BYTES} to ${MAX_NONCE_BYTES} bytes`);
  }
}

function checkSfString(value: unknown, field: string, maxLength: number, fail: Fail): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength || !SF_STRING_CHARS.test(value)) {
    fail(`${field} must be 1-${maxLength} printable ASCII characters, without " or \\`);
  }
  return value;
}

function checkExtraHeaderNames(names: unknown, fail: Fail): void {
  if (!Array.isArray(names) || names.length > MAX_EXTRA_HEADERS) {
    fail(`at most ${MAX_EXTRA_HEADERS} extra covered headers`);
  }
  const seen = new Set<string>();
  for (const name of names as unknown[]) {
    if (typeof name !== 'string' || !FIELD_NAME.test(name) || name.length > 64) {
      fail(`covered header name ${String(name)} must be a lower-case field name`);
    }
    if (FORBIDDEN_EXTRA_HEADERS.has(name)) fail(`header ${name} cannot be an extra covered header`);
    if (seen.has(name)) fail(`header ${name} is listed twice`);
    seen.add(name);
  }
}

/**
 * Reads request headers by lower-case name. Repeated fields are combined with ", "
 * (RFC 9110 §5.3) after trimming each value (RFC 9421 §2.1). Only the headers the profile
 * reads are checked: two spellings of one of them, or a value with characters that could break
 * the signature base (CR, LF, NUL, non-ASCII), make the request malformed.
 */
function headerReader(raw: Record<string, string | string[] | undefined>): (name: string) => string | undefined {
  if (typeof raw !== 'object' || raw === null) argumentError('headers must be an object');
  const byName = new Map<string, Array<string | string[]>>();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    byName.set(lower, [...(byName.get(lower) ?? []), value]);
  }
  return (name) => {
    const values = byName.get(name);
    if (values === undefined) return undefined;
    if (values.length > 1) malformed(`header ${name} is given twice`);
    const parts = Array.isArray(values[0]) ? values[0] : [values[0]];
    if (parts.length === 0) return undefined;
    const combined = parts
      .map((part) => {
        if (typeof part !== 'string') malformed(`header ${name} must be a string`);
        return part.replace(/^[ \t]+|[ \t]+$/g, '');
      })
      .join(', ');
    if (!isFieldValue(combined)) malformed(`header ${name} is too long or contains invalid characters`);
    return combined;
  };
}
