/**
 * In-memory transparency logs for the protocol specs: a log key, entries, signed checkpoints at
 * any size and the proofs between them, built from the primitives of src/protocol/transparency.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519PublicKey, x25519PublicKey } from '../../src/protocol/crypto.js';
import { signPrekey, signRegistration } from '../../src/protocol/keys.js';
import { utf8 } from '../../src/protocol/encoding.js';
import { formatCheckpoint } from '../../src/protocol/transparency/checkpoint.js';
import { encodeEntry, logStartEntry, proveLabel, registrationEntry } from '../../src/protocol/transparency/entry.js';
import type { LogAnswer, LogIdentity } from '../../src/protocol/transparency/log-verifier.js';
import { consistencyProof, inclusionProof, leafHash, treeHash } from '../../src/protocol/transparency/merkle.js';
import {
  ed25519NoteSigner,
  formatVerifierKey,
  SIGNATURE_TYPE_ED25519,
  signNote,
} from '../../src/protocol/transparency/note.js';
import { vrfPublicKey } from '../../src/protocol/transparency/vrf.js';
import {
  formatLogAdvertisement,
  type ServedIdentity,
  type TransparencyMember,
} from '../../src/protocol/transparency/wire.js';
import { toB64u } from '../../src/protocol/encoding.js';

export interface TestLog {
  identity: LogIdentity;
  entries: Uint8Array[];
  root(size: number): Uint8Array;
  /** The checkpoint note of the first `size` entries, signed by the log key. */
  checkpoint(size: number): string;
  inclusion(index: number, size: number): Uint8Array[];
  consistency(from: number, to: number): Uint8Array[];
  /** An honest answer about entry `index` at `size`, for a verifier that knows `known` (0: nothing). */
  answer(index: number, size: number, known: number): LogAnswer;
}

/** `count` register entries after a log-start entry; `tag` makes them differ between histories. */
export function testEntries(origin: string, count: number, tag: string): Uint8Array[] {
  return [
    logStartEntry({ origin, startedAt: 1767225600 }),
    ...Array.from({ length: count }, (_, i) =>
      encodeEntry({
        kind: 'register',
        label: sha256(utf8(`label ${tag} ${i}`)),
        commitment: sha256(utf8(`c ${tag} ${i}`)),
      }),
    ),
  ];
}

/** A log over `entries`, signed with the key derived from `keySeed`. */
export function testLog(
  entries: Uint8Array[],
  options: { origin?: string; keySeed?: number; importEnd?: number } = {},
): TestLog {
  const origin = options.origin ?? 'kp.b.example/kt/1';
  const seed = new Uint8Array(32).fill(options.keySeed ?? 11);
  const signer = ed25519NoteSigner(origin, seed);
  const leaves = entries.map(leafHash);
  const notes = new Map<number, string>();
  const identity: LogIdentity = {
    origin,
    logKey: formatVerifierKey(origin, SIGNATURE_TYPE_ED25519, ed25519PublicKey(seed)),
    vrfKey: vrfPublicKey(new Uint8Array(32).fill(12)),
    importEnd: options.importEnd ?? 1,
  };
  const root = (size: number) => treeHash(leaves.slice(0, size));
  const checkpoint = (size: number) => {
    if (!notes.has(size)) notes.set(size, signNote(formatCheckpoint({ origin, size, root: root(size) }), [signer]));
    return notes.get(size)!;
  };
  const inclusion = (index: number, size: number) => inclusionProof(index, leaves.slice(0, size));
  const consistency = (from: number, to: number) => consistencyProof(from, leaves.slice(0, to));
  return {
    identity,
    entries,
    root,
    checkpoint,
    inclusion,
    consistency,
    answer: (index, size, known) => ({
      checkpoint: checkpoint(size),
      inclusion: { index, proof: inclusion(index, size) },
      ...(known > 0 && known < size ? { consistency: { from: known, proof: consistency(known, size) } } : {}),
    }),
  };
}

/** A registered account as a node logs it: the served record and the transparency parts of its answers. */
export interface TestAccount {
  address: string;
  identitySecretKey: Uint8Array;
  /** The base URL of the node that serves it (its log is `testLog`'s default origin). */
  nodeUrl: string;
  identity: ServedIdentity;
  kind: 'register';
  vrfProof: Uint8Array;
  opening: Uint8Array;
  registeredAt: number;
  registrationProof: Uint8Array;
  label: Uint8Array;
  /** The entry the log holds for it. */
  entry: Uint8Array;
}

/** The VRF secret key of `testLog`'s identity. */
export const TEST_VRF_SECRET = new Uint8Array(32).fill(12);

/** An account registered at `nodeBaseUrl`, its keys derived from `tag` (another tag: another key). */
export function testAccount(address: string, tag: string, nodeBaseUrl = 'https://kp.b.example'): TestAccount {
  const identitySecretKey = sha256(utf8(`identity ${tag} ${address}`));
  const identityKey = ed25519PublicKey(identitySecretKey);
  const dhKey = x25519PublicKey(sha256(utf8(`dh ${tag} ${address}`)));
  const signature = signPrekey({ kind: 'identity-dh', address, keyId: 1, publicKey: dhKey }, identitySecretKey);
  const registeredAt = 1767225700;
  const registrationProof = signRegistration(
    { address, nodeBaseUrl, identityKey, identityDhKey: dhKey, timestamp: registeredAt },
    identitySecretKey,
  );
  const identity: ServedIdentity = { identityKey, identityDhKey: { id: 1, publicKey: dhKey, signature } };
  const { vrfProof, label } = proveLabel(TEST_VRF_SECRET, address);
  const opening = sha256(utf8(`opening ${tag} ${address}`));
  const entry = registrationEntry({
    kind: 'register',
    address,
    label,
    opening,
    record: { ...identity, nodeBaseUrl, registeredAt, registrationProof },
  });
  return {
    address,
    identitySecretKey,
    nodeUrl: nodeBaseUrl,
    identity,
    kind: 'register',
    vrfProof,
    opening,
    registeredAt,
    registrationProof,
    label,
    entry,
  };
}

/** The `transparency` member of an answer serving `account` at `index` of `log`, for a requester that knows `known`. */
export function servedMember(
  account: TestAccount,
  log: TestLog,
  index: number,
  size: number,
  known: number,
): TransparencyMember {
  const answer = log.answer(index, size, known);
  return {
    log: formatLogAdvertisement(log.identity, `https://${log.identity.origin}`),
    kind: account.kind,
    index,
    vrfProof: toB64u(account.vrfProof),
    opening: toB64u(account.opening),
    registeredAt: account.registeredAt,
    registrationProof: toB64u(account.registrationProof),
    checkpoint: answer.checkpoint,
    inclusion: answer.inclusion!.proof.map(toB64u),
    ...(answer.consistency
      ? { consistency: { from: answer.consistency.from, proof: answer.consistency.proof.map(toB64u) } }
      : {}),
  };
}
