/**
 * The discovery formats of docs/discovery.md: the `_keypears.<domain>` TXT record, the node
 * document served at `<node>/.well-known/keypears.json`, and the domain pointer a domain may
 * serve at `https://<domain>/.well-known/keypears.json` instead of a full node document.
 *
 * Everything here parses hostile input: records and documents come from other people's DNS
 * zones and web servers. Parsing is strict; nothing is guessed.
 */
import { z } from 'zod';
import { parseDomain } from './address.js';
import { ED25519_PUBLIC_KEY_LENGTH } from './crypto.js';
import { fromB64uSized, isCanonicalB64u } from './encoding.js';
import { KeyPearsError, type ErrorCode } from './errors.js';
import { describeZodError } from './wire.js';

/** The protocol version named in TXT records and node documents. */
export const DISCOVERY_VERSION = 'KP1';
/** Owner name prefix of the discovery TXT record. */
export const TXT_RECORD_PREFIX = '_keypears';
/** Path of the node document and of a domain's pointer. */
export const WELL_KNOWN_PATH = '/.well-known/keypears.json';
/** Longest TXT record (all character-strings joined) accepted. */
export const MAX_TXT_RECORD_LENGTH = 1024;
/** Longest node URL accepted anywhere. */
export const MAX_NODE_URL_LENGTH = 512;
/** At most this many domains and keys in one node document. */
export const MAX_DOCUMENT_DOMAINS = 1000;
export const MAX_DOCUMENT_KEYS = 16;

/** The owner name of a domain's discovery TXT record. */
export const txtRecordName = (domain: string): string => `${TXT_RECORD_PREFIX}.${domain}`;

/**
 * Parses and normalises a node base URL: absolute, `https:` (or `http:` when `allowHttp`),
 * no credentials, query or fragment; trailing slashes removed. The result is the form in
 * which node URLs are compared, and the string signatures and registration proofs are bound
 * to. The one normaliser of node URLs: discovery records and documents, the federation
 * headers, the node's own KEYPEARS_PUBLIC_URL and the SDK's node URL all go through it.
 *
 * @throws KeyPearsError `code` (default `invalid_node_url`) saying what is wrong, or
 *   `insecureCode` (default `insecure_scheme`) for a scheme that is not allowed.
 * @example normalizeNodeUrl('https://KP.Example.com/', { allowHttp: false }) === 'https://kp.example.com'
 */
export function normalizeNodeUrl(
  raw: string,
  opts: { allowHttp: boolean; code?: ErrorCode; insecureCode?: ErrorCode },
): string {
  const code = opts.code ?? 'invalid_node_url';
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_NODE_URL_LENGTH) {
    throw new KeyPearsError(code, `node URL must be 1-${MAX_NODE_URL_LENGTH} characters`);
  }
  if (/[\s\p{Cc}]/u.test(raw))
    throw new KeyPearsError(code, 'node URL must not contain whitespace or control characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new KeyPearsError(code, `node URL ${JSON.stringify(raw)} is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && !(opts.allowHttp && url.protocol === 'http:')) {
    throw new KeyPearsError(
      opts.insecureCode ?? 'insecure_scheme',
      `node URL ${JSON.stringify(raw)} must use https${opts.allowHttp ? ' or http' : ' (http only with KEYPEARS_DEV=1)'}`,
    );
  }
  if (url.username || url.password) throw new KeyPearsError(code, 'node URL must not contain credentials');
  if (url.search || url.hash || raw.includes('?') || raw.includes('#')) {
    throw new KeyPearsError(code, 'node URL must not contain a query or a fragment');
  }
  if (url.hostname === '') throw new KeyPearsError(code, 'node URL has no host');
  return url.href.replace(/\/+$/, '');
}

/** `<node>/.well-known/keypears.json` for a normalised node URL. */
export const nodeDocumentUrl = (nodeUrl: string): string => `${nodeUrl}${WELL_KNOWN_PATH}`;

/**
 * Parses one TXT record (its character-strings already joined): exactly
 * `v=KP1; node=<url>`, the version first, each field once, no other fields. Spaces around
 * `;` and at the ends are allowed; the URL itself must not contain spaces or `;`.
 *
 * @throws KeyPearsError `discovery_record_invalid` saying what is wrong (or `insecure_scheme`).
 * @example parseTxtRecord('v=KP1; node=https://kp.example.com') === 'https://kp.example.com'
 */
