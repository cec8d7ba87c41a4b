import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

export interface NewInvite {
  /** Hex SHA-256 of the token; the token itself is never stored. */
  tokenHash: string;
  domain: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface StoredInvite extends NewInvite {
  usedAt: Date | null;
  usedBy: string | null;
}

@Injectable()
export class InviteRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(invite: NewInvite): Promise<void> {
    await this.prisma.invite.create({ data: invite });
  }

  /** Every invite, newest first. */
  async list(): Promise<StoredInvite[]> {
    return this.prisma.invite.findMany({ orderBy: [{ createdAt: 'desc' }, { tokenHash: 'asc' }] });
  }

  /** Deletes the unused invites whose token hash starts with `prefix` (lower-case hex); returns them. */
  async revokeUnused(prefix: string): Promise<StoredInvite[]> {
    return this.prisma.$transaction(async (tx) => {
      const found = await tx.invite.findMany({ where: { tokenHash: { startsWith: prefix }, usedAt: null } });
      if (found.length === 1) await tx.invite.delete({ where: { tokenHash: found[0].tokenHash } });
      return found;
    });
  }
}
