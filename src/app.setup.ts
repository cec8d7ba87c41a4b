/**
 * How a node is assembled and started: shared by main.ts and the end-to-end tests so the
 * two never drift.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DestinationStream, Logger } from 'pino';
import { AppModule } from './app.module.js';
import { AllExceptionsFilter, answerClientError, answerFrameworkError } from './common/all-exceptions.filter.js';
import { statusForCode } from './common/error-status.js';
import type { Clock } from './common/clock.js';
import { createLogger, NestPinoLogger } from './common/logger.js';
import { nameRequestSources } from './common/request-source.js';
import type { AppConfig } from './config/config.js';
import { openDatabase, type DatabaseConnection } from './database/database-connection.js';
import { migrate } from './database/migrator.js';
import { TransparencyService } from './transparency/transparency.service.js';
import { startMetricsListener, type MetricsListener } from './metrics/metrics-listener.js';
import { NodeMetrics } from './metrics/node-metrics.js';
import { errorBody, KeyPearsError } from './protocol/errors.js';
import { MAX_BATCH_BYTES } from './protocol/exchange-api.js';
import { NODE_VERSION } from './version.js';

/**
 * Largest request body the node reads at all (a federation batch's limit, which the node
 * document announces); endpoints set tighter limits of their own.
 */
export const BODY_LIMIT_BYTES = MAX_BATCH_BYTES;

/**
 * How long a stopping node lets the requests in progress finish (a long poll is answered at
 * once) before it closes their connections; process managers wait about as long before they
 * kill (Docker: 10 s by default).
 */
export const SHUTDOWN_GRACE_MS = 8_000;

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** Reuses a well-formed incoming X-Request-Id, otherwise mints one. */
const requestId = (req: IncomingMessage): string => {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
};

/**
 * One log line per request, written when it completes (Fastify's default writes a second one
 * when it arrives): method, URL, status, time in ms, and the request id as `reqId`.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      req: { method: request.method, url: request.url },
      res: { statusCode: reply.statusCode },
      responseTime: reply.elapsedTime,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

/**
 * The Fastify adapter of a node. Once `stopping()` says so, a request that arrives (on a
 * connection kept open) is not started: it is answered `503 shutting_down` and its connection
 * closed, so a balancer sends it elsewhere.
 */
export function createAdapter(
  logger: Logger,
  config: AppConfig,
  stopping: () => boolean = () => false,
): FastifyAdapter {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // Fastify's own answer while closing has another shape than docs/errors.md: the hook below answers instead.
    return503OnClosing: false,
    // Route parameters carry addresses (up to 318 characters, more when percent-encoded).
    routerOptions: { maxParamLength: 1024 },
    // Slow or never-ending requests are cut off (answered 408 by handleClientError): the
    // headers within headersTimeout, the whole body within requestTimeout, checked every
    // second rather than Node's default 30 s.
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // A request without Host is refused by the hook below, in the documented shape.
    http: { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: 1000, requireHostHeader: false },
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
    // Only the listed proxies' X-Forwarded-For is believed (KEYPEARS_TRUST_PROXY).
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    loggerInstance: logger,
    genReqId: requestId,
    logController: new OneLinePerRequest(),
  });
  adapter.getInstance().addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    if (stopping()) {
      void reply
        .code(statusForCode('shutting_down') ?? 503)
        .header('Connection', 'close')
        .send(errorBody('shutting_down', 'the node is shutting down; try again'));
      return;
    }
    if (request.raw.httpVersion === '1.1' && !request.headers.host) {
      done(new KeyPearsError('invalid_request', 'an HTTP/1.1 request needs a Host header'));
      return;
    }
    done();
  });
  nameRequestSources(adapter.getInstance(), config.ipv6SourcePrefix);
  return adapter;
}

export async function setupApp(app: NestFastifyApplication): Promise<void> {
  app.useGlobalFilters(new AllExceptionsFilter());
  const metrics = app.get(NodeMetrics);
  // Labelled by the route's pattern (`/api/v1/identities/:address`), never the URL itself.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', (request, reply, done) => {
      metrics.observeRequest(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  // The OpenAPI document is built on the first request for it (and then kept), not at
  // start-up: most nodes never serve it, and building it costs memory the node would hold.
  const documentFactory = () =>
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('KeyPears node')
        .setDescription('Federated key directory and hybrid X25519 + ML-KEM-768 key exchange. See docs/protocol.md.')
        .setVersion(NODE_VERSION)
        .build(),
    );
  SwaggerModule.setup('api/docs', app, documentFactory, {
    jsonDocumentUrl: 'api/docs-json',
    yamlDocumentUrl: 'api/docs-yaml',
  });
  await app.init();
  // The transparency log exists, and holds every account, before the node answers anything
  // (docs/transparency.md §12.3). Operator commands never start it: they may run with another
  // environment, and the log's origin comes from the node's URL.
  await app.get(TransparencyService).started();
  // Only JSON bodies are accepted (415 otherwise): drop the text and form parsers that
  // Fastify and the Nest adapter install by default.
  app.getHttpAdapter().getInstance().removeContentTypeParser(['text/plain', 'application/x-www-form-urlencoded']);
}

