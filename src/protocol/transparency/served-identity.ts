/**
 * Verifying one served identity against a log (docs/transparency.md §7.6 and §8), the check
 * every peer node and every client makes before using a key: the log pin, the checkpoint and
 * its consistency with what was verified before, then the entry rebuilt from what was served
 * (the VRF label, the record's signatures, the commitment) and its inclusion. A pure function
 * of the stored state and the answer, like `verifyLogAnswer`, which it extends; the caller
 * keeps its state on failure.
 *
 * When the served record or its VRF proof is wrong, the answer's checkpoint is still checked
 * against the stored one first: a fork is reported as `kt_log_inconsistent` whatever else the
 * answer holds (§14, "Consistency before inclusion").
 */
import { isKeyPearsError } from '../errors.js';
import {
  checkRegistrationRecord,
  type EntryKind,
  registrationEntry,
  type RegistrationRecord,
  verifyLabel,
} from './entry.js';
import {
  type KtFailureCode,
  type KtVerdict,
  type LogIdentity,
  type LogState,
  verifyLogAnswer,
} from './log-verifier.js';

/** The transparency part of an identity or bundle answer, decoded. */
export interface ServedProof {
  kind: Extract<EntryKind, 'register' | 'import'>;
  /** The entry's index in the log. */
  index: number;
  /** The VRF proof of the address's label (80 bytes). */
  vrfProof: Uint8Array;
  /** The commitment's opening (32 bytes). */
  opening: Uint8Array;
  /** The registration proof's timestamp and the proof; both absent only on an import. */
  registeredAt?: number;
  registrationProof?: Uint8Array;
  /** The log's checkpoint note. */
  checkpoint: string;
  /** PATH(index, checkpoint size). */
  inclusion: Uint8Array[];
  /** PROOF(from, checkpoint size), from the size the requester said it knows. */
  consistency?: { from: number; proof: Uint8Array[] };
}

/** The identity keys an answer serves, as the entry commits to them. */
export interface ServedRecord {
  /** The base URL of the node serving the address, as the registration proof signs it. */
  nodeBaseUrl: string;
  identityKey: Uint8Array;
  identityDhKey: { id: number; publicKey: Uint8Array; signature: Uint8Array };
}

export interface VerifyServedIdentityInput {
  address: string;
  record: ServedRecord;
  /** The answer's transparency part; absent when the node sent none. */
  proof?: ServedProof;
  /** What the verifier stored for the log; absent on first sight. */
  state?: LogState;
  /** The log the serving node advertises now. */
  advertised?: LogIdentity;
  /** The label already verified for this (log, address), to skip the VRF. */
  knownLabel?: Uint8Array;
}

/** Where the served identity sits in the log, on success. */
export interface VerifiedEntry {
  origin: string;
  index: number;
  kind: ServedProof['kind'];
  label: Uint8Array;
  entry: Uint8Array;
}

export type IdentityVerdict =
  (Extract<KtVerdict, { ok: true }> & { entry: VerifiedEntry }) | Extract<KtVerdict, { ok: false }>;

/** Verifies an identity answer; see the module comment for the order of the checks. */
export function verifyServedIdentity(input: VerifyServedIdentityInput): IdentityVerdict {
  const { address, record, proof, state, advertised, knownLabel } = input;
  const answer = proof && {
    checkpoint: proof.checkpoint,
    inclusion: { index: proof.index, proof: proof.inclusion },
    ...(proof.consistency ? { consistency: proof.consistency } : {}),
  };
  const log = state?.log ?? advertised;
  const rebuilt = proof && log ? rebuildEntry(address, record, proof, log, knownLabel) : undefined;
  if (rebuilt === undefined || !rebuilt.ok) {
    // Pin, checkpoint and consistency first; only then the record's own failure.
    const head = verifyLogAnswer({ state, advertised, answer });
    if (!head.ok) return head;
    return {
      ok: false,
      code: rebuilt?.code ?? 'kt_proof_missing',
      message: rebuilt?.message ?? 'the answer carries no proof',
      evidence: { storedCheckpoint: state?.checkpoint, answeredCheckpoint: proof?.checkpoint },
    };
  }
  const verdict = verifyLogAnswer({ state, advertised, answer, entry: rebuilt.entry });
  if (!verdict.ok) return verdict;
  return {
    ...verdict,
    entry: {
      origin: verdict.state.log.origin,
      index: proof!.index,
      kind: proof!.kind,
      label: rebuilt.label,
      entry: rebuilt.entry,
    },
  };
}

type Rebuilt = { ok: true; label: Uint8Array; entry: Uint8Array } | { ok: false; code: KtFailureCode; message: string };

function rebuildEntry(
  address: string,
  record: ServedRecord,
  proof: ServedProof,
  log: LogIdentity,
  knownLabel: Uint8Array | undefined,
): Rebuilt {
  const label = knownLabel ?? verifyLabel(log.vrfKey, address, proof.vrfProof);
  if (label === undefined) {
    return { ok: false, code: 'kt_proof_invalid', message: `the VRF proof of ${address}'s label does not verify` };
  }
  const full: RegistrationRecord = {
    ...record,
    ...(proof.registeredAt !== undefined ? { registeredAt: proof.registeredAt } : {}),
    ...(proof.registrationProof !== undefined ? { registrationProof: proof.registrationProof } : {}),
  };
  try {
    checkRegistrationRecord(proof.kind, address, full);
    const entry = registrationEntry({ kind: proof.kind, address, label, opening: proof.opening, record: full });
    return { ok: true, label, entry };
  } catch (e) {
    if (!isKeyPearsError(e)) throw e;
    return { ok: false, code: 'kt_proof_invalid', message: `the served record is not a log entry: ${e.message}` };
  }
}
