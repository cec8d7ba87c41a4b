/**
 * One pino logger for the node: Fastify logs every request with its id through it, and
 * Nest's own messages go through the same instance, so all output is one JSON stream on
 * standard output, one object per line (docs/operators.md, "Logs").
 */
import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import type { AppConfig } from '../config/config.js';

export function createLogger(
  config: Pick<AppConfig, 'logLevel'>,
  destination: DestinationStream = pino.destination({ sync: true }),
): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'keypears-node' },
      // Signatures are not secrets, but they are noise; credentials never belong in logs.
      redact: ['req.headers.authorization', 'req.headers.signature', 'req.headers["signature-input"]'],
    },
    // Written at once: a line logged just before the process exits is not lost.
    destination,
  );
}

/**
 * Nest's start-up chatter (one line per module and per route) is kept for `debug`; `info`
 * stays about what the node does.
 */
const START_UP_CONTEXTS = new Set([
  'NestFactory',
  'NestApplication',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
]);

/**
 * Fields for one log line: a message given as an object (`logger.warn({ msg, peer, ... })`)
 * keeps its fields as the line's own, so a log reader can select on them.
 */
function fields(message: unknown, context: string | undefined): [Record<string, unknown>, string] {
  if (typeof message === 'object' && message !== null && !(message instanceof Error)) {
    const { msg, ...rest } = message as Record<string, unknown>;
    return [{ context, ...rest }, typeof msg === 'string' ? msg : ''];
  }
  return [{ context }, message instanceof Error ? message.message : String(message)];
}

export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  private write(level: Level, message: unknown, context: string | undefined, extra?: Record<string, unknown>): void {
    const [data, msg] = fields(message, context);
    this.logger[level]({ ...data, ...extra }, msg);
  }

  log(message: unknown, context?: string): void {
    this.write(context !== undefined && START_UP_CONTEXTS.has(context) ? 'debug' : 'info', message, context);
  }
  error(message: unknown, stack?: string, context?: string): void {
    this.write('error', message, context, stack === undefined ? undefined : { stack });
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string): void {
    this.write('fatal', message, context);
  }
}