export function parseTxtRecord(record: string, opts: { allowHttp: boolean }): string {
  const fail = (why: string): never => {
    throw new KeyPearsError('discovery_record_invalid', `TXT record ${JSON.stringify(record.slice(0, 200))}: ${why}`);
  };
  if (record.length > MAX_TXT_RECORD_LENGTH) fail(`longer than ${MAX_TXT_RECORD_LENGTH} characters`);
  if (!/^[\x20-\x7e]*$/.test(record)) fail('must be printable ASCII');
  const fields = record
    .trim()
    .split(';')
    .map((f) => f.trim());
  if (fields.length > 0 && fields[fields.length - 1] === '') fields.pop();
  if (fields.length === 0 || fields[0] === '') fail('is empty');
  const seen = new Map<string, string>();
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq <= 0) fail(`field ${JSON.stringify(field)} is not key=value`);
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (key !== 'v' && key !== 'node') fail(`unknown field ${JSON.stringify(key)} (only v and node are defined)`);
    if (seen.has(key)) fail(`field ${key} appears twice`);
    if (value === '' || /\s/.test(value)) fail(`field ${key} must have a value without spaces`);
    seen.set(key, value);
  }
  if (!record.trim().startsWith('v=')) fail('must start with v=KP1');
  if (seen.get('v') !== DISCOVERY_VERSION)
    fail(`version must be ${DISCOVERY_VERSION}, got ${JSON.stringify(seen.get('v'))}`);
  const node = seen.get('node');
  if (node === undefined) fail('has no node= field');
  try {
    return normalizeNodeUrl(node!, { allowHttp: opts.allowHttp, code: 'discovery_record_invalid' });
  } catch (e) {
    if (e instanceof KeyPearsError && e.code === 'discovery_record_invalid') fail(e.message);
    throw e;
  }
}

/**
 * Picks the discovery record among all TXT records at `_keypears.<domain>`: exactly one must
 * exist. Every record at that name counts (it is reserved for KeyPears), so two records are
 * an error even if only one of them parses.
 *
 * @returns the node URL, or `undefined` when there is no record at all.
 * @throws KeyPearsError `discovery_record_ambiguous` or `discovery_record_invalid`.
 */
export function selectTxtRecord(
  records: readonly string[],
  domain: string,
  opts: { allowHttp: boolean },
): string | undefined {
  if (records.length === 0) return undefined;
  if (records.length > 1) {
    throw new KeyPearsError(
      'discovery_record_ambiguous',
      `${txtRecordName(domain)} has ${records.length} TXT records; exactly one is allowed`,
    );
  }
  return parseTxtRecord(records[0], opts);
}

const Iso = z.int().min(0).max(253402300799);
const B64uKey = z
  .string()
  .length(43)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be unpadded base64url')
  .refine(isCanonicalB64u, 'is not canonical base64url');

/** One node signing key as published. Times are Unix seconds; `notAfter: null` means no end yet. */
export const NodeKeySchema = z.object({
  keyId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'keyId must be 1-64 characters of A-Z a-z 0-9 . _ -'),
  alg: z.literal('ed25519'),
  publicKey: B64uKey.describe('Ed25519 public key, 32 bytes, unpadded base64url'),
  notBefore: Iso,
  notAfter: Iso.nullable(),
});
export type NodeKey = z.infer<typeof NodeKeySchema>;

/**
 * The node document (`<node>/.well-known/keypears.json`). Unknown fields are ignored so that
 * later versions can add some; known fields are checked strictly.
 */
export const NodeDocumentSchema = z.object({
  protocol: z.literal(DISCOVERY_VERSION),
  node: z.string().max(MAX_NODE_URL_LENGTH),
  domains: z.array(z.string().max(253)).max(MAX_DOCUMENT_DOMAINS),
  keys: z.array(NodeKeySchema).min(1).max(MAX_DOCUMENT_KEYS),
  software: z.object({ name: z.string().max(64), version: z.string().max(64) }).optional(),
  /**
   * The `batch` feature (docs/protocol.md §9.5): the node takes several federation messages in
   * one request, up to `maxMessages` of them in a body of at most `maxBytes`.
   */
  batch: z
    .object({
      maxMessages: z.number().int().min(1).max(10_000),
      maxBytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024),
    })
    .optional(),
  /** The node's transparency log (docs/transparency.md §10.1), kept as sent: its readers parse it strictly. */
  transparency: z.unknown().optional(),
});
export type NodeDocument = z.infer<typeof NodeDocumentSchema>;

