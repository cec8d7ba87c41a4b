import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { DATABASE_CONNECTION, type DatabaseConnection } from './database-connection.js';

/** The one Prisma client of the node. Only repositories inject it. */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  constructor(@Inject(DATABASE_CONNECTION) connection: DatabaseConnection) {
    super({ adapter: new PrismaPg(connection.poolConfig) });
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}
