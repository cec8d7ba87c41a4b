import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { safeFetch } from '../net/safe-fetch.js';
import { decodePublicIdentity, parseWire, type PublicIdentity } from '../protocol/wire.js';
import { KeyPearsError } from '../protocol/errors.js';
import { ktEvidenceJson } from '../protocol/transparency/evidence.js';
import { ktError, type LogState, verifyLogAnswer } from '../protocol/transparency/log-verifier.js';
import {
  ConsistencyProofResponseSchema,
  type LogAdvertisement,
  type ServedIdentity,
  type TransparencyMember,
  type VerifiedEntry,
  verifyTransparencyMember,
} from '../protocol/transparency/wire.js';
import { PeerLogRepository } from './peer-log.repository.js';

export interface RemoteIdentityCheck {
  /** The canonical address served. */
  address: string;
  /** The address's domain, whose log is pinned. */
  domain: string;
  /** The serving node's base URL (discovery's answer). */
  nodeUrl: string;
  /** The served identity keys, decoded or in their wire form (a PublicIdentity or bundle). */
  identity: ServedIdentity | PublicIdentity;
  /** The answer's `transparency` member as received. */
  member: unknown;
  /**
   * The `transparency` member of the serving node's document as this node fetched it; `null`
   * when the document has none; `undefined` when the document was not read.
   */
  advertised?: LogAdvertisement | null;
}

/** The identity keys of a served identity, decoded from the wire form when given so. */
function servedIdentity(identity: ServedIdentity | PublicIdentity, address: string): ServedIdentity {
  if (identity.identityKey instanceof Uint8Array) return identity as ServedIdentity;
  const { identityKey, identityDhKey } = decodePublicIdentity(identity, address);
  return { identityKey, identityDhKey };
}

/** Attempts at a compare-and-swap of one log's state before giving up (each re-reads and re-verifies). */
const MAX_ATTEMPTS = 4;

/**
 * Verifies remote identities and bundles against their node's log before this node relays or
 * stores them (docs/transparency.md §8, §12.6): the log pinned per domain on first sight, the
 * state per log in the database, moved only forward, concurrent requests and replicas settled
 * by compare-and-swap, every failure refused with its `kt_*` code and kept as evidence.
 */
@Injectable()
export class PeerLogService {
  private readonly logger = new Logger(PeerLogService.name);

  constructor(
    private readonly logs: PeerLogRepository,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Verifies a peer's answer (as `verify`) and gives the member to pass on to a requester that
   * said it knows `requesterKnown` of that log (docs/transparency.md §11.4): `log` and
   * `checkpoint` as received, `consistency` rebuilt from the requester's size (fetched from
   * the log, immutable); nothing when the requester did not ask or the peer sent none.
   */
  async verifyForRelay(
    check: RemoteIdentityCheck,
    requesterKnown: number | undefined,
  ): Promise<TransparencyMember | undefined> {
    const entry = await this.verify(check);
    if (requesterKnown === undefined || entry === undefined) return undefined;
    const { consistency: _dropped, ...member } = check.member as TransparencyMember;
    const answered = Number(member.checkpoint.split('\n', 2)[1]);
    const m = requesterKnown;
    if (m === 0 || m >= answered) return member;
    if (m === (check.member as TransparencyMember).consistency?.from) return check.member as TransparencyMember;
    const url = `${entry.log.url}/proof/consistency?from=${m}&to=${answered}`;
    const res = await safeFetch(url, { dev: this.config.dev, dnsServers: this.config.dnsServers, maxBytes: 8 * 1024 });
    if (res.status !== 200) {
      throw new KeyPearsError(
        'peer_error',
        `${entry.log.url} gave no consistency proof from ${m} (HTTP ${res.status})`,
      );
    }
    const proof = parseWire(ConsistencyProofResponseSchema, res.json('peer_error'), 'peer_error');
    return { ...member, consistency: { from: m, proof: proof.proof } };
  }

  /** The size to send as `KeyPears-KT-Known` for an address of `domain`. */
  async knownSize(domain: string): Promise<number> {
    return (await this.logs.read(domain, undefined)).log?.state.size ?? 0;
  }

  /**
   * @returns where the entry is, or undefined for a peer that has never shown a log (nothing
   *   is pinned and it advertises none: there is nothing to hold it to).
   * @throws KeyPearsError `kt_proof_missing`, `kt_proof_invalid`, `kt_log_inconsistent`,
   *   `kt_stale` or `kt_log_reset` (502), with the evidence id in `details`.
   */
  async verify(check: RemoteIdentityCheck): Promise<VerifiedEntry | undefined> {
    const { domain, member, advertised } = check;
    const named = advertised?.origin ?? (member as { log?: { origin?: unknown } } | undefined)?.log?.origin;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const read = await this.logs.read(domain, typeof named === 'string' ? named : undefined);
      const stored = read.log?.state;
      if (read.log?.status === 'inconsistent') {
        throw new KeyPearsError(
          'kt_log_inconsistent',
          `the log of ${domain} (${stored!.log.origin}) contradicted itself before; its answers are refused until an operator clears it`,
          { domain, origin: stored!.log.origin },
        );
      }
      if (!stored && !advertised && member === undefined) return undefined;
      const verdict =
        advertised === null && stored
          ? verifyLogAnswer({ state: stored })
          : verifyTransparencyMember({
              ...check,
              identity: servedIdentity(check.identity, check.address),
              state: stored,
              advertised: advertised ?? undefined,
            });
      if (!verdict.ok) {
        const now = this.clock.now();
        const origin = stored?.log.origin ?? (typeof named === 'string' ? named : null);
        const evidenceId = await this.logs.addEvidence({
          domain,
          origin,
          address: check.address,
          code: verdict.code,
          message: verdict.message,
          evidence: ktEvidenceJson(verdict.evidence),
          createdAt: now,
        });
        if (verdict.code === 'kt_log_inconsistent' && stored) await this.logs.markInconsistent(stored.log.origin, now);
        this.logger.error(
          `${verdict.code} from ${domain} (${check.address}): ${verdict.message}; evidence #${evidenceId}`,
        );
        const error = ktError(verdict);
        throw new KeyPearsError(error.code, `${domain}: ${verdict.message}`, { domain, evidenceId });
      }
      // A verdict without an entry is a failure (no member, or no longer advertised): handled above.
      const { entry } = verdict as Extract<typeof verdict, { entry: VerifiedEntry }>;
      if (await this.store(domain, stored, verdict.state, read.pinnedOrigin)) return entry;
    }
    throw new KeyPearsError('peer_unavailable', `the log state of ${domain} kept changing; try again`);
  }

  /** Stores the new state (or confirms the old one); false when another writer moved it first. */
  private async store(
    domain: string,
    stored: LogState | undefined,
    next: LogState,
    pinnedOrigin: string | undefined,
  ): Promise<boolean> {
    const now = this.clock.now();
    if (!stored) {
      if (!(await this.logs.insertFirst(next, now))) return false;
    } else if (next.size > stored.size && !(await this.logs.advance(stored, next, now))) {
      return false;
    }
    if (pinnedOrigin === undefined) await this.logs.pinDomain(domain, next.log.origin, now);
    return true;
  }
}
