/**
 * The keystore on disk: one file, `keystore.json`, with owner-only permissions (0600) in an
 * owner-only directory (0700), sealed under a passphrase (the format, with no file I/O, is
 * ./keystore-format.ts; docs/keystore.md describes it for other implementations). Where the
 * passphrase comes from (a terminal, the environment) is the caller's: a PassphraseSource.
 */
import { randomBytes, scrypt as nodeScryptCallback } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { KeyPearsError } from '../protocol/errors.js';
import {
  MAX_KEYSTORE_BYTES,
  newKeystoreKey,
  openKeystore,
  parsePlainKeystore,
  readKeystoreHeader,
  scryptMemory,
  sealKeystore,
  type Keystore,
  type KeystoreHeader,
  type KeystoreKey,
  type ScryptFunction,
  type ScryptParams,
} from './keystore-format.js';

export * from './keystore-format.js';

export const KEYSTORE_FILE = 'keystore.json';

/** node:crypto's scrypt (OpenSSL): the same result as @noble/hashes' in a fraction of the time. */
export const nodeScrypt: ScryptFunction = (password, salt, params) =>
  new Promise((resolve, reject) =>
    nodeScryptCallback(
      password,
      salt,
      32,
      { N: 2 ** params.logN, r: params.r, p: params.p, maxmem: scryptMemory(params) * 2 },
      (error, key) => (error ? reject(error) : resolve(new Uint8Array(key))),
    ),
  );

/** Where the passphrase of a keystore comes from (a prompt, the environment, a test). */
export interface PassphraseSource {
  /** The passphrase of the existing keystore of `address`. */
  existing(address: string): Promise<string>;
  /**
   * A new passphrase for `address` (a new keystore, a changed passphrase, or a plain keystore
   * being upgraded); `allowEmpty` when the user asked for none.
   */
  fresh(address: string): Promise<{ passphrase: string; allowEmpty: boolean }>;
}

export const keystorePath = (dir: string): string => path.join(dir, KEYSTORE_FILE);

export async function keystoreExists(dir: string): Promise<boolean> {
  return stat(keystorePath(dir)).then(
    () => true,
    () => false,
  );
}

/**
 * The text of the keystore of `dir`. Refuses a keystore that other users can read or write,
 * as ssh does with private keys.
 *
 * @throws KeyPearsError `no_keystore`, `insecure_keystore` or `invalid_keystore` (too large).
 */
export async function readKeystoreText(dir: string): Promise<string> {
  const file = keystorePath(dir);
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new KeyPearsError(
      'no_keystore',
      `no keystore in ${dir}: run "keypears init <address>" first, or point --home (or KEYPEARS_HOME) at the folder that holds yours`,
    );
  }
  if (!info.isFile()) throw new KeyPearsError('invalid_keystore', `${file} is not a file`);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new KeyPearsError('insecure_keystore', `${file} is accessible to other users; run: chmod 600 ${file}`);
  }
  if (info.size > MAX_KEYSTORE_BYTES) {
    throw new KeyPearsError('invalid_keystore', `${file} is larger than ${MAX_KEYSTORE_BYTES} bytes`);
  }
  return readFile(file, 'utf8');
}

/** What the keystore of `dir` says without its passphrase (address, node, identity key). */
export async function loadKeystoreHeader(dir: string): Promise<KeystoreHeader> {
  return readKeystoreHeader(await readKeystoreText(dir));
}

/** An unlocked keystore and the key that seals it again. */
export interface UnlockedKeystore {
  ks: Keystore;
  key: KeystoreKey;
  /** The file was a version 1 (unencrypted) keystore and has just been sealed. */
  upgraded: boolean;
}

/**
 * Reads and decrypts the keystore of `dir`. A version 1 keystore (unencrypted, as earlier
 * clients wrote it) is sealed under a new passphrase from `source` and written back first.
 * A keystore sealed under an empty passphrase opens without asking.
 *
 * @throws KeyPearsError `no_keystore`, `insecure_keystore`, `invalid_keystore`,
 *   `wrong_passphrase` (the file is left as it was), or the source's own errors.
 */
export async function unlockKeystore(
  dir: string,
  source: PassphraseSource,
  opts: { params?: ScryptParams } = {},
): Promise<UnlockedKeystore> {
  const text = await readKeystoreText(dir);
  const header = readKeystoreHeader(text);
  if (header.version === 1) {
    const ks = parsePlainKeystore(text);
    const { passphrase, allowEmpty } = await source.fresh(ks.address);
    const key = await newKeystoreKey(passphrase, { params: opts.params, allowEmpty, scrypt: nodeScrypt });
    await saveKeystore(dir, ks, key);
    return { ks, key, upgraded: true };
  }
  const passphrase = header.emptyPassphrase ? '' : await source.existing(header.address);
  const { ks, key } = await openKeystore(text, passphrase, { scrypt: nodeScrypt });
  return { ks, key, upgraded: false };
}

/** A new key for `ks` from a fresh passphrase of `source` (for `init` and `keypears passphrase`). */
export async function keyFromSource(
  address: string,
  source: PassphraseSource,
  opts: { params?: ScryptParams } = {},
): Promise<KeystoreKey> {
  const { passphrase, allowEmpty } = await source.fresh(address);
  return newKeystoreKey(passphrase, { params: opts.params, allowEmpty, scrypt: nodeScrypt });
}

/**
 * Seals and writes the keystore atomically (a new file with mode 0600, fsync, then renamed
 * over the old one), creating `dir` with mode 0700 and tightening it when it is more open.
 */
export async function saveKeystore(dir: string, ks: Keystore, key: KeystoreKey): Promise<void> {
  await writeKeystoreText(dir, sealKeystore(ks, key));
}

/** Writes a keystore document atomically with owner-only permissions. */
export async function writeKeystoreText(dir: string, text: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) await chmod(dir, 0o700);
  const file = keystorePath(dir);
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
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
