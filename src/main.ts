import 'reflect-metadata';
import { createNode } from './app.setup.js';
import { loadConfig } from './config/config.js';
import { isKeyPearsError } from './protocol/errors.js';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const node = await createNode(config);
  const stop = async () => {
    await node.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(isKeyPearsError(error) ? `keypears-node: ${error.message}` : error);
  process.exit(1);
});
