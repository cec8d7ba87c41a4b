/**
 * docs/test-vectors/transparency.json: the file is exactly what the code generates (so a change
 * to a format fails here until the vectors are regenerated), and every value is re-derived
 * below from SHA-256, Ed25519, the VRF and length prefixes as docs/transparency.md writes them
 * (so a change to the code that also rewrote the vectors fails here too).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519PublicKey, ed25519Sign, ed25519Verify, x25519PublicKey } from '../crypto.js';
import { concatBytes, fromHex, lengthPrefixed, toHex, utf8 } from '../encoding.js';
import { cosignatureVerifier, openCheckpoint, parseTlogProof, witnessCosignature } from './checkpoint.js';
import { checkRegistrationRecord, verifyLabel } from './entry.js';
import { verifyLogAnswer } from './log-verifier.js';
import { treeHash, verifyConsistency, verifyInclusion } from './merkle.js';
import { transparencyVectors } from './vectors.js';
import { vrfProofToHash, vrfProve, vrfPublicKey, vrfVerify } from './vrf.js';

const vectors = JSON.parse(readFileSync('docs/test-vectors/transparency.json', 'utf8'));
const { keys } = vectors;

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const seed = (name: string) => sha256(utf8(`KeyPears test vector ${name}`));
const keyId = (name: string, type: number, pk: Uint8Array) =>
  sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, type), pk)).subarray(0, 4);
const vkey = (name: string, type: number, pk: Uint8Array) =>
  `${name}+${toHex(keyId(name, type, pk))}+${b64(concatBytes(Uint8Array.of(type), pk))}`;
const u64 = (n: number) => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
};

it('the file is what the code generates', () => {
  expect(vectors).toEqual(JSON.parse(JSON.stringify(transparencyVectors())));
});

describe('re-derived from the primitives', () => {
  const leaves: Uint8Array[] = vectors.tree.entries.map((e: string) =>
    sha256(concatBytes(Uint8Array.of(0), fromHex(e))),
  );
  const root = treeHash(leaves);

  it('keys', () => {
    expect(keys.logSecretKey).toBe(toHex(seed('log key')));
    expect(keys.logKey).toBe(vkey(keys.origin, 0x01, ed25519PublicKey(seed('log key'))));
    expect(keys.vrfSecretKey).toBe(toHex(seed('vrf')));
    expect(keys.vrfPublicKey).toBe(toHex(vrfPublicKey(seed('vrf'))));
    expect(keys.witnessKey).toBe(vkey(keys.witnessName, 0x04, ed25519PublicKey(seed('witness key'))));
  });

  it.each<[string, any]>(vectors.accounts.map((a: any) => [a.address, a]))('account %s', (address, a) => {
    const ik = ed25519PublicKey(seed(`identity ${address}`));
    const dh = x25519PublicKey(seed(`identity-dh ${address}`));
    expect([a.identityKey, a.identityDhKey.publicKey]).toEqual([toHex(ik), toHex(dh)]);
    const dhStatement = lengthPrefixed('KeyPears/v1 prekey', 'identity-dh', address, '1', dh);
    expect(ed25519Verify(fromHex(a.identityDhKey.signature), dhStatement, ik)).toBe(true);
    if (a.registrationProof) {
      const statement = lengthPrefixed(
        'KeyPears/v1 register',
        address,
        keys.nodeBaseUrl,
        ik,
        dh,
        String(a.registeredAt),
      );
      expect(ed25519Verify(fromHex(a.registrationProof), statement, ik)).toBe(true);
    }
    const alpha = lengthPrefixed('KeyPears/v1 kt-label', address);
    expect(a.labelInput).toBe(toHex(alpha));
    expect(a.vrfProof).toBe(toHex(vrfProve(seed('vrf'), alpha)));
    expect(toHex(vrfVerify(vrfPublicKey(seed('vrf')), alpha, fromHex(a.vrfProof))!)).toBe(
      toHex(vrfProofToHash(fromHex(a.vrfProof))),
    );
    expect(a.label).toBe(toHex(vrfProofToHash(fromHex(a.vrfProof)).subarray(0, 32)));
    const value = lengthPrefixed(
      keys.nodeBaseUrl,
      ik,
      '1',
      dh,
      fromHex(a.identityDhKey.signature),
      a.registeredAt === null ? '' : String(a.registeredAt),
      a.registrationProof === null ? new Uint8Array(0) : fromHex(a.registrationProof),
    );
    expect(a.value).toBe(toHex(value));
    expect(a.opening).toBe(toHex(seed(`opening ${address}`)));
    const commitment = sha256(lengthPrefixed('KeyPears/v1 kt-commitment', a.kind, fromHex(a.opening), address, value));
    expect(a.commitment).toBe(toHex(commitment));
    const entry = lengthPrefixed('KeyPears/v1 kt-entry', a.kind, fromHex(a.label), commitment);
    expect(a.entry).toBe(toHex(entry));
    expect(a.leafHash).toBe(toHex(sha256(concatBytes(Uint8Array.of(0), entry))));
  });

  it('the log-start entry', () => {
    const { origin, startedAt } = vectors.logStart;
    const commitment = sha256(lengthPrefixed('KeyPears/v1 kt-log-start', origin, String(startedAt), '', ''));
    expect(vectors.logStart.commitment).toBe(toHex(commitment));
    expect(vectors.logStart.entry).toBe(
      toHex(lengthPrefixed('KeyPears/v1 kt-entry', 'log-start', new Uint8Array(32), commitment)),
    );
    expect(vectors.tree.entries).toEqual([vectors.logStart.entry, ...vectors.accounts.map((a: any) => a.entry)]);
  });

  it('the tree: roots, proofs, stored rows and frontier', () => {
    const n = leaves.length;
    expect(vectors.tree.leafHashes).toEqual(leaves.map(toHex));
    expect(vectors.tree.roots).toEqual(leaves.map((_, i) => toHex(treeHash(leaves.slice(0, i + 1)))));
    for (const { index, size, proof } of vectors.tree.inclusion) {
      expect(verifyInclusion(index, size, leaves[index], proof.map(fromHex), root)).toBe(true);
    }
    for (const { from, to, proof } of vectors.tree.consistency) {
      expect(verifyConsistency(from, to, treeHash(leaves.slice(0, from)), root, proof.map(fromHex))).toBe(true);
    }
    // Row i holds the hash of every subtree that ends at leaf i: sizes 1, 2, 4, ... while aligned.
    vectors.tree.rows.forEach((row: string, i: number) => {
      const hashes: Uint8Array[] = [];
      for (let width = 1; (i + 1) % width === 0; width *= 2) hashes.push(treeHash(leaves.slice(i + 1 - width, i + 1)));
      expect(row).toBe(toHex(concatBytes(...hashes)));
    });
    expect(n).toBe(5);
    expect(vectors.tree.frontier).toEqual([toHex(treeHash(leaves.slice(0, 4))), toHex(leaves[4])]);
  });

  it('the checkpoint note', () => {
    const text = `${keys.origin}\n${leaves.length}\n${b64(root)}\n`;
    expect(vectors.checkpoint.text).toBe(text);
    const signature = ed25519Sign(utf8(text), seed('log key'));
    const id = keyId(keys.origin, 0x01, ed25519PublicKey(seed('log key')));
    expect(vectors.checkpoint.note).toBe(`${text}\n\u2014 ${keys.origin} ${b64(concatBytes(id, signature))}\n`);
  });

  it('the cosignature', () => {
    const { time } = vectors.cosignature;
    const message = `cosignature/v1\ntime ${time}\n${vectors.checkpoint.text}`;
    expect(vectors.cosignature.message).toBe(message);
    const id = keyId(keys.witnessName, 0x04, ed25519PublicKey(seed('witness key')));
    const signature = ed25519Sign(utf8(message), seed('witness key'));
    expect(vectors.cosignature.line).toBe(`\u2014 ${keys.witnessName} ${b64(concatBytes(id, u64(time), signature))}`);
    expect(vectors.cosignature.note).toBe(`${vectors.checkpoint.note}${vectors.cosignature.line}\n`);
  });

  it('the tlog-proof and the add-checkpoint body', () => {
    const alice = vectors.tree.inclusion[2];
    expect(vectors.tlogProof).toBe(
      `c2sp.org/tlog-proof@v1\nextra ${b64(fromHex(vectors.tree.entries[2]))}\nindex 2\n` +
        `${alice.proof.map((h: string) => `${b64(fromHex(h))}\n`).join('')}\n${vectors.cosignature.note}`,
    );
    const fromThree = vectors.tree.consistency[3].proof.map((h: string) => `${b64(fromHex(h))}\n`).join('');
    expect(vectors.addCheckpoint).toBe(`old 3\n${fromThree}\n${vectors.checkpoint.note}`);
  });
});

describe('verified through the API', () => {
  const identity = {
    origin: keys.origin,
    logKey: keys.logKey,
    vrfKey: fromHex(keys.vrfPublicKey),
    importEnd: keys.importEnd,
  };

  it("alice's entry, label and record verify against the cosigned checkpoint", () => {
    const alice = vectors.accounts[1];
    expect(toHex(verifyLabel(identity.vrfKey, alice.address, fromHex(alice.vrfProof))!)).toBe(alice.label);
    const record = {
      nodeBaseUrl: keys.nodeBaseUrl,
      identityKey: fromHex(alice.identityKey),
      identityDhKey: {
        ...alice.identityDhKey,
        publicKey: fromHex(alice.identityDhKey.publicKey),
        signature: fromHex(alice.identityDhKey.signature),
      },
      registeredAt: alice.registeredAt,
      registrationProof: fromHex(alice.registrationProof),
    };
    expect(() => checkRegistrationRecord('register', alice.address, record)).not.toThrow();
    const proof = parseTlogProof(vectors.tlogProof);
    const verdict = verifyLogAnswer({
      advertised: identity,
      answer: { checkpoint: proof.checkpoint, inclusion: { index: proof.index, proof: proof.inclusion } },
      entry: proof.extra,
    });
    expect(verdict).toMatchObject({ ok: true, state: { size: 5 } });
    const witness = cosignatureVerifier(keys.witnessKey);
    expect(witnessCosignature(openCheckpoint(vectors.cosignature.note, keys.logKey, [witness]), witness)).toEqual({
      time: vectors.cosignature.time,
    });
  });
});
