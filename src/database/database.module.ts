import { DynamicModule, Global, Module } from '@nestjs/common';
import { DATABASE_CONNECTION, type DatabaseConnection } from './database-connection.js';
import { createAdmissionPool, createPgPool, PG_ADMISSION_POOL, PG_POOL } from './pg-pool.js';
import { PoolMetrics } from './pool-metrics.js';
import { PrismaService } from './prisma.service.js';
import { DatabasePubSub } from './pubsub.js';

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(connection: DatabaseConnection): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: DATABASE_CONNECTION, useValue: connection },
        { provide: PG_POOL, useFactory: createPgPool, inject: [DATABASE_CONNECTION] },
        { provide: PG_ADMISSION_POOL, useFactory: createAdmissionPool, inject: [DATABASE_CONNECTION, PG_POOL] },
        PrismaService,
        DatabasePubSub,
        PoolMetrics,
      ],
      exports: [PrismaService, DatabasePubSub, PG_POOL, PG_ADMISSION_POOL, DATABASE_CONNECTION],
    };
  }
}
