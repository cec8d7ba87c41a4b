/**
 * The keystore format (docs/keystore.md), without any file or terminal: what a client keeps
 * (every secret key of one address, its exchanges, contacts and settings), how it is written
 * as JSON, and how that JSON is sealed under a passphrase (scrypt, then XChaCha20-Poly1305).
 * It uses no node:* module and no Buffer, so that a browser can store the same document;
 * the file, its permissions and the passphrase prompt are ./keystore.ts and src/cli.
 *
 * Version 2 (the one written) is an envelope: the address, the node and the identity public
 * key in the clear, the rest encrypted. Version 1 is the same contents unencrypted; it is
 * read, and sealed as version 2 at its first use.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import {
  ed25519PublicKey,
  ED25519_SECRET_KEY_LENGTH,
  MLKEM768_SECRET_KEY_LENGTH,
  X25519_KEY_LENGTH,
} from '../protocol/crypto.js';
import { fromB64u, fromB64uSized, toB64u, utf8 } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import { AddressSchema, KeyIdSchema } from '../protocol/wire.js';
import { ContactsJson, parseContacts, serializeContacts, type Contact } from './contacts.js';
import {
  ExchangeIdKey,
  parseExchanges,
  serializeExchanges,
  StoredExchangeJson,
  type StoredExchange,
} from './exchange-record.js';

export const KEYSTORE_FORMAT = 'keypears-keystore';
/** The version written: the encrypted envelope. */
export const KEYSTORE_VERSION = 2;
/** The unencrypted keystore of earlier clients, read and upgraded. */
export const PLAIN_KEYSTORE_VERSION = 1;
/** The largest keystore document read (a hostile or corrupt file is refused before parsing). */
export const MAX_KEYSTORE_BYTES = 64 * 1024 * 1024;

/** A secret key with the id its public key was published under. */
export interface StoredKey {
  id: number;
  secretKey: Uint8Array;
  /** Unix seconds when it was generated. */
  createdAt: number;
}

export interface Keystore {
  address: string;
  /** Base URL of the node serving the address. */
  node: string;
  createdAt: number;
  /** Unix seconds of the successful registration; undefined before. */
  registeredAt?: number;
  /** Next id to give a new prekey; ids are never reused. */
  nextKeyId: number;
  /** Ed25519 identity secret key (32-byte seed). */
  identitySecretKey: Uint8Array;
  /** X25519 identity DH key. */
  identityDh: StoredKey;
  /** Signed prekeys, oldest first; the last one is current. Older ones answer in-flight exchanges. */
  signedPrekeys: StoredKey[];
  /** ML-KEM-768 last-resort keys, oldest first; the last one is current. */
  pqLastResortKeys: StoredKey[];
  /** One-time X25519 secret keys by id, until an exchange uses them. */
  oneTimePrekeys: Map<number, Uint8Array>;
  /** One-time ML-KEM-768 secret (decapsulation) keys by id. */
  pqOneTimePrekeys: Map<number, Uint8Array>;
  /** Exchanges this address took part in, by exchange id (src/sdk/exchange-record.ts). */
  exchanges?: Map<string, StoredExchange>;
  /** The peers' pinned identity keys, by canonical address (./contacts.ts). */
  contacts?: Map<string, Contact>;
  /** The user's settings (`keypears settings`). */
  settings?: KeystoreSettings;
  /**
   * Members of the contents this version does not know (written by a newer client, or by a
   * part of the client that keeps its own state here), kept as they were and written back.
   */
  extensions?: Record<string, unknown>;
}

export interface KeystoreSettings {
  /** Forget the secret of a confirmed exchange this many days after it was started. */
  forgetAfterDays?: number;
}

/** The longest retention `settings.forgetAfterDays` takes (100 years). */
export const MAX_FORGET_AFTER_DAYS = 36_500;

const b64u = z.string().max(4096);
const UnixSeconds = z.int().min(0);
const StoredKeyJson = z.strictObject({ id: KeyIdSchema, secretKey: b64u, createdAt: UnixSeconds });
const KeyIdText = z.string().regex(/^(0|[1-9][0-9]{0,9})$/);

