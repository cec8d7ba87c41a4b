/**
 * The JSON form of a verification failure's evidence (docs/transparency.md §8, "Evidence"), as
 * nodes store it in their evidence table and clients in their keystore and print it: notes
 * verbatim, byte strings base64url, so that two validly signed, mutually inconsistent notes can
 * be handed to anyone.
 */
import { toB64u } from '../encoding.js';
import type { KtEvidence, LogIdentity } from './log-verifier.js';

export interface LogIdentityJson {
  origin: string;
  logKey: string;
  vrfKey: string;
  importEnd: number;
}

export interface KtEvidenceJson {
  storedCheckpoint?: string;
  answeredCheckpoint?: string;
  pinned?: LogIdentityJson;
  advertised?: LogIdentityJson;
  consistency?: { from: number; to: number; proof: string[] };
  inclusion?: { index: number; size: number; proof: string[]; entry: string };
}

export const logIdentityJson = (log: LogIdentity): LogIdentityJson => ({
  origin: log.origin,
  logKey: log.logKey,
  vrfKey: toB64u(log.vrfKey),
  importEnd: log.importEnd,
});

export function ktEvidenceJson(evidence: KtEvidence): KtEvidenceJson {
  const { storedCheckpoint, answeredCheckpoint, pinned, advertised, consistency, inclusion } = evidence;
  return {
    ...(storedCheckpoint !== undefined ? { storedCheckpoint } : {}),
    ...(answeredCheckpoint !== undefined ? { answeredCheckpoint } : {}),
    ...(pinned ? { pinned: logIdentityJson(pinned) } : {}),
    ...(advertised ? { advertised: logIdentityJson(advertised) } : {}),
    ...(consistency ? { consistency: { ...consistency, proof: consistency.proof.map(toB64u) } } : {}),
    ...(inclusion
      ? { inclusion: { ...inclusion, proof: inclusion.proof.map(toB64u), entry: toB64u(inclusion.entry) } }
      : {}),
  };
}
