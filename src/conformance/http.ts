/** Raw HTTP for the conformance suite: exact bytes out, status, headers and JSON back. */
import { signRequest } from '../protocol/http-signature.js';
import { utf8 } from '../protocol/encoding.js';

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

export const unixNow = (): number => Math.floor(Date.now() / 1000);
