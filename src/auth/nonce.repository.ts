import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

/** Nonces of signed requests, per scope (`client`, `federation`), kept until they can no longer verify. */
@Injectable()
export class NonceRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Records a nonce; false when it was already recorded (a replay), atomically across replicas. */
  async remember(scope: string, nonce: string, expiresAt: Date): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<Array<{ nonce: string }>>`
      INSERT INTO request_nonce (scope, nonce, expires_at) VALUES (${scope}, ${nonce}, ${expiresAt})
      ON CONFLICT (scope, nonce) DO NOTHING
      RETURNING nonce`;
    return rows.length === 1;
  }

  async deleteExpired(now: Date): Promise<number> {
    const { count } = await this.prisma.requestNonce.deleteMany({ where: { expiresAt: { lt: now } } });
    return count;
  }
}
