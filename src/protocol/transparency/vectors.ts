/**
 * The test vectors of docs/test-vectors/transparency.json, computed by this code from fixed
 * seeds (`scripts/transparency-vectors.js` writes the file; vectors.spec.ts checks the file is
 * what this code gives, and re-derives each value from the primitives). Every seed and opening
 * is SHA-256("KeyPears test vector " + name), so the inputs are reproducible by anyone.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ed25519PublicKey, x25519PublicKey } from '../crypto.js';
import { utf8 } from '../encoding.js';
import { signPrekey, signRegistration } from '../keys.js';
import {
  cosignatureMessage,
  cosignCheckpoint,
  formatAddCheckpoint,
  formatCheckpoint,
  formatTlogProof,
} from './checkpoint.js';
import {
  type EntryKind,
  labelInput,
  logStartCommitment,
  logStartEntry,
  proveLabel,
  type RegistrationRecord,
  registrationEntry,
  registrationValue,
  entryCommitment,
} from './entry.js';
import { consistencyProof, inclusionProof, leafHash, treeHash } from './merkle.js';
import {
  addSignatureLines,
  ed25519NoteSigner,
  formatVerifierKey,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  signNote,
} from './note.js';
import { appendEntry } from './tree-storage.js';
import { vrfPublicKey } from './vrf.js';

/** SHA-256("KeyPears test vector " + name): every secret input of the vectors. */
export const vectorSeed = (name: string): Uint8Array => sha256(utf8(`KeyPears test vector ${name}`));

const hex = (bytes: Uint8Array): string => bytesToHex(bytes);

export const VECTOR_ORIGIN = 'kp.b.example/kt/1';
export const VECTOR_NODE = 'https://kp.b.example';
export const VECTOR_WITNESS = 'kp.a.example/witness';

/** The accounts of the vector log, in log order after the log-start entry. */
const ACCOUNTS: Array<{ address: string; kind: Extract<EntryKind, 'register' | 'import'>; registeredAt?: number }> = [
  { address: 'carol@b.example', kind: 'import' },
  { address: 'alice@b.example', kind: 'register', registeredAt: 1767225600 },
  { address: 'bob@b.example', kind: 'register', registeredAt: 1767225660 },
  { address: 'dave@b.example', kind: 'register', registeredAt: 1767225720 },
];

function account(address: string, kind: EntryKind, registeredAt: number | undefined) {
  const identitySecret = vectorSeed(`identity ${address}`);
  const dhSecret = vectorSeed(`identity-dh ${address}`);
  const identityKey = ed25519PublicKey(identitySecret);
  const dhKey = x25519PublicKey(dhSecret);
  const dhId = 1;
  const dhSignature = signPrekey({ kind: 'identity-dh', address, keyId: dhId, publicKey: dhKey }, identitySecret);
  const proof =
    registeredAt === undefined
      ? undefined
      : signRegistration(
          { address, nodeBaseUrl: VECTOR_NODE, identityKey, identityDhKey: dhKey, timestamp: registeredAt },
          identitySecret,
        );
  const record: RegistrationRecord = {
    nodeBaseUrl: VECTOR_NODE,
    identityKey,
    identityDhKey: { id: dhId, publicKey: dhKey, signature: dhSignature },
    ...(proof ? { registeredAt, registrationProof: proof } : {}),
  };
  const { vrfProof, label } = proveLabel(vectorSeed('vrf'), address);
  const opening = vectorSeed(`opening ${address}`);
  const value = registrationValue(record);
  const entry = registrationEntry({ kind: kind as 'register' | 'import', address, label, opening, record });
  const doc = {
    address,
    kind,
    identitySecretKey: hex(identitySecret),
    identityKey: hex(identityKey),
    identityDhSecretKey: hex(dhSecret),
    identityDhKey: { id: dhId, publicKey: hex(dhKey), signature: hex(dhSignature) },
    registeredAt: registeredAt ?? null,
    registrationProof: proof ? hex(proof) : null,
    labelInput: hex(labelInput(address)),
    vrfProof: hex(vrfProof),
    label: hex(label),
    opening: hex(opening),
    value: hex(value),
    commitment: hex(entryCommitment(kind, opening, address, value)),
    entry: hex(entry),
    leafHash: hex(leafHash(entry)),
  };
  return { doc, entry };
}