/** The members of the contents this version reads; any other member is an extension. */
const ContentsShape = {
  address: AddressSchema,
  node: z.string().max(2048),
  createdAt: UnixSeconds,
  registeredAt: UnixSeconds.nullable(),
  nextKeyId: KeyIdSchema,
  identity: z.strictObject({ ed25519SecretKey: b64u, x25519: StoredKeyJson }),
  signedPrekeys: z.array(StoredKeyJson).max(10_000),
  pqLastResortKeys: z.array(StoredKeyJson).max(10_000),
  oneTimePrekeys: z.record(KeyIdText, b64u),
  pqOneTimePrekeys: z.record(KeyIdText, b64u),
  exchanges: z.record(ExchangeIdKey, StoredExchangeJson).optional(),
  contacts: ContactsJson.optional(),
  settings: z.strictObject({ forgetAfterDays: z.int().min(1).max(MAX_FORGET_AFTER_DAYS).optional() }).optional(),
};
const ContentsJson = z.looseObject(ContentsShape);
type ContentsJson = z.infer<z.ZodObject<typeof ContentsShape>>;
const KNOWN_MEMBERS: ReadonlySet<string> = new Set([...Object.keys(ContentsShape), 'format', 'version']);

/** scrypt's cost parameters (RFC 7914): N = 2^logN, block size r, parallelism p. */
export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

/** What a new keystore is sealed with: 128 MiB and about half a second on a laptop. */
export const DEFAULT_SCRYPT: ScryptParams = { logN: 17, r: 8, p: 1 };
/** The memory scrypt needs: 128 · N · r · p bytes. */
export const scryptMemory = (s: ScryptParams): number => 128 * 2 ** s.logN * s.r * s.p;
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;

/** scrypt with a 32-byte output; the file layer may pass a faster implementation with the same result. */
export type ScryptFunction = (password: Uint8Array, salt: Uint8Array, params: ScryptParams) => Promise<Uint8Array>;

/** @noble/hashes' scrypt: runs anywhere (a browser too). */
export const nobleScrypt: ScryptFunction = (password, salt, { logN, r, p }) =>
  scryptAsync(password, salt, { N: 2 ** logN, r, p, dkLen: 32, maxmem: scryptMemory({ logN, r, p }) + 1024 * 1024 });

const ScryptJson = z.strictObject({
  name: z.literal('scrypt'),
  salt: z.string().max(64),
  logN: z.int().min(10).max(22),
  r: z.int().min(1).max(32),
  p: z.int().min(1).max(16),
});

const EnvelopeShape = {
  format: z.literal(KEYSTORE_FORMAT),
  version: z.literal(KEYSTORE_VERSION),
  address: AddressSchema,
  node: z.string().max(2048),
  identityKey: z.string().max(64),
  kdf: ScryptJson,
  emptyPassphrase: z.boolean().optional(),
  cipher: z.strictObject({ name: z.literal('xchacha20-poly1305'), nonce: z.string().max(64) }),
  ciphertext: z.string().max(MAX_KEYSTORE_BYTES),
};
const EnvelopeJson = z.looseObject(EnvelopeShape);
const ENVELOPE_MEMBERS: ReadonlySet<string> = new Set(Object.keys(EnvelopeShape));

/**
 * The key a keystore is sealed with, derived from the passphrase once per run and kept in
 * memory so that each save needs no new derivation (each save draws a new nonce).
 */
export interface KeystoreKey {
  key: Uint8Array;
  salt: Uint8Array;
  params: ScryptParams;
  /** The passphrase is empty: the client unlocks without asking (and warns). */
  emptyPassphrase: boolean;
  /** Members of the envelope this version does not know, written back as they were (not authenticated). */
  envelopeExtensions?: Record<string, unknown>;
}

/** What can be read without the passphrase. */
export interface KeystoreHeader {
  version: 1 | 2;
  address: string;
  node: string;
  /** The identity public key; undefined in a version 1 keystore until it is parsed. */
  identityKey?: Uint8Array;
  /** Sealed under an empty passphrase (version 2), or not encrypted at all (version 1). */
  emptyPassphrase: boolean;
}

