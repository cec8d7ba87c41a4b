/**
 * Addresses (`local@domain`, docs/protocol.md §1.1) and their one canonical form.
 *
 * Every address is parsed here before it is compared, stored, signed or looked up, so that two
 * spellings of one address (`Alice@Bücher.Example`, `alice@xn--bcher-kva.example`) can never
 * name two different users, and nothing outside the grammar reaches a database, a signature
 * or a DNS query.
 */
import { KeyPearsError, type ErrorCode } from './errors.js';

export interface Address {
  /** The local part, lowercased. */
  readonly local: string;
  /** The domain in ASCII (A-label) form, lowercased, without a trailing dot. */
  readonly domain: string;
  /** `local@domain`: the only form to compare, store, sign or hash. */
  readonly canonical: string;
}

export const MAX_LOCAL_PART_LENGTH = 64;
export const MAX_DOMAIN_LENGTH = 253;
export const MAX_LABEL_LENGTH = 63;

/**
 * Refused before any Unicode processing, so that hostile input costs nothing. Far above any
 * valid address (64 + 1 + 253 characters once converted).
 */
const MAX_INPUT_LENGTH = 1024;

const LOCAL_PART_CHAR = /^[A-Za-z0-9._+-]$/;
/** ASCII characters allowed in a domain before conversion; non-ASCII ones go to UTS-46. */
const DOMAIN_ASCII_CHAR = /^[A-Za-z0-9.-]$/;
const LABEL_CHARS = /^[a-z0-9-]+$/;
/**
 * A last label the WHATWG host parser reads as a number (`1.2.3.4`, `a.0x7f`): such a "domain"
 * is an IP address, or becomes one when put into a URL. RFC 3696 §2 forbids numeric TLDs too.
 */
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/i;
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}]/u;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Parses an address and returns its canonical form.
 *
 * @throws KeyPearsError `invalid_address`, with a message saying what is wrong.
 * @example parseAddress('Alice@Bücher.Example').canonical === 'alice@xn--bcher-kva.example'
 */
export function parseAddress(input: unknown): Address {
  const fail: Fail = failWith('invalid_address');
  const text = checkText(input, 'address', fail);
  const at = text.split('@');
  if (at.length !== 2) fail(`address must contain exactly one '@', found ${at.length - 1}`);
  const [rawLocal, rawDomain] = at;
  const local = canonicalLocalPart(rawLocal, fail);
  const domain = canonicalDomain(rawDomain, fail);
  return { local, domain, canonical: `${local}@${domain}` };
}

/**
 * True when `parseAddress` accepts the input.
 *
 * @example isValidAddress('a..b@example.com') === false
 */
export function isValidAddress(input: unknown): boolean {
  return succeeds(() => parseAddress(input));
}

/**
 * Validates a bare domain (for example a domain served by this node, or one being resolved)
 * with the same rules as the domain of an address, and returns its canonical form.
 *
 * @throws KeyPearsError `invalid_domain`, with a message saying what is wrong.
 * @example parseDomain('Bücher.Example') === 'xn--bcher-kva.example'
 */
export function parseDomain(input: unknown): string {
  const fail: Fail = failWith('invalid_domain');
  return canonicalDomain(checkText(input, 'domain', fail), fail);
}

/**
 * The canonical (ASCII, lowercase) form of a domain; the same function as `parseDomain`, named
 * for call sites whose point is normalisation rather than validation.
 *
 * @throws KeyPearsError `invalid_domain`.
 */
export function canonicalizeDomain(domain: string): string {
  return parseDomain(domain);
}

type Fail = (message: string) => never;

function failWith(code: ErrorCode): Fail {
  return (message) => {
    throw new KeyPearsError(code, message);
  };
}

function succeeds(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch (e) {
    if (e instanceof KeyPearsError) return false;
    throw e;
  }
}

/** Checks shared by addresses and bare domains, before any splitting or conversion. */
function checkText(input: unknown, field: string, fail: Fail): string {
  if (typeof input !== 'string') fail(`${field} must be a string`);
  const text = input as string;
  if (text.length > MAX_INPUT_LENGTH) fail(`${field} must be at most ${MAX_INPUT_LENGTH} characters`);
  const bad = WHITESPACE_OR_CONTROL.exec(text);
  if (bad) fail(`${field} must not contain whitespace or control characters (found ${describeChar(bad[0])})`);
  if (LONE_SURROGATE.test(text)) fail(`${field} must be well-formed Unicode (found an unpaired surrogate)`);
  return text;
}

