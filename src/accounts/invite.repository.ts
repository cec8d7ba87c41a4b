import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

export interface NewInvite {
  /** Hex SHA-256 of the token; the token itself is never stored. */
  tokenHash: string;
  domain: string;
  createdAt: Date;
  expiresAt: Date;
}

@Injectable()
export class InviteRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(invite: NewInvite): Promise<void> {
    await this.prisma.invite.create({ data: invite });
  }
}