/** The whole vector document. */
export function transparencyVectors() {
  const logSecret = vectorSeed('log key');
  const witnessSecret = vectorSeed('witness key');
  const vrfSecret = vectorSeed('vrf');
  const logStart = { origin: VECTOR_ORIGIN, startedAt: 1767225000 };
  const accounts = ACCOUNTS.map((a) => account(a.address, a.kind, a.registeredAt));
  const entries = [logStartEntry(logStart), ...accounts.map((a) => a.entry)];
  const leaves = entries.map(leafHash);
  const size = entries.length;

  let frontier: Uint8Array[] = [];
  const rows = entries.map((entry, i) => {
    const next = appendEntry(frontier, i, entry);
    frontier = next.frontier;
    return hex(next.row);
  });

  const checkpointText = formatCheckpoint({ origin: VECTOR_ORIGIN, size, root: treeHash(leaves) });
  const note = signNote(checkpointText, [ed25519NoteSigner(VECTOR_ORIGIN, logSecret)]);
  const time = 1767225900;
  const cosignature = cosignCheckpoint(checkpointText, { name: VECTOR_WITNESS, secretKey: witnessSecret }, time);
  const aliceIndex = 2;

  return {
    description:
      'Key transparency (docs/transparency.md). Generated by src/protocol/transparency/vectors.ts ' +
      '(scripts/transparency-vectors.js); every secret is SHA-256("KeyPears test vector " + name), bytes are hex. ' +
      '`accounts`: the label (VRF over the label input), the committed value, the commitment, the entry and its ' +
      'leaf hash of each account; `logStart`: the log-start entry; `tree`: the log of those entries (log-start ' +
      'first), its roots by size, every inclusion proof and every consistency proof into the full tree, and the ' +
      'row each append stores; `checkpoint`: the log-signed note of the full tree; `cosignature`: a witness ' +
      "cosignature at a fixed time; `tlogProof`: the evidence of alice's entry; `addCheckpoint`: a witness " +
      'request from size 3.',
    keys: {
      origin: VECTOR_ORIGIN,
      nodeBaseUrl: VECTOR_NODE,
      logSecretKey: hex(logSecret),
      logKey: formatVerifierKey(VECTOR_ORIGIN, SIGNATURE_TYPE_ED25519, ed25519PublicKey(logSecret)),
      vrfSecretKey: hex(vrfSecret),
      vrfPublicKey: hex(vrfPublicKey(vrfSecret)),
      witnessName: VECTOR_WITNESS,
      witnessSecretKey: hex(witnessSecret),
      witnessKey: formatVerifierKey(VECTOR_WITNESS, SIGNATURE_TYPE_COSIGNATURE_V1, ed25519PublicKey(witnessSecret)),
      importEnd: 2,
    },
    accounts: accounts.map((a) => a.doc),
    logStart: {
      ...logStart,
      commitment: hex(logStartCommitment(logStart)),
      entry: hex(entries[0]),
      leafHash: hex(leaves[0]),
    },
    tree: {
      entries: entries.map(hex),
      leafHashes: leaves.map(hex),
      roots: leaves.map((_, i) => hex(treeHash(leaves.slice(0, i + 1)))),
      inclusion: leaves.map((_, index) => ({ index, size, proof: inclusionProof(index, leaves).map(hex) })),
      consistency: Array.from({ length: size + 1 }, (_, from) => ({
        from,
        to: size,
        proof: consistencyProof(from, leaves).map(hex),
      })),
      rows,
      frontier: frontier.map(hex),
    },
    checkpoint: { text: checkpointText, note },
    cosignature: {
      time,
      message: new TextDecoder().decode(cosignatureMessage(checkpointText, time)),
      line: cosignature,
      note: addSignatureLines(note, [cosignature]),
    },
    tlogProof: formatTlogProof({
      extra: entries[aliceIndex],
      index: aliceIndex,
      inclusion: inclusionProof(aliceIndex, leaves),
      checkpoint: addSignatureLines(note, [cosignature]),
    }),
    addCheckpoint: formatAddCheckpoint({ oldSize: 3, proof: consistencyProof(3, leaves), checkpoint: note }),
  };
}
