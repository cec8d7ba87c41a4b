import { DynamicModule, Global, Module } from '@nestjs/common';
import { pino, type Logger } from 'pino';

/**
 * The node's own pino logger, for the lines an operator selects on by their fields (a failed
 * delivery). Nest's `Logger` writes through one logger per process, and a process may run
 * several nodes (the tests do): this one is the node's.
 */
export const NODE_LOGGER = Symbol('NODE_LOGGER');

@Global()
@Module({})
export class LoggerModule {
  /** Without a logger (operator commands, service tests) nothing is written. */
  static forRoot(logger: Logger = pino({ level: 'silent' })): DynamicModule {
    return { module: LoggerModule, providers: [{ provide: NODE_LOGGER, useValue: logger }], exports: [NODE_LOGGER] };
  }
}