/** What a domain that is served elsewhere publishes at `https://<domain>/.well-known/keypears.json`. */
export const DomainPointerSchema = z.object({
  protocol: z.literal(DISCOVERY_VERSION),
  node: z.string().max(MAX_NODE_URL_LENGTH),
});
export type DomainPointer = z.infer<typeof DomainPointerSchema>;

const issues = (error: z.ZodError): string => describeZodError(error, 'document');

/**
 * Validates a node document fetched from `expectedNodeUrl`: the shape, the `node` field
 * (must be that URL), domains in canonical form, decodable keys with unique ids.
 *
 * @throws KeyPearsError `node_document_invalid` saying what is wrong.
 */
export function parseNodeDocument(value: unknown, expectedNodeUrl: string, opts: { allowHttp: boolean }): NodeDocument {
  const fail = (why: string): never => {
    throw new KeyPearsError('node_document_invalid', `node document of ${expectedNodeUrl}: ${why}`);
  };
  const result = NodeDocumentSchema.safeParse(value);
  if (!result.success) fail(issues(result.error));
  const doc = result.data!;
  let named: string | undefined;
  try {
    named = normalizeNodeUrl(doc.node, { allowHttp: opts.allowHttp });
  } catch (e) {
    fail(`node: ${(e as Error).message}`);
  }
  if (named !== expectedNodeUrl)
    fail(`names node ${JSON.stringify(doc.node)}, but was fetched from ${expectedNodeUrl}`);
  for (const domain of doc.domains) {
    let canonical: string | undefined;
    try {
      canonical = parseDomain(domain);
    } catch (e) {
      fail(`domain ${JSON.stringify(domain)}: ${(e as Error).message}`);
    }
    if (canonical !== domain) fail(`domain ${JSON.stringify(domain)} is not in canonical form (${canonical})`);
  }
  const ids = new Set<string>();
  for (const key of doc.keys) {
    if (ids.has(key.keyId)) fail(`key id ${key.keyId} appears twice`);
    ids.add(key.keyId);
    fromB64uSized(key.publicKey, ED25519_PUBLIC_KEY_LENGTH, `key ${key.keyId}`, 'node_document_invalid');
    if (key.notAfter !== null && key.notAfter < key.notBefore) fail(`key ${key.keyId} ends before it starts`);
  }
  return { ...doc, node: named! };
}

/**
 * Reads what a domain serves at its own well-known location: either a pointer
 * `{protocol, node}` or a full node document (when the node runs on the domain itself).
 * Only the node URL is taken from it; the node's own document is what counts.
 *
 * @throws KeyPearsError `well_known_invalid` or `insecure_scheme`.
 */
export function parseDomainPointer(value: unknown, domain: string, opts: { allowHttp: boolean }): string {
  const result = DomainPointerSchema.safeParse(value);
  if (!result.success) {
    throw new KeyPearsError('well_known_invalid', `well-known document of ${domain}: ${issues(result.error)}`);
  }
  return normalizeNodeUrl(result.data.node, { allowHttp: opts.allowHttp, code: 'well_known_invalid' });
}

/**
 * The rule that makes a domain served by a node: the node's own document lists it.
 *
 * @throws KeyPearsError `domain_not_listed`.
 */
export function requireDomainListed(document: NodeDocument, domain: string): void {
  if (!document.domains.includes(domain)) {
    throw new KeyPearsError(
      'domain_not_listed',
      `${domain} points to ${document.node}, but that node's document does not list ${domain}`,
    );
  }
}

/** Keys of a document that are valid at `nowSeconds`. */
export function currentNodeKeys(document: NodeDocument, nowSeconds: number): NodeKey[] {
  return document.keys.filter((k) => k.notBefore <= nowSeconds && (k.notAfter === null || nowSeconds < k.notAfter));
}
