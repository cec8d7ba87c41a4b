import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../protocol/encoding.js';
import { CHEAP_SCRYPT, sampleKeystore } from '../../test/support/sample-keystore.js';
import {
  nobleScrypt,
  newKeystoreKey,
  openKeystore,
  parsePlainKeystore,
  passphraseBytes,
  readKeystoreHeader,
  sealKeystore,
  serializeContents,
  serializePlainKeystore,
} from './keystore-format.js';
import { nodeScrypt } from './keystore.js';

const CHEAP = CHEAP_SCRYPT;

interface Vector {
  passphrase: string;
  scrypt: { salt: string; logN: number; r: number; p: number };
  key: string;
  nonce: string;
  aad: string;
  contents: string;
  file: string;
}
const vector = JSON.parse(
  readFileSync(new URL('../../docs/test-vectors/keystore.json', import.meta.url), 'utf8'),
) as Vector;

describe('docs/test-vectors/keystore.json', () => {
  const { salt, ...params } = vector.scrypt;

  it('derives the key with scrypt, the same through noble and node:crypto', async () => {
    const password = passphraseBytes(vector.passphrase);
    expect(toHex(await nobleScrypt(password, fromHex(salt), params))).toBe(vector.key);
    expect(toHex(await nodeScrypt(password, fromHex(salt), params))).toBe(vector.key);
  });

  it('opens the file to the contents, and seals the contents to the same bytes', async () => {
    const { ks, key } = await openKeystore(vector.file, vector.passphrase);
    expect(toHex(key.key)).toBe(vector.key);
    expect(serializeContents(ks)).toBe(vector.contents);
    expect(sealKeystore(ks, key, fromHex(vector.nonce))).toBe(vector.file);
    const header = JSON.parse(vector.file) as { address: string; node: string; identityKey: string };
    expect(JSON.stringify(['keypears-keystore', 2, header.address, header.node, header.identityKey])).toBe(vector.aad);
  });
});

describe('the sealed keystore', () => {
  it('round-trips every secret, and every save draws a new nonce', async () => {
    const ks = sampleKeystore();
    const key = await newKeystoreKey('pass', { params: CHEAP });
    const a = sealKeystore(ks, key);
    const b = sealKeystore(ks, key);
    expect(a).not.toBe(b);
    const opened = await openKeystore(a, 'pass');
    expect(opened.ks).toMatchObject(ks);
    expect(serializeContents(opened.ks)).toBe(serializeContents(ks));
    expect(a).not.toContain(serializeContents(ks).slice(0, 40));
  });

  it('keeps no secret in the clear', async () => {
    const ks = sampleKeystore();
    const text = sealKeystore(ks, await newKeystoreKey('pass', { params: CHEAP }));
    const plain = JSON.parse(serializePlainKeystore(ks)) as { identity: { ed25519SecretKey: string } };
    expect(text).not.toContain(plain.identity.ed25519SecretKey);
    expect(Object.keys(JSON.parse(text) as object).sort()).toEqual(
      ['address', 'cipher', 'ciphertext', 'format', 'identityKey', 'kdf', 'node', 'version'].sort(),
    );
  });

  it('refuses a wrong passphrase, and a changed clear member, as wrong_passphrase', async () => {
    const ks = sampleKeystore();
    const text = sealKeystore(ks, await newKeystoreKey('right', { params: CHEAP }));
    await expect(openKeystore(text, 'wrong')).rejects.toMatchObject({ code: 'wrong_passphrase' });
    const moved = text.replace('"node": "https://kp.a.example"', '"node": "https://evil.example"');
    expect(moved).not.toBe(text);
    await expect(openKeystore(moved, 'right')).rejects.toMatchObject({ code: 'wrong_passphrase' });
  });

  it('normalises the passphrase (NFC): the same text typed differently opens it', async () => {
    const ks = sampleKeystore();
    const text = sealKeystore(ks, await newKeystoreKey('caf\u00e9', { params: CHEAP }));
    await expect(openKeystore(text, 'cafe\u0301')).resolves.toMatchObject({ ks: { address: ks.address } });
  });

  it('takes an empty passphrase only when asked for, and records it', async () => {
    await expect(newKeystoreKey('', { params: CHEAP })).rejects.toMatchObject({ code: 'invalid_argument' });
    const key = await newKeystoreKey('', { params: CHEAP, allowEmpty: true });
    const text = sealKeystore(sampleKeystore(), key);
    expect(readKeystoreHeader(text)).toMatchObject({ version: 2, emptyPassphrase: true });
    await expect(openKeystore(text, '')).resolves.toBeDefined();
  });

  it('keeps members it does not know, inside and outside the encryption', async () => {
    const ks = sampleKeystore();
    ks.extensions = { transparency: { checkpoints: [1, 2, 3] } };
    const key = await newKeystoreKey('pass', { params: CHEAP });
    const withOuter = JSON.stringify({ ...(JSON.parse(sealKeystore(ks, key)) as object), futureMember: 'x' });
    const opened = await openKeystore(withOuter, 'pass');
    expect(opened.ks.extensions).toEqual({ transparency: { checkpoints: [1, 2, 3] } });
    const again = JSON.parse(sealKeystore(opened.ks, opened.key)) as Record<string, unknown>;
    expect(again.futureMember).toBe('x');
    expect((await openKeystore(JSON.stringify(again), 'pass')).ks.extensions).toEqual(ks.extensions);
  });

  it('refuses scrypt parameters outside the accepted range (a hostile file cannot ask for 16 GiB)', async () => {
    const text = sealKeystore(sampleKeystore(), await newKeystoreKey('pass', { params: CHEAP }));
    const json = JSON.parse(text) as { kdf: Record<string, unknown> };
    for (const change of [{ logN: 30 }, { logN: 20, r: 32 }, { logN: 4 }, { p: 0 }]) {
      const bad = JSON.stringify({ ...json, kdf: { ...json.kdf, ...change } });
      await expect(openKeystore(bad, 'pass')).rejects.toMatchObject({ code: 'invalid_keystore' });
    }
  });
});

describe('the version 1 keystore (unencrypted)', () => {
  it('parses as earlier clients wrote it and names what is wrong', () => {
    const ks = sampleKeystore();
    const text = serializePlainKeystore(ks);
    expect(parsePlainKeystore(text)).toMatchObject(ks);
    expect(readKeystoreHeader(text)).toMatchObject({ version: 1, address: ks.address, node: ks.node });
    const json = JSON.parse(text) as Record<string, unknown>;
    expect(() => parsePlainKeystore('{')).toThrow(/JSON/);
    expect(() => readKeystoreHeader(JSON.stringify({ ...json, version: 3 }))).toThrow(/version/);
    const shortKey = { ...json, identity: { ...(json.identity as object), ed25519SecretKey: 'AAAA' } };
    expect(() => parsePlainKeystore(JSON.stringify(shortKey))).toThrow(/ed25519SecretKey/);
  });
});
