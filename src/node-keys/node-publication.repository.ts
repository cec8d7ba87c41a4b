import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

/** The public URL recorded for this database's nodes (table node_publication, one row). */
@Injectable()
export class NodePublicationRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Records `publicUrl` unless a URL is recorded already, and returns the recorded one. Two
   * nodes starting together on a new database record the first one's.
   */
  async claim(publicUrl: string): Promise<string> {
    const row = await this.prisma.nodePublication.upsert({
      where: { id: 1 },
      create: { id: 1, publicUrl },
      update: {},
    });
    return row.publicUrl;
  }

  /** Records `publicUrl` whatever was recorded; returns the previous one, if any. */
  async replace(publicUrl: string, now: Date): Promise<string | undefined> {
    return this.prisma.$transaction(async (tx) => {
      const previous = await tx.nodePublication.findUnique({ where: { id: 1 } });
      await tx.nodePublication.upsert({
        where: { id: 1 },
        create: { id: 1, publicUrl, createdAt: now, updatedAt: now },
        update: { publicUrl, updatedAt: now },
      });
      return previous?.publicUrl;
    });
  }

  async recorded(): Promise<string | undefined> {
    return (await this.prisma.nodePublication.findUnique({ where: { id: 1 } }))?.publicUrl;
  }
}
