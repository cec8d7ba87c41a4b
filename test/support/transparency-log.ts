/**
 * In-memory transparency logs for the protocol specs: a log key, entries, signed checkpoints at
 * any size and the proofs between them, built from the primitives of src/protocol/transparency.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519PublicKey } from '../../src/protocol/crypto.js';
import { utf8 } from '../../src/protocol/encoding.js';
import { formatCheckpoint } from '../../src/protocol/transparency/checkpoint.js';
import { encodeEntry, logStartEntry } from '../../src/protocol/transparency/entry.js';
import type { LogAnswer, LogIdentity } from '../../src/protocol/transparency/log-verifier.js';
import { consistencyProof, inclusionProof, leafHash, treeHash } from '../../src/protocol/transparency/merkle.js';
import {
  ed25519NoteSigner,
  formatVerifierKey,
  SIGNATURE_TYPE_ED25519,
  signNote,
} from '../../src/protocol/transparency/note.js';
import { vrfPublicKey } from '../../src/protocol/transparency/vrf.js';

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
