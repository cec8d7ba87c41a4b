/**
 * The verification state machine shared by nodes and clients (docs/transparency.md §8): given
 * what a verifier stored about a log and an answer that claims to come from it, either the new
 * state or a typed failure with its evidence. A pure function: it reads no clock and no store,
 * and on failure the caller keeps its old state, so the stored size never goes down and the
 * root at a size never changes.
 *
 * Order of checks, each failing with its code:
 * 1. pin: the log the verifier pinned (origin, log key, VRF key, import end) must be the one
 *    advertised (`kt_log_reset`), and a pinned log must keep advertising and answering
 *    (`kt_proof_missing`);
 * 2. checkpoint: a strict note signed by the log key, for the log's origin (`kt_proof_invalid`);
 * 3. consistency with the stored tree head: an older size is `kt_stale`; the same size with
 *    another root, or a well-formed consistency proof that fails, is `kt_log_inconsistent`; a
 *    missing proof is `kt_proof_missing`, a malformed one `kt_proof_invalid`;
 * 4. inclusion of the entry the verifier rebuilt from what it was served, at an index its kind
 *    allows (`kt_proof_missing`, `kt_proof_invalid`).
 * Consistency comes before inclusion: a validly signed checkpoint that contradicts the stored
 * one is evidence of a fork whatever the rest of the answer holds.
 */
import { equalBytes } from '../encoding.js';
import { isKeyPearsError, KeyPearsError, type ApiErrorCode } from '../errors.js';
import { type Checkpoint, openCheckpoint, type OpenedCheckpoint } from './checkpoint.js';
import { decodeEntry } from './entry.js';
import { consistencyRanges, leafHash, verifyConsistency, verifyInclusion } from './merkle.js';
import { isIndex } from './text.js';

/** What identifies a log, as its node document publishes it; pinned on first sight. */
export interface LogIdentity {
  origin: string;
  /** The log's verifier key (type 0x01), named after the origin. */
  logKey: string;
  /** The VRF public key labels are proven with (32 bytes). */
  vrfKey: Uint8Array;
  /** Entries below this index may be imports (the backfill of existing accounts). */
  importEnd: number;
}

/** What a verifier keeps per log. */
export interface LogState {
  log: LogIdentity;
  size: number;
  root: Uint8Array;
  /** The signed note that established (size, root): evidence if the log later contradicts it. */
  checkpoint: string;
}

/** The transparency part of an answer about one entry. */
export interface LogAnswer {
  /** The log's checkpoint note. */
  checkpoint: string;
  /** PROOF(from, checkpoint size); `from` must be the verifier's stored size when it is smaller. */
  consistency?: { from: number; proof: Uint8Array[] };
  /** PATH(index, checkpoint size) of the entry. */
  inclusion?: { index: number; proof: Uint8Array[] };
}

export const KT_FAILURE_CODES = [
  'kt_proof_missing',
  'kt_proof_invalid',
  'kt_log_inconsistent',
  'kt_stale',
  'kt_log_reset',
] as const satisfies readonly ApiErrorCode[];
export type KtFailureCode = (typeof KT_FAILURE_CODES)[number];

/** Everything needed to show a third party what went wrong. */
export interface KtEvidence {
  /** The checkpoint the verifier had accepted before. */
  storedCheckpoint?: string;
  /** The checkpoint the answer carried. */
  answeredCheckpoint?: string;
  /** The pinned identity and the one advertised, when they differ. */
  pinned?: LogIdentity;
  advertised?: LogIdentity;
  consistency?: { from: number; to: number; proof: Uint8Array[] };
  inclusion?: { index: number; size: number; proof: Uint8Array[]; entry: Uint8Array };
}

export type KtVerdict =
  | {
      ok: true;
      state: LogState;
      /** True when the state changed: first sight of the log, or a larger tree. */
      advanced: boolean;
      checkpoint: OpenedCheckpoint;
    }
  | { ok: false; code: KtFailureCode; message: string; evidence: KtEvidence };

export interface VerifyLogAnswerInput {
  /** What the verifier stored for this log; absent on first sight. */
  state?: LogState;
  /** The log its node advertises now; absent when it no longer advertises one. */
  advertised?: LogIdentity;
  answer?: LogAnswer;
  /** The entry bytes the verifier rebuilt from the served data; its inclusion is then required. */
  entry?: Uint8Array;
}

/** How a new tree head relates to a stored one, given a consistency proof between them. */
export type TreeHeadRelation = 'same' | 'advanced' | 'stale' | 'inconsistent' | 'malformed';

/**
 * Compares a new tree head with a stored one: `stale` when smaller, `same` for an equal one,
 * `inconsistent` for the same size with another root or a well-formed proof that fails,
 * `malformed` for a proof that cannot be PROOF(stored, new) (wrong number of hashes),
 * `advanced` when the proof verifies. Shared by the verifier and the witness.
 */
export function compareTreeHeads(
  stored: { size: number; root: Uint8Array },
  next: { size: number; root: Uint8Array },
  proof: readonly Uint8Array[],
): TreeHeadRelation {
  if (next.size < stored.size) return 'stale';
  if (next.size === stored.size) return equalBytes(next.root, stored.root) ? 'same' : 'inconsistent';
  if (!Array.isArray(proof) || proof.length !== consistencyRanges(stored.size, next.size).length) return 'malformed';
  return verifyConsistency(stored.size, next.size, stored.root, next.root, proof) ? 'advanced' : 'inconsistent';
}

