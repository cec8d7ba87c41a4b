import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { AccountsModule } from './accounts/accounts.module.js';
import type { Clock } from './common/clock.js';
import { ClockModule } from './common/clock.module.js';
import { LoggerModule } from './common/logger.module.js';
import type { AppConfig } from './config/config.js';
import { ConfigModule } from './config/config.module.js';
import type { DatabaseConnection } from './database/database-connection.js';
import { DatabaseModule } from './database/database.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { DirectoryModule } from './directory/directory.module.js';
import { DiscoveryModule } from './discovery/discovery.module.js';
import { ExchangeModule } from './exchange/exchange.module.js';
import { HashModule } from './hash/hash.module.js';
import { HealthModule } from './health/health.module.js';
import { NodeKeysModule } from './node-keys/node-keys.module.js';
import { TransparencyModule } from './transparency/transparency.module.js';
import { WebModule } from './web/web.module.js';
import { WellKnownModule } from './well-known/well-known.module.js';

@Module({})
export class AppModule {
  static forRoot(
    config: AppConfig,
    connection: DatabaseConnection,
    clock?: Clock,
    logger?: Logger,
    webAppDir?: string,
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(clock),
        LoggerModule.forRoot(logger),
        DatabaseModule.forRoot(connection),
        MetricsModule.forRoot(config),
        HashModule,
        HealthModule,
        AccountsModule,
        DirectoryModule,
        NodeKeysModule,
        TransparencyModule,
        WellKnownModule,
        DiscoveryModule,
        ExchangeModule,
        WebModule.forRoot(webAppDir),
      ],
    };
  }
}
