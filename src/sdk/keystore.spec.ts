import { describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  newKeystoreKey,
  saveKeystore,
  serializeContents,
  serializePlainKeystore,
  unlockKeystore,
  type PassphraseSource,
} from './keystore.js';
import { CHEAP_SCRYPT as CHEAP, sampleKeystore } from '../../test/support/sample-keystore.js';

/** A source that answers `passphrase`, counting what it was asked. */
function source(passphrase: string) {
  const asked: string[] = [];
  const s: PassphraseSource = {
    existing: async (address) => (asked.push(`existing ${address}`), passphrase),
    fresh: async (address) => (asked.push(`fresh ${address}`), { passphrase, allowEmpty: false }),
  };
  return { s, asked };
}

async function withRoot(f: (root: string) => Promise<void>) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'kp-ks-'));
  try {
    await f(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('keystore files', () => {
  it('writes keystore.json with mode 0600 in a 0700 directory and refuses looser permissions', () =>
    withRoot(async (root) => {
      const dir = path.join(root, 'home');
      const ks = sampleKeystore();
      const key = await newKeystoreKey('pass', { params: CHEAP });
      await saveKeystore(dir, ks, key);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      const file = path.join(dir, 'keystore.json');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await unlockKeystore(dir, source('pass').s)).ks).toMatchObject(ks);
      expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ format: 'keypears-keystore', version: 2 });
      await chmod(file, 0o644);
      await expect(unlockKeystore(dir, source('pass').s)).rejects.toMatchObject({ code: 'insecure_keystore' });
      await chmod(dir, 0o755);
      await saveKeystore(dir, ks, key);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    }));

  it('leaves the file as it was after a wrong passphrase', () =>
    withRoot(async (root) => {
      await saveKeystore(root, sampleKeystore(), await newKeystoreKey('right', { params: CHEAP }));
      const before = await readFile(path.join(root, 'keystore.json'));
      await expect(unlockKeystore(root, source('wrong').s)).rejects.toMatchObject({ code: 'wrong_passphrase' });
      expect(await readFile(path.join(root, 'keystore.json'))).toEqual(before);
    }));

  it('seals a version 1 keystore under a new passphrase at its first use', () =>
    withRoot(async (root) => {
      const ks = sampleKeystore();
      const file = path.join(root, 'keystore.json');
      await writeFile(file, serializePlainKeystore(ks), { mode: 0o600 });
      const first = source('new pass');
      const unlocked = await unlockKeystore(root, first.s, { params: CHEAP });
      expect(unlocked.upgraded).toBe(true);
      expect(first.asked).toEqual(['fresh alice@a.example']);
      expect(serializeContents(unlocked.ks)).toBe(serializeContents(ks));
      const text = await readFile(file, 'utf8');
      expect(JSON.parse(text)).toMatchObject({ version: 2, kdf: { name: 'scrypt', ...CHEAP } });
      expect(text).not.toContain(serializeContents(ks).slice(0, 40));
      const again = await unlockKeystore(root, source('new pass').s);
      expect(again.upgraded).toBe(false);
      expect(serializeContents(again.ks)).toBe(serializeContents(ks));
    }));

  it('opens a keystore sealed under an empty passphrase without asking', () =>
    withRoot(async (root) => {
      await saveKeystore(root, sampleKeystore(), await newKeystoreKey('', { params: CHEAP, allowEmpty: true }));
      const s = source('never used');
      await unlockKeystore(root, s.s);
      expect(s.asked).toEqual([]);
    }));

  it('says how to start when there is no keystore', async () => {
    await expect(unlockKeystore(path.join(os.tmpdir(), 'kp-missing-home'), source('x').s)).rejects.toMatchObject({
      code: 'no_keystore',
    });
  });
});
