/**
 * The middle test tier: the node's modules as Nest builds them, on a fresh test database
 * (embedded, or on the PostgreSQL server of DATABASE_URL), without HTTP and with a clock the
 * test moves. The application is compiled but not started: no timers run (the outbox worker
 * does a round when the test calls `drain()`), no listening connection is opened.
 */
import { Test } from '@nestjs/testing';
import type { TestingModule } from '@nestjs/testing';
import { Clock } from '../../src/common/clock.js';
import { ClockModule } from '../../src/common/clock.module.js';
import { LoggerModule } from '../../src/common/logger.module.js';
import { loadConfig, type AppConfig } from '../../src/config/config.js';
import { ConfigModule } from '../../src/config/config.module.js';
import { openDatabase } from '../../src/database/database-connection.js';
import { DatabaseModule } from '../../src/database/database.module.js';
import { MetricsModule } from '../../src/metrics/metrics.module.js';
import { PG_POOL } from '../../src/database/pg-pool.js';
import type pg from 'pg';
import { MovableClock } from './movable-clock.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface ServiceGraph {
  module: TestingModule;
  config: AppConfig;
  clock: MovableClock;
  database: TestDatabase;
  /**
   * Moves the clock to 30 s into a day no test has used yet, ten days past the last one: fixed
   * rate-limit windows start afresh there and none is about to end, and what earlier tests left
   * behind has long expired.
   */
  freshDay(): void;
  /** Runs a statement on the node's own pool (to set up what another replica would have done). */
  query(text: string, values?: unknown[]): Promise<pg.QueryResultRow[]>;
  close(): Promise<void>;
}

export interface ServiceGraphOptions {
  /** Feature modules to build (their imports come with them). */
  imports: NonNullable<Parameters<typeof Test.createTestingModule>[0]['imports']>;
  /** Environment as the node reads it (KEYPEARS_DOMAINS, limits, ...). */
  env?: Record<string, string>;
  /** Providers replaced by values, e.g. the client for other nodes. */
  overrides?: Array<[token: unknown, value: unknown]>;
  /** The day the clock starts on (its first `freshDay()` is ten days later). */
  start: Date;
}

export async function startServiceGraph(options: ServiceGraphOptions): Promise<ServiceGraph> {
  const database = await createTestDatabase();
  const config: AppConfig = {
    ...loadConfig({ KEYPEARS_DEV: '1', LOG_LEVEL: 'silent', ...options.env }),
    ...database.config,
  };
  const connection = await openDatabase(config);
  const firstDay = Math.floor(options.start.getTime() / DAY_MS) * DAY_MS;
  const clock = new MovableClock(options.start);
  let days = 0;
  try {
    let builder = Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(clock),
        LoggerModule.forRoot(),
        DatabaseModule.forRoot(connection),
        MetricsModule.forRoot(config),
        ...options.imports,
      ],
    })
      .overrideProvider(Clock)
      .useValue(clock);
    for (const [token, value] of options.overrides ?? []) {
      builder = builder.overrideProvider(token as never).useValue(value);
    }
    const module = await builder.setLogger(silentLogger).compile();
    return {
      module,
      config,
      clock,
      database,
      freshDay: () => clock.set(firstDay + ++days * 10 * DAY_MS + 30_000),
      query: async (text, values) => (await module.get<pg.Pool>(PG_POOL).query(text, values)).rows,
      async close() {
        await module.close();
        await connection.close();
        await database.drop();
      },
    };
  } catch (e) {
    await connection.close();
    await database.drop();
    throw e;
  }
}

const DAY_MS = 86_400_000;
const silentLogger = { log() {}, error() {}, warn() {}, debug() {}, verbose() {}, fatal() {} };
