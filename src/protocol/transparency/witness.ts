/**
 * The witness's decision (docs/transparency.md §9): given what a witness recorded for a log and
 * a new checkpoint with a consistency proof from the recorded size, cosign or refuse, with the
 * rules of C2SP tlog-witness `add-checkpoint`.
 *
 * The decision is pure; the caller makes it stick with a compare-and-swap of the record (same
 * size and root as read, else re-read and decide again) and cosigns only after the swap
 * committed. Two racing requests can then never both be cosigned unless one extends the other,
 * so the witness never signs two inconsistent checkpoints of a log.
 */
import { EMPTY_ROOT } from './merkle.js';
import { equalBytes } from '../encoding.js';
import { isKeyPearsError } from '../errors.js';
import { openCheckpoint, type OpenedCheckpoint } from './checkpoint.js';
import { compareTreeHeads, type KtEvidence } from './log-verifier.js';

/** What a witness keeps per log: the latest checkpoint it cosigned, with the log's signed note. */
export interface WitnessRecord {
  size: number;
  root: Uint8Array;
  checkpoint: string;
}

export interface WitnessRequest {
  /** The size the submitter believes the witness recorded (0 when it never cosigned this log). */
  oldSize: number;
  /** PROOF(oldSize, checkpoint size). */
  proof: Uint8Array[];
  /** The log's checkpoint note. */
  checkpoint: string;
}

export type WitnessDecision =
  /** Record `record` (compare-and-swap against what was read), then cosign. */
  | { action: 'cosign'; record: WitnessRecord; advanced: boolean; opened: OpenedCheckpoint }
  /** The old size is not what the witness recorded: tlog-witness answers 409 with `size`. */
  | { action: 'conflict'; size: number }
  /**
   * Refused, with the status tlog-witness gives: 400 for a bad old size, 403 when the log's
   * signature is missing or fails, 422 for a malformed proof (`kt_proof_invalid`) or a checkpoint
   * inconsistent with the record (`kt_log_inconsistent`, the evidence of a fork).
   */
  | {
      action: 'refuse';
      status: 400 | 403 | 422;
      code: 'invalid_request' | 'kt_proof_invalid' | 'kt_log_inconsistent';
      message: string;
      evidence: KtEvidence;
    };

/**
 * Decides an add-checkpoint request for a log whose key the witness trusts.
 *
 * @param recorded the witness's record for the checkpoint's origin, absent if it never cosigned it
 * @param logKey the log's verifier key (its name is the origin)
 */
export function decideWitness(
  recorded: WitnessRecord | undefined,
  logKey: string,
  request: WitnessRequest,
): WitnessDecision {
  const evidence: KtEvidence = { storedCheckpoint: recorded?.checkpoint, answeredCheckpoint: request.checkpoint };
  let opened: OpenedCheckpoint;
  try {
    opened = openCheckpoint(request.checkpoint, logKey);
  } catch (e) {
    if (!isKeyPearsError(e)) throw e;
    return { action: 'refuse', status: 403, code: 'kt_proof_invalid', message: e.message, evidence };
  }
  const { size, root } = opened.checkpoint;
  const { oldSize, proof } = request;
  if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > size) {
    const message = 'the old size is above the checkpoint size';
    return { action: 'refuse', status: 400, code: 'invalid_request', message, evidence };
  }
  const current = recorded ?? { size: 0, root: EMPTY_ROOT };
  if (oldSize !== current.size) return { action: 'conflict', size: current.size };
  const consistency = { from: oldSize, to: size, proof };
  switch (compareTreeHeads(current, { size, root }, proof)) {
    case 'same':
      // A checkpoint seen before is cosigned again (a fresh timestamp), the record kept.
      return {
        action: 'cosign',
        record: recorded ?? { size, root, checkpoint: request.checkpoint },
        advanced: false,
        opened,
      };
    case 'advanced':
      return { action: 'cosign', record: { size, root, checkpoint: request.checkpoint }, advanced: true, opened };
    case 'malformed':
      return {
        action: 'refuse',
        status: 422,
        code: 'kt_proof_invalid',
        message: `the consistency proof from size ${oldSize} to ${size} is malformed`,
        evidence: { ...evidence, consistency },
      };
    default:
      return {
        action: 'refuse',
        status: 422,
        code: 'kt_log_inconsistent',
        message: `the checkpoint of size ${size} is not consistent with the recorded size ${current.size}`,
        evidence: { ...evidence, consistency },
      };
  }
}

/** True when a stored record is still exactly what a decision was made from (the compare of the swap). */
export const unchangedRecord = (read: WitnessRecord | undefined, now: WitnessRecord | undefined): boolean =>
  read === undefined || now === undefined ? read === now : read.size === now.size && equalBytes(read.root, now.root);
