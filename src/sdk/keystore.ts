/**
 * The local keystore: one JSON file, `keystore.json`, with owner-only permissions (0600) in an
 * owner-only directory (0700). It holds every secret key of one address. The format is
 * documented in docs/keystore.md for other implementations; version 1.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  ed25519PublicKey,
  MLKEM768_SECRET_KEY_LENGTH,
  X25519_KEY_LENGTH,
  ED25519_SECRET_KEY_LENGTH,
} from '../protocol/crypto.js';
import { fromB64uSized, toB64u } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import { AddressSchema, KeyIdSchema } from '../protocol/wire.js';
import {
  ExchangeIdKey,
  parseExchanges,
  serializeExchanges,
  StoredExchangeJson,
  type StoredExchange,
} from './exchange-record.js';
import { parseTransparency, serializeTransparency, TransparencyJson, type TransparencyState } from './transparency.js';

export const KEYSTORE_FILE = 'keystore.json';
export const KEYSTORE_FORMAT = 'keypears-keystore';
export const KEYSTORE_VERSION = 1;

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
  /** Key-transparency pins, tree heads, the own entry and evidence (src/sdk/transparency.ts). */
  transparency?: TransparencyState;
}

const b64u = z.string().max(4096);
const UnixSeconds = z.int().min(0);
const StoredKeyJson = z.strictObject({ id: KeyIdSchema, secretKey: b64u, createdAt: UnixSeconds });
const KeyIdText = z.string().regex(/^(0|[1-9][0-9]{0,9})$/);

const KeystoreJson = z.strictObject({
  format: z.literal(KEYSTORE_FORMAT),
  version: z.literal(KEYSTORE_VERSION),
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
  transparency: TransparencyJson.optional(),
});
type KeystoreJson = z.infer<typeof KeystoreJson>;

/** The identity public key of a keystore. */
export const identityPublicKey = (ks: Keystore): Uint8Array => ed25519PublicKey(ks.identitySecretKey);

export function serializeKeystore(ks: Keystore): string {
  const key = (k: StoredKey) => ({ id: k.id, secretKey: toB64u(k.secretKey), createdAt: k.createdAt });
  const map = (m: Map<number, Uint8Array>) => Object.fromEntries([...m].map(([id, sk]) => [String(id), toB64u(sk)]));
  const json: KeystoreJson = {
    format: KEYSTORE_FORMAT,
    version: KEYSTORE_VERSION,
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
    transparency: serializeTransparency(ks.transparency),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** @throws KeyPearsError `invalid_keystore` naming what is wrong. */
export function parseKeystore(text: string): Keystore {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new KeyPearsError('invalid_keystore', 'the keystore is not valid JSON');
  }
  const parsed = KeystoreJson.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KeyPearsError('invalid_keystore', `keystore ${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
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
    exchanges: parseExchanges(json.exchanges),
    transparency: parseTransparency(json.transparency),
  };
}

export const keystorePath = (dir: string): string => path.join(dir, KEYSTORE_FILE);

export async function keystoreExists(dir: string): Promise<boolean> {
  return stat(keystorePath(dir)).then(
    () => true,
    () => false,
  );
}

/**
 * Reads the keystore of `dir`. Refuses a keystore that other users can read or write, as
 * ssh does with private keys.
 *
 * @throws KeyPearsError `no_keystore`, `insecure_keystore` or `invalid_keystore`.
 */
export async function loadKeystore(dir: string): Promise<Keystore> {
  const file = keystorePath(dir);
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new KeyPearsError('no_keystore', `no keystore in ${dir} (run "keypears init <address>" first)`);
  }
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new KeyPearsError('insecure_keystore', `${file} is accessible to other users; run: chmod 600 ${file}`);
  }
  return parseKeystore(await readFile(file, 'utf8'));
}

/**
 * Writes the keystore atomically (a new file with mode 0600, then renamed over the old one),
 * creating `dir` with mode 0700 and tightening it when it is more open.
 */
export async function saveKeystore(dir: string, ks: Keystore): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) await chmod(dir, 0o700);
  const file = keystorePath(dir);
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(serializeKeystore(ks), 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}
