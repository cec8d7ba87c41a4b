import 'reflect-metadata';
import { createNode, type RunningNode } from './app.setup.js';
import { loadConfig, type AppConfig } from './config/config.js';
import { isKeyPearsError } from './protocol/errors.js';

/**
 * The one line a failed start prints on standard error (the log stream, standard output,
 * stays JSON): a KeyPearsError names its cause; anything else is a bug, whose stack
 * LOG_LEVEL=debug adds.
 */
function startFailure(error: unknown, config: AppConfig): string {
  if (isKeyPearsError(error)) return `keypears-node: cannot start: ${error.message}`;
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error && ['debug', 'trace'].includes(config.logLevel) ? `\n${error.stack}` : '';
  return `keypears-node: cannot start: ${message.split('\n')[0]} (unexpected: LOG_LEVEL=debug shows where)${stack}`;
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    console.error(isKeyPearsError(error) ? `keypears-node: ${error.message}` : error);
    process.exit(1);
  }
  let node: RunningNode;
  try {
    node = await createNode(config);
  } catch (error) {
    console.error(startFailure(error, config));
    process.exit(1);
  }
  const { logger } = node;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, `${signal} again: exiting without waiting for the shutdown to finish`);
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, `${signal}: shutting down (requests in progress finish, workers stop, database closes)`);
    node.close().then(
      () => {
        logger.info({ signal }, 'stopped cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ signal, err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