export interface RunningNode {
  app: NestFastifyApplication;
  config: AppConfig;
  /** The address actually listened on (useful with PORT=0). */
  url: string;
  /** The metrics listener's address (KEYPEARS_METRICS_PORT), when there is one. */
  metricsUrl: string | undefined;
  /** The node's log (JSON lines on standard output unless a test gave a destination). */
  logger: Logger;
  /** Stops the node (stopNode below); a second call waits for the first. */
  close(): Promise<void>;
}

/** What a node may be given instead of its defaults (tests move time with their own Clock). */
export interface NodeOverrides {
  /** The node's one clock; default: the system clock. */
  clock?: Clock;
  /** Where the log lines go; default: standard output. */
  logDestination?: DestinationStream;
  /** The built web app to serve at /app (scripts/build-web.js); default: the build's dist/web/app. */
  webAppDir?: string;
}

/** What a failure to listen on `host`:`port` (named by `what`) means, in one line. */
function listenError(error: unknown, what: string, host: string, port: number): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port} (${what})`;
  if (code === 'EADDRINUSE') return new KeyPearsError('listen_failed', `cannot listen on ${where}: the port is in use`);
  if (code === 'EACCES') return new KeyPearsError('listen_failed', `cannot listen on ${where}: permission denied`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new KeyPearsError('listen_failed', `cannot listen on ${where}: no such address on this machine`);
  }
  return error;
}

/**
 * Opens the database (embedded when DATABASE_URL is unset), migrates it, and listens. A
 * failure to start is a KeyPearsError naming its cause in one line (invalid_config,
 * data_dir_in_use, database_unreachable, database_missing, listen_failed, migration_*), after
 * whatever was started has been stopped again.
 */
export async function createNode(config: AppConfig, overrides: NodeOverrides = {}): Promise<RunningNode> {
  const logger = createLogger(config, overrides.logDestination);
  const connection = await openDatabase(config);
  let app: NestFastifyApplication | undefined;
  let metricsListener: MetricsListener | undefined;
  let stopping = false;
  try {
    const migrated = await migrate(connection.poolConfig);
    logger.info(
      { migrationsApplied: migrated.applied, migrationsAlreadyApplied: migrated.alreadyApplied },
      migrated.applied.length > 0
        ? `database migrated: ${migrated.applied.length} migration(s) applied`
        : `database schema up to date (${migrated.alreadyApplied} migration(s))`,
    );
    app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot(config, connection, overrides.clock, logger, overrides.webAppDir),
      createAdapter(logger, config, () => stopping),
      // rawBody: signed requests are verified over the exact bytes received. abortOnError
      // false: a failure while assembling the node is thrown to the caller (not process.abort()).
      { logger: new NestPinoLogger(logger), rawBody: true, abortOnError: false },
    );
    await setupApp(app);
    // Connections over the cap are closed as they arrive.
    app.getHttpServer().maxConnections = config.maxConnections;
    await app.listen(config.port, config.host).catch((e: unknown) => {
      throw listenError(e, 'PORT, HOST', config.host, config.port);
    });
    if (config.metrics.port !== undefined) {
      const { host, port } = config.metrics;
      metricsListener = await startMetricsListener(app.get(NodeMetrics), config.metrics).catch((e: unknown) => {
        throw listenError(e, 'KEYPEARS_METRICS_PORT, KEYPEARS_METRICS_HOST', host, port);
      });
    }
    const address = app.getHttpServer().address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    if (config.dev) {
      logger.warn('KEYPEARS_DEV=1: plain HTTP and loopback/private peers are allowed. Never use this in production.');
    }
    if (!config.dev && config.publicUrl.startsWith('http:')) {
      logger.warn(`KEYPEARS_PUBLIC_URL ${config.publicUrl} is plain HTTP: other nodes will only federate over HTTPS.`);
    }
    logger.info(`KeyPears node ${NODE_VERSION} listening on http://${host}:${port} as ${config.publicUrl}`);
    const running = app;
    let closing: Promise<void> | undefined;
    return {
      app,
      config,
      url: `http://${host}:${port}`,
      metricsUrl: metricsListener?.url,
      logger,
      close() {
        stopping = true;
        closing ??= stopNode(running, metricsListener, connection);
        return closing;
      },
    };
  } catch (e) {
    stopping = true;
    await stopNode(app, metricsListener, connection).catch((stopError: unknown) =>
      logger.warn({ err: stopError }, 'stopping after a failed start failed too'),
    );
    throw e;
  }
}

/**
 * Stops a node in an order that loses nothing: no new request is started (503
 * shutting_down); the outbox worker stops (a delivery in flight is aborted and its message
 * becomes due again); waiting long polls are answered; the requests in progress finish, for
 * up to SHUTDOWN_GRACE_MS; only then are the database pools ended (PrismaService, at
 * application shutdown) and the embedded database closed (a clean PostgreSQL shutdown).
 */
async function stopNode(
  app: NestFastifyApplication | undefined,
  metricsListener: MetricsListener | undefined,
  connection: DatabaseConnection,
): Promise<void> {
  await metricsListener?.close();
  if (app) {
    const server = app.getHttpServer();
    const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    try {
      await app.close();
    } finally {
      clearTimeout(grace);
    }
  }
  await connection.close();
}
