/**
 * Starts a real node (the same createNode() as main.ts) on a loopback port with a fresh
 * database, in development mode so that several nodes on one machine can federate. A test
 * that depends on time gives it a MovableClock (./movable-clock.ts) and moves that.
 */
import { createNode, type NodeOverrides, type RunningNode } from '../../src/app.setup.js';
import { Clock } from '../../src/common/clock.js';
import { loadConfig, type AppConfig } from '../../src/config/config.js';
import { freePort } from './free-port.js';
import { MovableClock } from './movable-clock.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface TestNode {
  node: RunningNode;
  database: TestDatabase;
  config: AppConfig;
  /** The node's clock (the system clock unless one was given); test users sign with it. */
  clock: Clock;
  url: string;
  /** Stops the node and starts it again on the same database and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Stops the node (if running) and drops its database. */
  destroy(): Promise<void>;
}

export async function startTestNode(
  env: Record<string, string> = {},
  overrides: NodeOverrides = {},
  /** The PostgreSQL server to create the node's database on (default DATABASE_URL, else embedded). */
  databaseServer?: string,
): Promise<TestNode> {
  const database = await createTestDatabase(databaseServer);
  // The port is chosen up front so the public URL is known before the node starts.
  const port = await freePort();
  const base = loadConfig({ KEYPEARS_DEV: '1', PORT: String(port), LOG_LEVEL: 'silent', ...env });
  const config: AppConfig = { ...base, ...database.config };
  const clock = overrides.clock ?? new Clock();
  const node = await createNode(config, { ...overrides, clock });
  let running = true;
  const handle: TestNode = {
    node,
    database,
    config,
    clock,
    url: node.url,
    async restart() {
      if (running) await handle.node.close();
      handle.node = await createNode(config, { ...overrides, clock });
      running = true;
    },
    async stop() {
      if (running) await handle.node.close();
      running = false;
    },
    async destroy() {
      await handle.stop();
      await database.drop();
    },
  };
  return handle;
}

/**
 * A clock that stands still `offsetMs` (default 10 s) into the current hour, until the test
 * moves it: every fixed rate-limit window of a minute or an hour then starts at a known
 * instant, whatever the time of the run, and signatures made by the node's test users fit it.
 */
export function clockInThisHour(offsetMs = 10_000): MovableClock {
  return new MovableClock(Math.floor(Date.now() / 3_600_000) * 3_600_000 + offsetMs);
}
