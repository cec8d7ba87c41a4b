import { DynamicModule, Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import type { Clock } from '../common/clock.js';
import { ClockModule } from '../common/clock.module.js';
import { LoggerModule } from '../common/logger.module.js';
import type { AppConfig } from '../config/config.js';
import { ConfigModule } from '../config/config.module.js';
import type { DatabaseConnection } from '../database/database-connection.js';
import { DatabaseModule } from '../database/database.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { NodeKeysModule } from '../node-keys/node-keys.module.js';
import { TransparencyModule } from '../transparency/transparency.module.js';
import { KtPeersModule } from '../kt-peers/kt-peers.module.js';

/** The services operator commands use, without the HTTP server. */
@Module({})
export class AdminModule {
  static forRoot(config: AppConfig, connection: DatabaseConnection, clock?: Clock): DynamicModule {
    return {
      module: AdminModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(clock),
        LoggerModule.forRoot(),
        DatabaseModule.forRoot(connection),
        MetricsModule.forRoot(config),
        AccountsModule,
        NodeKeysModule,
        TransparencyModule,
        KtPeersModule,
      ],
    };
  }
}