/** True when two identities name the same log with the same keys. */
export function sameLogIdentity(a: LogIdentity, b: LogIdentity): boolean {
  return (
    a.origin === b.origin &&
    a.logKey === b.logKey &&
    a.importEnd === b.importEnd &&
    a.vrfKey instanceof Uint8Array &&
    b.vrfKey instanceof Uint8Array &&
    equalBytes(a.vrfKey, b.vrfKey)
  );
}

/** Verifies an answer against the stored state; see the module comment for the rules. */
export function verifyLogAnswer(input: VerifyLogAnswerInput): KtVerdict {
  const { state, advertised, answer, entry } = input;
  const evidence: KtEvidence = { storedCheckpoint: state?.checkpoint, answeredCheckpoint: answer?.checkpoint };
  const fail = (code: KtFailureCode, message: string, more: Partial<KtEvidence> = {}): KtVerdict => ({
    ok: false,
    code,
    message,
    evidence: { ...evidence, ...more },
  });

  // 1. The pin.
  if (!advertised) {
    return fail(
      'kt_proof_missing',
      state ? `${state.log.origin} no longer advertises its log` : 'no log is advertised',
    );
  }
  if (state && !sameLogIdentity(state.log, advertised)) {
    return fail('kt_log_reset', `the log advertised is not the one pinned (${state.log.origin})`, {
      pinned: state.log,
      advertised,
    });
  }
  const log = state?.log ?? advertised;
  if (!isIndex(log.importEnd)) return fail('kt_proof_invalid', 'the advertised import end is not a valid index');
  if (!answer) return fail('kt_proof_missing', `the answer carries no proof from ${log.origin}`);

  // 2. The checkpoint.
  let opened: OpenedCheckpoint;
  try {
    opened = openCheckpoint(answer.checkpoint, log.logKey);
  } catch (e) {
    if (isKeyPearsError(e)) return fail('kt_proof_invalid', `the checkpoint does not verify: ${e.message}`);
    throw e;
  }
  const { checkpoint } = opened;
  if (checkpoint.origin !== log.origin) {
    return fail('kt_proof_invalid', `the checkpoint is for ${checkpoint.origin}, not ${log.origin}`);
  }

  // 3. Consistency with what was stored.
  if (state) {
    const failure = checkConsistency(state, checkpoint, answer, fail);
    if (failure) return failure;
  }

  // 4. Inclusion of the rebuilt entry.
  if (entry !== undefined) {
    const failure = checkInclusion(log, checkpoint, answer, entry, fail);
    if (failure) return failure;
  }

  const advanced = !state || checkpoint.size > state.size;
  return {
    ok: true,
    advanced,
    checkpoint: opened,
    state: advanced ? { log, size: checkpoint.size, root: checkpoint.root, checkpoint: answer.checkpoint } : state,
  };
}

type Fail = (code: KtFailureCode, message: string, more?: Partial<KtEvidence>) => KtVerdict;

function checkConsistency(
  state: LogState,
  checkpoint: Checkpoint,
  answer: LogAnswer,
  fail: Fail,
): KtVerdict | undefined {
  const { size: m } = state;
  const n = checkpoint.size;
  if (n < m) return fail('kt_stale', `the checkpoint (size ${n}) is older than the one already verified (size ${m})`);
  if (n > m && (answer.consistency === undefined || answer.consistency.from !== m)) {
    return fail('kt_proof_missing', `the answer carries no consistency proof from size ${m}`);
  }
  const proof = n > m ? answer.consistency!.proof : [];
  const consistency = { from: m, to: n, proof };
  switch (compareTreeHeads(state, checkpoint, proof)) {
    case 'malformed':
      return fail('kt_proof_invalid', `the consistency proof from size ${m} to ${n} is malformed`, { consistency });
    case 'inconsistent':
      return fail('kt_log_inconsistent', `the log's checkpoint of size ${n} contradicts the one of size ${m}`, {
        consistency,
      });
    default:
      return undefined;
  }
}

function checkInclusion(
  log: LogIdentity,
  checkpoint: Checkpoint,
  answer: LogAnswer,
  entry: Uint8Array,
  fail: Fail,
): KtVerdict | undefined {
  if (!answer.inclusion) return fail('kt_proof_missing', 'the answer carries no inclusion proof');
  const { index, proof } = answer.inclusion;
  const inclusion = { index, size: checkpoint.size, proof, entry };
  if (!isIndex(index) || index >= checkpoint.size) {
    return fail('kt_proof_invalid', `entry index ${index} is not in a log of size ${checkpoint.size}`, { inclusion });
  }
  let kind: string;
  try {
    kind = decodeEntry(entry).kind;
  } catch {
    return fail('kt_proof_invalid', 'the entry is not a KeyPears log entry', { inclusion });
  }
  const allowed =
    kind === 'log-start' ? index === 0 : kind === 'import' ? index > 0 && index < log.importEnd : index > 0;
  if (!allowed) return fail('kt_proof_invalid', `a ${kind} entry cannot be at index ${index}`, { inclusion });
  if (!verifyInclusion(index, checkpoint.size, leafHash(entry), proof, checkpoint.root)) {
    return fail('kt_proof_invalid', `the served key is not the log's entry ${index}`, { inclusion });
  }
  return undefined;
}

/** The failure as the project's error, for callers that throw (details carry the evidence). */
export function ktError(verdict: Extract<KtVerdict, { ok: false }>): KeyPearsError {
  return new KeyPearsError(verdict.code, verdict.message, { evidence: verdict.evidence });
}