/** The identity public key of a keystore. */
export const identityPublicKey = (ks: Keystore): Uint8Array => ed25519PublicKey(ks.identitySecretKey);

const invalid = (message: string) => new KeyPearsError('invalid_keystore', message);

function describeIssue(error: z.ZodError, where: string): string {
  const issue = error.issues[0];
  return `${where} ${issue.path.join('.') || 'document'}: ${issue.message}`;
}

function parseJson(text: string, what: string): unknown {
  if (text.length > MAX_KEYSTORE_BYTES) throw invalid(`the ${what} is larger than ${MAX_KEYSTORE_BYTES} bytes`);
  try {
    return JSON.parse(text);
  } catch {
    throw invalid(`the ${what} is not valid JSON`);
  }
}

/** The contents as a JSON object: every secret, in the member order of docs/keystore.md. */
function contentsJson(ks: Keystore): ContentsJson & Record<string, unknown> {
  const key = (k: StoredKey) => ({ id: k.id, secretKey: toB64u(k.secretKey), createdAt: k.createdAt });
  const map = (m: Map<number, Uint8Array>) => Object.fromEntries([...m].map(([id, sk]) => [String(id), toB64u(sk)]));
  return {
    address: ks.address,
    node: ks.node,
    createdAt: ks.createdAt,
    registeredAt: ks.registeredAt ?? null,
    nextKeyId: ks.nextKeyId,
    identity: { ed25519SecretKey: toB64u(ks.identitySecretKey), x25519: key(ks.identityDh) },
    signedPrekeys: ks.signedPrekeys.map(key),
    pqLastResortKeys: ks.pqLastResortKeys.map(key),
    oneTimePrekeys: map(ks.oneTimePrekeys),
    pqOneTimePrekeys: map(ks.pqOneTimePrekeys),
    exchanges: serializeExchanges(ks.exchanges),
    ...(ks.contacts && ks.contacts.size > 0 ? { contacts: serializeContacts(ks.contacts) } : {}),
    ...(ks.settings && Object.keys(ks.settings).length > 0 ? { settings: ks.settings } : {}),
    ...ks.extensions,
  };
}

/** The contents as the text that is encrypted (compact JSON, UTF-8). */
export const serializeContents = (ks: Keystore): string => JSON.stringify(contentsJson(ks));

/**
 * A version 1 (unencrypted) keystore document, as earlier clients wrote it. Kept for tests
 * and tools that read a keystore's contents; the client itself writes only version 2.
 */
