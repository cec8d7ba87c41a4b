/**
 * The keystore as the app keeps it: sealed under the passphrase in the CLI's format
 * (src/sdk/keystore-format.ts, docs/keystore.md), stored in IndexedDB (./storage.ts). A
 * keystore exported here opens with the CLI and the other way round.
 */
import { KeyPearsError } from '../../protocol/errors.js';
import {
  newKeystoreKey,
  openKeystore,
  parsePlainKeystore,
  readKeystoreHeader,
  sealKeystore,
  type Keystore,
  type KeystoreHeader,
  type KeystoreKey,
} from '../../sdk/keystore-format.js';
import { readKeystoreDocument, writeKeystoreDocument } from './storage.js';

export type { Keystore, KeystoreHeader, KeystoreKey };

/** Passphrases shorter than this are refused when one is chosen (the CLI allows any, with a warning). */
export const MIN_PASSPHRASE_LENGTH = 10;

export interface Unlocked {
  ks: Keystore;
  key: KeystoreKey;
}

/** The stored document's clear header (address, node, identity key), or undefined when none is stored. */
export async function storedHeader(): Promise<{ text: string; header: KeystoreHeader } | undefined> {
  const text = await readKeystoreDocument();
  return text === undefined ? undefined : { text, header: readKeystoreHeader(text) };
}

/** Checks a new passphrase and its repetition. @throws KeyPearsError `invalid_argument`. */
export function checkNewPassphrase(passphrase: string, repeated: string): void {
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new KeyPearsError(
      'invalid_argument',
      `Choose a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters (several words are easiest to remember).`,
    );
  }
  if (passphrase !== repeated) throw new KeyPearsError('invalid_argument', 'The two passphrases are not the same.');
}

/** Seals a new keystore under a new passphrase and stores it. */
export async function storeNew(ks: Keystore, passphrase: string): Promise<Unlocked> {
  const key = await newKeystoreKey(passphrase);
  await writeKeystoreDocument(sealKeystore(ks, key));
  return { ks, key };
}

/**
 * Opens the stored document. A version 1 (unencrypted) keystore, as older CLIs wrote it, is
 * sealed under `passphrase` and stored back first.
 *
 * @throws KeyPearsError `wrong_passphrase`, `invalid_keystore`.
 */
export async function unlock(text: string, header: KeystoreHeader, passphrase: string): Promise<Unlocked> {
  if (header.version === 1) return storeNew(parsePlainKeystore(text), passphrase);
  return openKeystore(text, header.emptyPassphrase ? '' : passphrase);
}

/** Seals the keystore again (a new nonce, the same key) and stores it. */
export function save({ ks, key }: Unlocked): Promise<void> {
  return writeKeystoreDocument(sealKeystore(ks, key));
}

/**
 * Takes a keystore document from a file for this node: checks it is one and that it belongs
 * here, then stores it in place of any other.
 *
 * @throws KeyPearsError `invalid_keystore`, or `invalid_argument` for another node's keystore.
 */
export async function importDocument(text: string, nodeBaseUrl: string): Promise<KeystoreHeader> {
  const header = readKeystoreHeader(text);
  if (header.node !== nodeBaseUrl) {
    throw new KeyPearsError(
      'invalid_argument',
      `This keystore belongs to ${header.address} on the node ${header.node}; this page can only talk to ${nodeBaseUrl}. Open the app on that node instead.`,
    );
  }
  await writeKeystoreDocument(text);
  return header;
}
