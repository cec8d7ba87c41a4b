import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../database/prisma.service.js';

/** A recipient's blocks: canonical addresses or whole domains. */
@Injectable()
export class BlockRepository {
  constructor(private readonly prisma: PrismaService) {}

  async add(accountId: string, pattern: string, now: Date): Promise<void> {
    await this.prisma.block.createMany({ data: [{ accountId, pattern, createdAt: now }], skipDuplicates: true });
  }

  /** True when something was removed. */
  async remove(accountId: string, pattern: string): Promise<boolean> {
    const { count } = await this.prisma.block.deleteMany({ where: { accountId, pattern } });
    return count > 0;
  }

  async list(accountId: string): Promise<string[]> {
    const rows = await this.prisma.block.findMany({ where: { accountId }, orderBy: { createdAt: 'asc' } });
    return rows.map((r) => r.pattern);
  }

  /** True when the account blocks this sender address or its whole domain. */
  async isBlocked(accountId: string, senderAddress: string, senderDomain: string): Promise<boolean> {
    const hit = await this.prisma.block.findFirst({
      where: { accountId, pattern: { in: [senderAddress, senderDomain] } },
      select: { pattern: true },
    });
    return hit !== null;
  }
}
