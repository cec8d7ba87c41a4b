/**
 * The middle tier of the tests: a node's services on a real, fresh database (the embedded one
 * by default, PostgreSQL under DATABASE_URL), in a Nest application context without HTTP, with
 * a clock the test moves. For rules that are easier to reach through a service than over HTTP
 * (window edges, clean-ups, state changes), still against the real repositories and SQL.
 */
import { Module, type DynamicModule, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClockModule } from '../../src/common/clock.module.js';
import { loadConfig, type AppConfig } from '../../src/config/config.js';
import { ConfigModule } from '../../src/config/config.module.js';
import { openDatabase } from '../../src/database/database-connection.js';
import { DatabaseModule } from '../../src/database/database.module.js';
import { ManualClock } from './manual-clock.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface ServiceContext {
  app: INestApplicationContext;
  clock: ManualClock;
  config: AppConfig;
  database: TestDatabase;
  /** Closes the context and drops its database. */
  close(): Promise<void>;
}

/**
 * Starts `modules` (and the global configuration, clock and database modules they rely on)
 * on a fresh database. `env` is read as the node reads its environment.
 */
export async function startServiceContext(
  modules: Array<Type | DynamicModule>,
  options: { env?: Record<string, string>; clock?: ManualClock } = {},
): Promise<ServiceContext> {
  const database = await createTestDatabase();
  const config: AppConfig = { ...loadConfig({ LOG_LEVEL: 'silent', ...options.env }), ...database.config };
  const clock = options.clock ?? new ManualClock();
  const connection = await openDatabase(config);
  @Module({
    imports: [ConfigModule.forRoot(config), ClockModule.forRoot(clock), DatabaseModule.forRoot(connection), ...modules],
  })
  class ServiceTestModule {}
  let app: INestApplicationContext;
  try {
    app = await NestFactory.createApplicationContext(ServiceTestModule, { logger: false });
  } catch (e) {
    await connection.close();
    await database.drop();
    throw e;
  }
  return {
    app,
    clock,
    config,
    database,
    async close() {
      await app.close();
      await connection.close();
      await database.drop();
    },
  };
}
