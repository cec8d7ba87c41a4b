/**
 * Starts a real node (the same createNode() as main.ts) on a loopback port with a fresh
 * database, in development mode so that several nodes on one machine can federate.
 */
import { createNode, type RunningNode } from '../../src/app.setup.js';
import { loadConfig, type AppConfig } from '../../src/config/config.js';
import { freePort } from './free-port.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface TestNode {
  node: RunningNode;
  database: TestDatabase;
  config: AppConfig;
  url: string;
  /** Stops the node and starts it again on the same database and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Stops the node (if running) and drops its database. */
  destroy(): Promise<void>;
}

export async function startTestNode(
  env: Record<string, string> = {},
  overrides: Partial<AppConfig> = {},
): Promise<TestNode> {
  const database = await createTestDatabase();
  // The port is chosen up front so the public URL is known before the node starts.
  const port = await freePort();
  const base = loadConfig({ KEYPEARS_DEV: '1', PORT: String(port), LOG_LEVEL: 'silent', ...env });
  const config: AppConfig = { ...base, ...database.config, ...overrides };
  const node = await createNode(config);
  let running = true;
  const handle: TestNode = {
    node,
    database,
    config,
    url: node.url,
    async restart() {
      if (running) await handle.node.close();
      handle.node = await createNode(config);
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
