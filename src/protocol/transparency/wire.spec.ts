import { describe, expect, it } from '@jest/globals';
import { ed25519PublicKey, x25519PublicKey } from '../crypto.js';
import { toB64u } from '../encoding.js';
import { signPrekey, signRegistration } from '../keys.js';
import { formatCheckpoint } from './checkpoint.js';
import { logStartEntry, proveLabel, registrationEntry, type RegistrationRecord } from './entry.js';
import type { LogIdentity } from './log-verifier.js';
import { consistencyProof, inclusionProof, leafHash, treeHash } from './merkle.js';
import { ed25519NoteSigner, formatVerifierKey, SIGNATURE_TYPE_ED25519, signNote } from './note.js';
import { vectorSeed } from './vectors.js';
import { vrfPublicKey } from './vrf.js';
import {
  formatEntryBundle,
  formatLogAdvertisement,
  formatTileIndex,
  parseEntryBundle,
  parseEntryTilePath,
  parseKnownHeader,
  parseLogAdvertisement,
  parseTransparencyMember,
  type TransparencyMember,
  verifyTransparencyMember,
} from './wire.js';

const NODE = 'https://kp.b.example';
const ORIGIN = 'kp.b.example/kt/1';
const LOG_SECRET = vectorSeed('wire log');
const VRF_SECRET = vectorSeed('wire vrf');
const identity: LogIdentity = {
  origin: ORIGIN,
  logKey: formatVerifierKey(ORIGIN, SIGNATURE_TYPE_ED25519, ed25519PublicKey(LOG_SECRET)),
  vrfKey: vrfPublicKey(VRF_SECRET),
  importEnd: 1,
};
const advertisement = formatLogAdvertisement(identity, `${NODE}/kt/1`);

interface User {
  address: string;
  identityKey: Uint8Array;
  identityDhKey: { id: number; publicKey: Uint8Array; signature: Uint8Array };
  registeredAt: number;
  proof: Uint8Array;
  vrfProof: Uint8Array;
  opening: Uint8Array;
  entry: Uint8Array;
}

function user(address: string, registeredAt: number): User {
  const secret = vectorSeed(`wire identity ${address}`);
  const identityKey = ed25519PublicKey(secret);
  const dhKey = x25519PublicKey(vectorSeed(`wire dh ${address}`));
  const identityDhKey = {
    id: 1,
    publicKey: dhKey,
    signature: signPrekey({ kind: 'identity-dh', address, keyId: 1, publicKey: dhKey }, secret),
  };
  const proof = signRegistration(
    { address, nodeBaseUrl: NODE, identityKey, identityDhKey: dhKey, timestamp: registeredAt },
    secret,
  );
  const record: RegistrationRecord = {
    nodeBaseUrl: NODE,
    identityKey,
    identityDhKey,
    registeredAt,
    registrationProof: proof,
  };
  const { vrfProof, label } = proveLabel(VRF_SECRET, address);
  const opening = vectorSeed(`wire opening ${address}`);
  const entry = registrationEntry({ kind: 'register', address, label, opening, record });
  return { address, identityKey, identityDhKey, registeredAt, proof, vrfProof, opening, entry };
}

const users = ['alice@b.example', 'bob@b.example', 'carol@b.example', 'dave@b.example', 'erin@b.example'].map((a, i) =>
  user(a, 1767225600 + i),
);
const entries = [logStartEntry({ origin: ORIGIN, startedAt: 1767225000 }), ...users.map((u) => u.entry)];
const leaves = entries.map(leafHash);

function checkpointOf(size: number): string {
  const text = formatCheckpoint({ origin: ORIGIN, size, root: treeHash(leaves.slice(0, size)) });
  return signNote(text, [ed25519NoteSigner(ORIGIN, LOG_SECRET)]);
}

/** The member a node serves for users[i] at log size `size`, for a requester that knows `known`. */
function member(i: number, size: number, known: number): TransparencyMember {
  const u = users[i];
  const index = i + 1;
  const m: TransparencyMember = {
    log: advertisement,
    kind: 'register',
    index,
    vrfProof: toB64u(u.vrfProof),
    opening: toB64u(u.opening),
    registeredAt: u.registeredAt,
    registrationProof: toB64u(u.proof),
    checkpoint: checkpointOf(size),
    inclusion: inclusionProof(index, leaves.slice(0, size)).map(toB64u),
  };
  if (known > 0 && known < size) {
    m.consistency = { from: known, proof: consistencyProof(known, leaves.slice(0, size)).map(toB64u) };
  }
  return m;
}

