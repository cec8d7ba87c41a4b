import { describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildPrekeyUpload, createKeystore, planTopUp } from './identity.js';
import { loadKeystore, parseKeystore, saveKeystore, serializeKeystore } from './keystore.js';

const NOW = 1_800_000_000;

function sampleKeystore() {
  const ks = createKeystore('alice@a.example', 'https://kp.a.example', NOW);
  const status = {
    address: ks.address,
    fingerprint: '',
    oneTimePrekeys: 0,
    pqOneTimePrekeys: 0,
    maxOneTimePrekeys: 1000,
    signedPrekey: null,
    pqLastResort: null,
  };
  buildPrekeyUpload(ks, planTopUp(ks, status, 3, NOW), NOW);
  ks.registeredAt = NOW + 1;
  return ks;
}

describe('keystore format', () => {
  it('round-trips every secret', () => {
    const ks = sampleKeystore();
    const text = serializeKeystore(ks);
    const parsed = parseKeystore(text);
    expect(parsed).toMatchObject(ks);
    expect(serializeKeystore(parsed)).toBe(text);
  });

  it('refuses malformed files naming the problem', () => {
    const json = JSON.parse(serializeKeystore(sampleKeystore())) as Record<string, unknown>;
    expect(() => parseKeystore('{')).toThrow(/JSON/);
    expect(() => parseKeystore(JSON.stringify({ ...json, version: 2 }))).toThrow(/version/);
    const shortKey = { ...json, identity: { ...(json.identity as object), ed25519SecretKey: 'AAAA' } };
    expect(() => parseKeystore(JSON.stringify(shortKey))).toThrow(/ed25519SecretKey/);
  });
});

describe('keystore files', () => {
  it('writes keystore.json with mode 0600 in a 0700 directory and refuses looser permissions', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'kp-ks-'));
    try {
      const dir = path.join(root, 'home');
      const ks = sampleKeystore();
      await saveKeystore(dir, ks);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      const file = path.join(dir, 'keystore.json');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await loadKeystore(dir)).toMatchObject(ks);
      expect(JSON.parse(await readFile(file, 'utf8')).format).toBe('keypears-keystore');
      await chmod(file, 0o644);
      await expect(loadKeystore(dir)).rejects.toMatchObject({ code: 'insecure_keystore' });
      await chmod(dir, 0o755);
      await saveKeystore(dir, ks);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('says how to start when there is no keystore', async () => {
    await expect(loadKeystore(path.join(os.tmpdir(), 'kp-missing-home'))).rejects.toMatchObject({
      code: 'no_keystore',
    });
  });
});
