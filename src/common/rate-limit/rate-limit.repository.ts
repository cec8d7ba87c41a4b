import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../database/prisma.service.js';

@Injectable()
export class RateLimitRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Adds one hit to a bucket's window and returns the window's count, atomically across replicas. */
  async increment(bucket: string, windowStart: Date): Promise<number> {
    const rows = await this.prisma.$queryRaw<Array<{ count: number }>>`
      INSERT INTO rate_limit (bucket, window_start, count) VALUES (${bucket}, ${windowStart}, 1)
      ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limit.count + 1
      RETURNING count`;
    return Number(rows[0].count);
  }

  async deleteWindowsBefore(cutoff: Date): Promise<number> {
    const { count } = await this.prisma.rateLimit.deleteMany({ where: { windowStart: { lt: cutoff } } });
    return count;
  }
}
