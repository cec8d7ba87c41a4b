import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { dbBytes } from '../database/db-bytes.js';

/** A node signing key as stored (the secret key never leaves the node). */
export interface StoredNodeKey {
  keyId: string;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  notBefore: Date;
  /** null: the current key, no end yet. */
  notAfter: Date | null;
}

/** Serialises key creation and rotation across replicas sharing the database. */
const NODE_KEY_LOCK = 4_273_001;

type Tx = Parameters<Parameters<PrismaService['$transaction']>[0]>[0];

@Injectable()
export class NodeKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  private lock(tx: Tx) {
    return tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${NODE_KEY_LOCK})`);
  }

  /** Keys that have not expired at `now`, newest first. */
  async listUnexpired(now: Date): Promise<StoredNodeKey[]> {
    return this.prisma.nodeKey.findMany({
      where: { OR: [{ notAfter: null }, { notAfter: { gt: now } }] },
      orderBy: [{ notBefore: 'desc' }, { createdAt: 'desc' }],
    });
  }

  /**
   * Inserts `candidate` unless a current key (no end) exists; returns the current key. Two
   * replicas starting together end up with the same single key.
   */
  async insertIfNoCurrentKey(candidate: StoredNodeKey): Promise<StoredNodeKey> {
    return this.prisma.$transaction(async (tx) => {
      await this.lock(tx);
      const current = await tx.nodeKey.findFirst({ where: { notAfter: null }, orderBy: { notBefore: 'desc' } });
      if (current) return current;
      return tx.nodeKey.create({
        data: { ...candidate, publicKey: dbBytes(candidate.publicKey), secretKey: dbBytes(candidate.secretKey) },
      });
    });
  }

  /**
   * Makes `next` the current key and gives every previously current key an end at
   * `retireAt` (kept for verification until then).
   *
   * @returns the keys that were retired.
   */
  async rotate(next: StoredNodeKey, retireAt: Date): Promise<StoredNodeKey[]> {
    return this.prisma.$transaction(async (tx) => {
      await this.lock(tx);
      const retiring = await tx.nodeKey.findMany({ where: { notAfter: null } });
      await tx.nodeKey.updateMany({ where: { notAfter: null }, data: { notAfter: retireAt } });
      await tx.nodeKey.create({
        data: { ...next, publicKey: dbBytes(next.publicKey), secretKey: dbBytes(next.secretKey) },
      });
      return retiring.map((k) => ({ ...k, notAfter: retireAt }));
    });
  }
}