const served = (i: number) => ({ identityKey: users[i].identityKey, identityDhKey: users[i].identityDhKey });

describe('the node document member', () => {
  it('parses what the node publishes, giving the log identity', () => {
    const parsed = parseLogAdvertisement(advertisement, NODE);
    expect(parsed.identity).toEqual(identity);
    expect(parsed.generation).toBe(1);
    expect(parsed.url).toBe('https://kp.b.example/kt/1');
  });

  it.each([
    ['an unknown member', { ...advertisement, extra: 1 }],
    ['another version', { ...advertisement, version: 2 }],
    ['a missing member', { ...advertisement, importEnd: undefined }],
    ['importEnd 0', { ...advertisement, importEnd: 0 }],
    ['an origin of another node', { ...advertisement, origin: 'kp.c.example/kt/1' }],
    ['a log of another node', { ...advertisement, log: 'https://kp.c.example/kt/1' }],
    ['origin and log of different generations', { ...advertisement, log: `${NODE}/kt/2` }],
    ['a log key named otherwise', { ...advertisement, logKey: formatVerifierKey('x/kt/1', 1, identity.vrfKey) }],
    [
      'a log key of type 0x04',
      { ...advertisement, logKey: formatVerifierKey(ORIGIN, 4, ed25519PublicKey(LOG_SECRET)) },
    ],
    ['a VRF key of small order', { ...advertisement, vrfKey: toB64u(new Uint8Array(32)) }],
    ['a VRF key in padded base64', { ...advertisement, vrfKey: `${advertisement.vrfKey}=` }],
    ['a witness key of type 0x01', { ...advertisement, witnessKey: advertisement.logKey }],
  ])('refuses %s', (_what, value) => {
    expect(() => parseLogAdvertisement(value, NODE)).toThrow(
      expect.objectContaining({ code: 'node_document_invalid' }),
    );
  });

  it('is refused when fetched from another node', () => {
    expect(() => parseLogAdvertisement(advertisement, 'https://kp.c.example')).toThrow(/origin|log/);
  });
});

