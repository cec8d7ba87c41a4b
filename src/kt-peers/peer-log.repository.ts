import { Injectable } from '@nestjs/common';
import { dbBytes } from '../database/db-bytes.js';
import { PrismaService } from '../database/prisma.service.js';
import type { KtEvidenceJson } from '../protocol/transparency/evidence.js';
import type { LogState } from '../protocol/transparency/log-verifier.js';

/** A peer log as stored: the verifier's state and whether a fork paused it. */
export interface StoredPeerLog {
  state: LogState;
  status: 'ok' | 'inconsistent';
}

export interface PeerLogRead {
  /** The origin the domain is pinned to, if it is. */
  pinnedOrigin?: string;
  log?: StoredPeerLog;
}

export interface EvidenceRecord {
  id: string;
  domain: string;
  origin: string | null;
  address: string | null;
  code: string;
  message: string;
  evidence: KtEvidenceJson;
  createdAt: Date;
}

type PeerLogRow = {
  origin: string;
  logKey: string;
  vrfKey: Uint8Array;
  importEnd: bigint;
  size: bigint;
  root: Uint8Array;
  checkpoint: string;
  status: string;
};

const toStored = (row: PeerLogRow): StoredPeerLog => ({
  state: {
    log: {
      origin: row.origin,
      logKey: row.logKey,
      vrfKey: new Uint8Array(row.vrfKey),
      importEnd: Number(row.importEnd),
    },
    size: Number(row.size),
    root: new Uint8Array(row.root),
    checkpoint: row.checkpoint,
  },
  status: row.status === 'inconsistent' ? 'inconsistent' : 'ok',
});

/**
 * Peer logs, domain pins and evidence (tables kt_peer_log, kt_peer_domain, kt_evidence). The
 * state only moves forward: a first sight is an insert that loses to a concurrent one, an
 * advance is a compare-and-swap on the size and root read, and a trigger refuses any write that
 * would lower the size or change the root of a size.
 */
@Injectable()
export class PeerLogRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The domain's pin and the state of the log it is pinned to (or, unpinned, of `origin`). */
  async read(domain: string, origin: string | undefined): Promise<PeerLogRead> {
    const pin = await this.prisma.ktPeerDomain.findUnique({ where: { domain } });
    const at = pin?.origin ?? origin;
    const row = at === undefined ? null : await this.prisma.ktPeerLog.findUnique({ where: { origin: at } });
    return { ...(pin ? { pinnedOrigin: pin.origin } : {}), ...(row ? { log: toStored(row) } : {}) };
  }

  /** Stores a log seen for the first time; false when another request stored it first. */
  async insertFirst(state: LogState, now: Date): Promise<boolean> {
    const { count } = await this.prisma.ktPeerLog.createMany({
      data: [
        {
          origin: state.log.origin,
          logKey: state.log.logKey,
          vrfKey: dbBytes(state.log.vrfKey),
          importEnd: BigInt(state.log.importEnd),
          size: BigInt(state.size),
          root: dbBytes(state.root),
          checkpoint: state.checkpoint,
          firstSeenAt: now,
          updatedAt: now,
        },
      ],
      skipDuplicates: true,
    });
    return count === 1;
  }

  /** Moves a log from the head read to a larger one; false when the stored head changed meanwhile. */
  async advance(from: LogState, to: LogState, now: Date): Promise<boolean> {
    const { count } = await this.prisma.ktPeerLog.updateMany({
      where: { origin: from.log.origin, size: BigInt(from.size), root: dbBytes(from.root), status: 'ok' },
      data: { size: BigInt(to.size), root: dbBytes(to.root), checkpoint: to.checkpoint, updatedAt: now },
    });
    return count === 1;
  }

  /** Pins a domain to a log unless it is pinned already. */
  async pinDomain(domain: string, origin: string, now: Date): Promise<void> {
    await this.prisma.ktPeerDomain.createMany({ data: [{ domain, origin, pinnedAt: now }], skipDuplicates: true });
  }

  async markInconsistent(origin: string, now: Date): Promise<void> {
    await this.prisma.ktPeerLog.updateMany({ where: { origin }, data: { status: 'inconsistent', updatedAt: now } });
  }

  async addEvidence(record: Omit<EvidenceRecord, 'id'>): Promise<string> {
    const row = await this.prisma.ktEvidence.create({
      data: { ...record, evidence: record.evidence as object },
      select: { id: true },
    });
    return row.id.toString();
  }

  /** Evidence records after `afterId`, oldest first. */
  async listEvidence(afterId = 0n, limit = 1000): Promise<EvidenceRecord[]> {
    const rows = await this.prisma.ktEvidence.findMany({
      where: { id: { gt: afterId } },
      orderBy: { id: 'asc' },
      take: limit,
    });
    return rows.map((r) => ({ ...r, id: r.id.toString(), evidence: r.evidence as KtEvidenceJson }));
  }

  async listPeers(): Promise<Array<StoredPeerLog & { domains: string[]; updatedAt: Date }>> {
    const rows = await this.prisma.ktPeerLog.findMany({ include: { domains: true }, orderBy: { origin: 'asc' } });
    return rows.map((r) => ({ ...toStored(r), domains: r.domains.map((d) => d.domain), updatedAt: r.updatedAt }));
  }

  /** Forgets a peer log and its domain pins (an operator's decision after a reset or a fork). */
  async clearPeer(origin: string): Promise<boolean> {
    const { count } = await this.prisma.ktPeerLog.deleteMany({ where: { origin } });
    return count > 0;
  }
}