export function serializePlainKeystore(ks: Keystore): string {
  const json = { format: KEYSTORE_FORMAT, version: PLAIN_KEYSTORE_VERSION, ...contentsJson(ks) };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** The contents from their JSON object (decrypted, or a version 1 document). @throws `invalid_keystore`. */
function parseContents(raw: unknown, where: string): Keystore {
  const parsed = ContentsJson.safeParse(raw);
  if (!parsed.success) throw invalid(describeIssue(parsed.error, where));
  const json = parsed.data;
  const secret = (text: string, length: number, field: string) =>
    fromB64uSized(text, length, field, 'invalid_keystore');
  const stored = (k: z.infer<typeof StoredKeyJson>, length: number, field: string): StoredKey => ({
    id: k.id,
    secretKey: secret(k.secretKey, length, field),
    createdAt: k.createdAt,
  });
  const map = (record: Record<string, string>, length: number, field: string) =>
    new Map(Object.entries(record).map(([id, sk]) => [Number(id), secret(sk, length, `${field}.${id}`)]));
  const extensions = Object.fromEntries(Object.entries(json).filter(([name]) => !KNOWN_MEMBERS.has(name)));
  return {
    address: json.address,
    node: json.node,
    createdAt: json.createdAt,
    ...(json.registeredAt !== null ? { registeredAt: json.registeredAt } : {}),
    nextKeyId: json.nextKeyId,
    identitySecretKey: secret(json.identity.ed25519SecretKey, ED25519_SECRET_KEY_LENGTH, 'identity.ed25519SecretKey'),
    identityDh: stored(json.identity.x25519, X25519_KEY_LENGTH, 'identity.x25519'),
    signedPrekeys: json.signedPrekeys.map((k, i) => stored(k, X25519_KEY_LENGTH, `signedPrekeys.${i}`)),
    pqLastResortKeys: json.pqLastResortKeys.map((k, i) =>
      stored(k, MLKEM768_SECRET_KEY_LENGTH, `pqLastResortKeys.${i}`),
    ),
    oneTimePrekeys: map(json.oneTimePrekeys, X25519_KEY_LENGTH, 'oneTimePrekeys'),
    pqOneTimePrekeys: map(json.pqOneTimePrekeys, MLKEM768_SECRET_KEY_LENGTH, 'pqOneTimePrekeys'),
    exchanges: parseExchanges(json.exchanges as Record<string, StoredExchangeJson> | undefined),
    ...(json.contacts && Object.keys(json.contacts).length > 0 ? { contacts: parseContacts(json.contacts) } : {}),
    ...(json.settings ? { settings: json.settings } : {}),
    ...(Object.keys(extensions).length > 0 ? { extensions } : {}),
  };
}

/** A version 1 (unencrypted) keystore document. @throws `invalid_keystore`. */
export function parsePlainKeystore(text: string): Keystore {
  const raw = parseJson(text, 'keystore');
  const head = z.looseObject({ format: z.literal(KEYSTORE_FORMAT), version: z.literal(1) }).safeParse(raw);
  if (!head.success) throw invalid(describeIssue(head.error, 'keystore'));
  return parseContents(raw, 'keystore');
}

/** The authenticated data of the AEAD: the envelope's clear members, as a compact JSON array. */
export const envelopeAad = (address: string, node: string, identityKey: string): Uint8Array =>
  utf8(JSON.stringify([KEYSTORE_FORMAT, KEYSTORE_VERSION, address, node, identityKey]));

/** The passphrase's bytes: NFC-normalised, then UTF-8 (the same passphrase typed anywhere gives the same key). */
export const passphraseBytes = (passphrase: string): Uint8Array => utf8(passphrase.normalize('NFC'));

function checkParams(params: ScryptParams): void {
  const ok = ScryptJson.pick({ logN: true, r: true, p: true }).safeParse(params).success;
  if (!ok || scryptMemory(params) > MAX_SCRYPT_MEMORY) {
    throw invalid(`scrypt parameters logN=${params.logN} r=${params.r} p=${params.p} are outside the accepted range`);
  }
}

/**
 * A new key for sealing: a fresh 16-byte salt and scrypt(passphrase, salt). An empty
 * passphrase must be asked for (`allowEmpty`); the caller warns about it.
 */
export async function newKeystoreKey(
  passphrase: string,
  opts: { params?: ScryptParams; allowEmpty?: boolean; scrypt?: ScryptFunction; salt?: Uint8Array } = {},
): Promise<KeystoreKey> {
  if (passphrase === '' && !opts.allowEmpty) {
    throw new KeyPearsError('invalid_argument', 'an empty passphrase must be asked for explicitly');
  }
  const params = opts.params ?? DEFAULT_SCRYPT;
  checkParams(params);
  const salt = opts.salt ?? randomBytes(16);
  const key = await (opts.scrypt ?? nobleScrypt)(passphraseBytes(passphrase), salt, params);
  return { key, salt, params, emptyPassphrase: passphrase === '' };
}

/**
 * The version 2 document: the contents encrypted under `key` with a new random nonce (or the
 * one given, for test vectors), the clear members bound to them as authenticated data.
 */
export function sealKeystore(ks: Keystore, key: KeystoreKey, nonce: Uint8Array = randomBytes(24)): string {
  const identityKey = toB64u(identityPublicKey(ks));
  const aad = envelopeAad(ks.address, ks.node, identityKey);
  const ciphertext = xchacha20poly1305(key.key, nonce, aad).encrypt(utf8(serializeContents(ks)));
  const json = {
    format: KEYSTORE_FORMAT,
    version: KEYSTORE_VERSION,
    address: ks.address,
    node: ks.node,
    identityKey,
    kdf: { name: 'scrypt', salt: toB64u(key.salt), ...key.params },
    ...(key.emptyPassphrase ? { emptyPassphrase: true } : {}),
    cipher: { name: 'xchacha20-poly1305', nonce: toB64u(nonce) },
    ciphertext: toB64u(ciphertext),
    ...key.envelopeExtensions,
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** What a keystore document says without the passphrase. @throws `invalid_keystore`. */
export function readKeystoreHeader(text: string): KeystoreHeader {
  const raw = parseJson(text, 'keystore');
  const head = z
    .looseObject({ format: z.literal(KEYSTORE_FORMAT), version: z.union([z.literal(1), z.literal(2)]) })
    .safeParse(raw);
  if (!head.success) throw invalid(describeIssue(head.error, 'keystore'));
  if (head.data.version === 1) {
    const ks = parsePlainKeystore(text);
    return {
      version: 1,
      address: ks.address,
      node: ks.node,
      identityKey: identityPublicKey(ks),
      emptyPassphrase: true,
    };
  }
  const env = parseEnvelope(raw);
  return {
    version: 2,
    address: env.address,
    node: env.node,
    identityKey: fromB64uSized(env.identityKey, 32, 'identityKey', 'invalid_keystore'),
    emptyPassphrase: env.emptyPassphrase === true,
  };
}

function parseEnvelope(raw: unknown) {
  const parsed = EnvelopeJson.safeParse(raw);
  if (!parsed.success) throw invalid(describeIssue(parsed.error, 'keystore'));
  return parsed.data;
}

/**
 * Opens a version 2 document with the passphrase.
 *
 * @throws KeyPearsError `wrong_passphrase` when the AEAD does not open (a wrong passphrase, or
 *   a file changed by someone else), `invalid_keystore` for a malformed document.
 */
export async function openKeystore(
  text: string,
  passphrase: string,
  opts: { scrypt?: ScryptFunction } = {},
): Promise<{ ks: Keystore; key: KeystoreKey }> {
  const env = parseEnvelope(parseJson(text, 'keystore'));
  const params = { logN: env.kdf.logN, r: env.kdf.r, p: env.kdf.p };
  checkParams(params);
  const salt = fromB64uSized(env.kdf.salt, 16, 'kdf.salt', 'invalid_keystore');
  const nonce = fromB64uSized(env.cipher.nonce, 24, 'cipher.nonce', 'invalid_keystore');
  fromB64uSized(env.identityKey, 32, 'identityKey', 'invalid_keystore');
  const ciphertext = fromB64u(env.ciphertext, 'ciphertext', 'invalid_keystore');
  const derived = await (opts.scrypt ?? nobleScrypt)(passphraseBytes(passphrase), salt, params);
  let plaintext: Uint8Array;
  try {
    plaintext = xchacha20poly1305(derived, nonce, envelopeAad(env.address, env.node, env.identityKey)).decrypt(
      ciphertext,
    );
  } catch {
    throw new KeyPearsError(
      'wrong_passphrase',
      'the passphrase does not open this keystore (or the file was altered); nothing was changed',
    );
  }
  let contents: string;
  try {
    contents = new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
  } catch {
    throw invalid('the decrypted contents are not UTF-8');
  }
  const ks = parseContents(parseJson(contents, 'contents'), 'contents');
  if (ks.address !== env.address || ks.node !== env.node || toB64u(identityPublicKey(ks)) !== env.identityKey) {
    throw invalid('the clear members of the keystore do not match its encrypted contents');
  }
  const envelopeExtensions = Object.fromEntries(Object.entries(env).filter(([name]) => !ENVELOPE_MEMBERS.has(name)));
  return {
    ks,
    key: {
      key: derived,
      salt,
      params,
      emptyPassphrase: env.emptyPassphrase === true,
      ...(Object.keys(envelopeExtensions).length > 0 ? { envelopeExtensions } : {}),
    },
  };
}