describe('KeyPears-KT-Known', () => {
  it('is absent, or one canonical size', () => {
    expect(parseKnownHeader(undefined)).toBeUndefined();
    expect(parseKnownHeader('0')).toBe(0);
    expect(parseKnownHeader('9007199254740991')).toBe(9007199254740991);
  });
  it.each([[''], ['01'], ['-1'], ['1.0'], [' 1'], ['9007199254740992'], [['1', '2']]])('refuses %j', (value) => {
    expect(() => parseKnownHeader(value)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });
});

describe('tiles', () => {
  it('spells tile indexes as C2SP does, and parses only that spelling', () => {
    expect(formatTileIndex(0)).toBe('000');
    expect(formatTileIndex(1234067)).toBe('x001/x234/067');
    expect(parseEntryTilePath('x001/x234/067')).toEqual({ tile: 1234067, width: 256 });
    expect(parseEntryTilePath('000.p/7')).toEqual({ tile: 0, width: 7 });
    for (const bad of ['0', '0000', 'x000/001', '001.p/0', '001.p/256', '001.p/07', 'x1/234', '1234067']) {
      expect(parseEntryTilePath(bad)).toBeUndefined();
    }
  });
  it('encodes entry bundles and parses exactly the width asked for', () => {
    const bundle = formatEntryBundle(entries.slice(0, 3));
    expect(parseEntryBundle(bundle, 3)).toEqual(entries.slice(0, 3));
    expect(() => parseEntryBundle(bundle, 2)).toThrow();
    expect(() => parseEntryBundle(bundle, 4)).toThrow();
    expect(() => parseEntryBundle(bundle.slice(0, -1), 3)).toThrow();
  });
});

/** The state of a verifier that saw users[0] in the log of size 3. */
function pinnedAtThree() {
  const verdict = verifyTransparencyMember({
    address: users[0].address,
    nodeUrl: NODE,
    identity: served(0),
    member: member(0, 3, 0),
  });
  if (!verdict.ok) throw new Error(verdict.message);
  return verdict;
}

describe('the answer member', () => {
  it('verifies for a requester without state, and pins the log', () => {
    const verdict = verifyTransparencyMember({
      address: users[1].address,
      nodeUrl: NODE,
      identity: served(1),
      member: member(1, 4, 0),
    });
    expect(verdict).toMatchObject({ ok: true, advanced: true, state: { size: 4, log: identity } });
  });

  it('verifies consistency from the size the requester knows, and moves it forward', () => {
    const first = pinnedAtThree();
    const second = verifyTransparencyMember({
      address: users[4].address,
      nodeUrl: NODE,
      identity: served(4),
      member: member(4, 6, 3),
      state: first.state,
      advertised: advertisement,
    });
    expect(second).toMatchObject({ ok: true, state: { size: 6 } });
  });

  it('refuses the served keys of another user (the entry does not match)', () => {
    const verdict = verifyTransparencyMember({
      address: users[1].address,
      nodeUrl: NODE,
      identity: served(2),
      member: member(1, 4, 0),
    });
    expect(verdict).toMatchObject({ ok: false, code: 'kt_proof_invalid' });
  });

  it('refuses a VRF proof of another address', () => {
    const m = { ...member(1, 4, 0), vrfProof: toB64u(users[2].vrfProof) };
    const verdict = verifyTransparencyMember({
      address: users[1].address,
      nodeUrl: NODE,
      identity: served(1),
      member: m,
    });
    expect(verdict).toMatchObject({ ok: false, code: 'kt_proof_invalid', message: expect.stringMatching(/VRF/) });
  });

  it('refuses a register entry without its proof, and unknown members', () => {
    const { registeredAt: _t, registrationProof: _p, ...bare } = member(1, 4, 0);
    for (const m of [bare, { ...member(1, 4, 0), extra: true }]) {
      const verdict = verifyTransparencyMember({
        address: users[1].address,
        nodeUrl: NODE,
        identity: served(1),
        member: m,
      });
      expect(verdict).toMatchObject({ ok: false, code: 'kt_proof_invalid' });
    }
  });

  it('refuses a relayed log that is not the one the node document advertises', () => {
    const other = formatLogAdvertisement({ ...identity, importEnd: 2 }, `${NODE}/kt/1`);
    const verdict = verifyTransparencyMember({
      address: users[1].address,
      nodeUrl: NODE,
      identity: served(1),
      member: member(1, 4, 0),
      advertised: other,
    });
    expect(verdict).toMatchObject({ ok: false, code: 'kt_proof_invalid' });
  });

  it('is kt_proof_missing when absent for a pinned log', () => {
    const first = pinnedAtThree();
    const verdict = verifyTransparencyMember({
      address: users[0].address,
      nodeUrl: NODE,
      identity: served(0),
      member: undefined,
      state: first.state,
    });
    expect(verdict).toMatchObject({ ok: false, code: 'kt_proof_missing' });
  });

  it('fails on any flipped bit of the inclusion proof, the opening or the VRF proof', () => {
    const base = member(3, 6, 0);
    const flips: TransparencyMember[] = [];
    const flip = (text: string, bit: number) => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[bit >> 3] ^= 1 << (bit & 7);
      return bytes.toString('base64url');
    };
    for (let bit = 0; bit < 256; bit += 37) {
      flips.push({ ...base, inclusion: base.inclusion.map((h, i) => (i === 0 ? flip(h, bit) : h)) });
      flips.push({ ...base, opening: flip(base.opening, bit) });
      flips.push({ ...base, vrfProof: flip(base.vrfProof, bit) });
    }
    for (const m of flips) {
      const verdict = verifyTransparencyMember({
        address: users[3].address,
        nodeUrl: NODE,
        identity: served(3),
        member: m,
      });
      expect(verdict.ok).toBe(false);
    }
  });

  it('parses the byte strings strictly', () => {
    const m = member(1, 4, 0);
    expect(() => parseTransparencyMember(m, NODE)).not.toThrow();
    // The last character of 32 bytes carries two unused bits: 'B' sets one (not canonical).
    expect(() => parseTransparencyMember({ ...m, opening: `${m.opening.slice(0, -1)}B` }, NODE)).toThrow(
      expect.objectContaining({ code: 'kt_proof_invalid' }),
    );
    expect(() => parseTransparencyMember({ ...m, inclusion: [...m.inclusion, m.inclusion[0].slice(1)] }, NODE)).toThrow(
      expect.objectContaining({ code: 'kt_proof_invalid' }),
    );
    expect(() =>
      parseTransparencyMember({ ...m, inclusion: Array.from({ length: 65 }, () => m.inclusion[0]) }, NODE),
    ).toThrow(expect.objectContaining({ code: 'kt_proof_invalid' }));
    expect(() => parseTransparencyMember({ ...m, consistency: { from: 0, proof: [] } }, NODE)).toThrow();
  });
});