function canonicalLocalPart(local: string, fail: Fail): string {
  if (local.length === 0) fail('local part is empty');
  for (const ch of local) {
    if (!LOCAL_PART_CHAR.test(ch)) {
      fail(`local part may contain only ASCII letters, digits and . _ - + (found ${describeChar(ch)})`);
    }
  }
  if (local.length > MAX_LOCAL_PART_LENGTH) {
    fail(`local part must be 1-${MAX_LOCAL_PART_LENGTH} characters, got ${local.length}`);
  }
  if (local.startsWith('.')) fail('local part must not start with a dot');
  if (local.endsWith('.')) fail('local part must not end with a dot');
  if (local.includes('..')) fail('local part must not contain two dots in a row');
  return local.toLowerCase();
}

/**
 * Converts with UTS-46 (`domainToAscii`: non-transitional, as browsers do), then checks the
 * ASCII result against the DNS hostname grammar, which is the authoritative check.
 *
 * `domainToAscii` is the WHATWG URL host parser: it would also percent-decode, cut at `/` and
 * rewrite IPv4 forms. The ASCII characters are checked first so none of that can happen.
 */
function canonicalDomain(domain: string, fail: Fail): string {
  if (domain.length === 0) fail('domain is empty');
  for (const ch of domain) {
    if (ch.codePointAt(0)! < 0x80 && !DOMAIN_ASCII_CHAR.test(ch)) {
      fail(`domain may contain only letters, digits, hyphens and dots (found ${describeChar(ch)})`);
    }
  }
  if (domain.endsWith('.')) fail('domain must not end with a dot');
  if (NUMERIC_LABEL.test(domain.slice(domain.lastIndexOf('.') + 1))) fail(NUMERIC_MESSAGE);

  const ascii = domainToAscii(domain).toLowerCase();
  if (ascii === '') fail('domain is not a valid internationalised domain name (IDNA/UTS-46 conversion failed)');
  // Unicode full stops (U+3002, U+FF0E, U+FF61) become dots only now.
  if (ascii.endsWith('.')) fail('domain must not end with a dot');
  if (ascii.length > MAX_DOMAIN_LENGTH) {
    fail(`domain must be at most ${MAX_DOMAIN_LENGTH} characters in ASCII form, got ${ascii.length}`);
  }
  const labels = ascii.split('.');
  for (const label of labels) checkLabel(label, fail);
  if (NUMERIC_LABEL.test(labels[labels.length - 1])) fail(NUMERIC_MESSAGE);
  return ascii;
}

/**
 * The WHATWG URL host parser's ASCII form of a domain, or '' when it refuses it: what Node's
 * `url.domainToASCII` computes (it sets the host of a `ws:` URL, as here), written with the
 * global `URL` so that it runs in browsers too. The caller has refused every ASCII character
 * but letters, digits, hyphens and dots, so the domain cannot end the host or add a port,
 * path or credentials to the URL.
 */
function domainToAscii(domain: string): string {
  try {
    return new URL(`ws://${domain}/`).hostname;
  } catch {
    return '';
  }
}

const NUMERIC_MESSAGE = 'domain must not end with a numeric label (it would be read as an IP address)';

function checkLabel(label: string, fail: Fail): void {
  if (label.length === 0) fail('domain must not contain an empty label (a leading dot or two dots in a row)');
  if (label.length > MAX_LABEL_LENGTH) {
    fail(`domain label "${label}" must be 1-${MAX_LABEL_LENGTH} characters, got ${label.length}`);
  }
  if (!LABEL_CHARS.test(label)) fail(`domain label "${label}" may contain only letters, digits and hyphens`);
  if (label.startsWith('-') || label.endsWith('-')) {
    fail(`domain label "${label}" must not start or end with a hyphen`);
  }
}

/** `"ü" (U+00FC)`: the code point makes invisible or look-alike characters unambiguous. */
function describeChar(ch: string): string {
  const codePoint = ch.codePointAt(0)!;
  const hex = codePoint.toString(16).toUpperCase().padStart(4, '0');
  const printable = codePoint > 0x20 && codePoint !== 0x7f && !WHITESPACE_OR_CONTROL.test(ch);
  return printable ? `${JSON.stringify(ch)} (U+${hex})` : `U+${hex}`;
}
