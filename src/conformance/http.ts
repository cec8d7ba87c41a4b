/** Raw HTTP for the conformance suite: exact bytes out, status, headers and JSON back. */
import { ed25519Sign, randomBytes, sha256 } from '../protocol/crypto.js';
import { signRequest } from '../protocol/http-signature.js';
import { toB64u, utf8 } from '../protocol/encoding.js';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** Every request of the suite has this deadline, so a node that hangs fails a case, not the run. */
export const REQUEST_TIMEOUT_MS = 20_000;

export interface SendOptions {
  method?: string;
  /** A string is sent as it is; anything else as its JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

export async function send(url: string, opts: SendOptions = {}): Promise<Answer> {
  const body =
    opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
  Object.assign(headers, opts.headers);
  const response = await fetch(url, {
    method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export interface SignOptions {
  keyId: string;
  secretKey: Uint8Array;
  /** Unix seconds of `created`; now by default. */
  now?: number;
  ttlSeconds?: number;
  nonce?: string;
  /** Extra covered headers, in order (node-to-node requests). */
  covered?: Record<string, string>;
  /** The URI the signature says the request went to; the real one by default. */
  targetUri?: string;
}

/** A request signed under docs/protocol.md §6; `covered` headers are sent as signed. */
export function signed(method: string, url: string, body: string | undefined, sign: SignOptions): SendOptions {
  const headers = signRequest({
    method,
    targetUri: sign.targetUri ?? url,
    body: body === undefined ? undefined : utf8(body),
    keyId: sign.keyId,
    secretKey: sign.secretKey,
    headers: sign.covered,
    now: sign.now,
    ttlSeconds: sign.ttlSeconds,
    nonce: sign.nonce,
  });
  return { method, body, headers: { ...sign.covered, ...headers } };
}

export interface RawSignature {
  /** The covered components in order, each with the value it has in the signature base. */
  components: Array<[name: string, value: string]>;
  /** Everything after the inner list in `Signature-Input`, e.g. `;created=1;expires=2;...`. */
  params: string;
  label?: string;
  secretKey: Uint8Array;
}

/**
 * `Signature-Input` and `Signature` for a signature that is right over its own base but may
 * step outside the profile of docs/protocol.md §6 (another label, order, parameter, ...): the
 * cases built on it check that a verifier refuses the profile violation itself, so a lax
 * verifier would accept the request.
 */
export function rawSignature(sig: RawSignature): Record<string, string> {
  const params = `(${sig.components.map(([name]) => `"${name}"`).join(' ')})${sig.params}`;
  const base = [...sig.components.map(([name, value]) => `"${name}": ${value}`), `"@signature-params": ${params}`];
  const signature = ed25519Sign(utf8(base.join('\n')), sig.secretKey);
  const label = sig.label ?? 'kp';
  return {
    'Signature-Input': `${label}=${params}`,
    Signature: `${label}=:${Buffer.from(signature).toString('base64')}:`,
  };
}

/** `Content-Digest` of a body (RFC 9530 sha-256). */
export const contentDigest = (body: string): string =>
  `sha-256=:${Buffer.from(sha256(utf8(body))).toString('base64')}:`;

/** A fresh nonce of `bytes` random bytes, unpadded base64url. */
export const freshNonce = (bytes = 16): string => toB64u(randomBytes(bytes));

export const unixNow = (): number => Math.floor(Date.now() / 1000);
