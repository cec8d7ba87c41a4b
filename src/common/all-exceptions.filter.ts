/**
 * The node's one error boundary. Every error leaves as `{"error": {"code", "message"}}`
 * with the status of its code; framework errors (unknown route, malformed JSON, oversized or
 * wrongly typed bodies) are translated to the same shape; a database that cannot be reached
 * or cannot serve now is 503 `database_unavailable` wherever it is found; anything unexpected
 * is logged with its stack and answered as a generic 500, never with internal details.
 * Its log lines go through the request's own logger, so each carries the request id
 * (`reqId`, the X-Request-Id answered to the client). Errors found before a request reaches a
 * route (answerClientError, answerFrameworkError) are answered in the same shape.
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { isDatabaseUnavailable } from '../database/prisma-errors.js';
import { errorBody, isKeyPearsError, type ApiErrorCode, type ErrorCode } from '../protocol/errors.js';
import { statusForCode } from './error-status.js';

interface Translated {
  status: number;
  code: ErrorCode;
  message: string;
  retryAfterSeconds?: number;
}

/** Fastify's own errors carry a `code` like FST_ERR_CTP_INVALID_JSON_BODY. */
const FASTIFY_ERRORS: Record<string, Omit<Translated, 'message'> & { message?: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', message: 'request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json', message: 'request body is empty' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: 'content type must be application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_request', message: 'invalid Content-Length' },
};

/** What a client is told to wait before retrying when the database is away. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

const HTTP_CODES: Record<number, ApiErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    const t = this.translate(exception, request);
    if (t.retryAfterSeconds !== undefined) void reply.header('Retry-After', String(t.retryAfterSeconds));
    void reply.status(t.status).header('Content-Type', 'application/json; charset=utf-8');
    void reply.send(errorBody(t.code, t.message, t.retryAfterSeconds));
  }

  private translate(exception: unknown, request: FastifyRequest): Translated {
    if (isKeyPearsError(exception)) {
      const status = statusForCode(exception.code);
      if (status === undefined) return this.internal(exception, request);
      if (status >= 500) {
        request.log.warn({ context: 'ErrorBoundary', code: exception.code }, `${exception.code}: ${exception.message}`);
      }
      const retry = exception.details?.retryAfterSeconds;
      return {
        status,
        code: exception.code,
        message: exception.message,
        retryAfterSeconds: typeof retry === 'number' ? retry : undefined,
      };
    }
    // The Fastify adapter wraps Fastify's own errors in an HttpException with the original as `cause`.
    const raw = exception as { code?: unknown; cause?: { code?: unknown } } | undefined;
    const fastifyCode = raw?.code ?? raw?.cause?.code;
    if (typeof fastifyCode === 'string' && FASTIFY_ERRORS[fastifyCode]) {
      const known = FASTIFY_ERRORS[fastifyCode];
      return { status: known.status, code: known.code, message: known.message ?? known.code };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status >= 500) return this.internal(exception, request);
      const code = HTTP_CODES[status] ?? 'invalid_request';
      const message =
        status === 404 ? `no route for ${request.method} ${request.url.split('?')[0]}` : exception.message;
      return { status, code, message };
    }
    const statusCode = (exception as { statusCode?: unknown })?.statusCode;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      return { status: statusCode, code: HTTP_CODES[statusCode] ?? 'invalid_request', message: 'bad request' };
    }
    if (isDatabaseUnavailable(exception)) {
      request.log.warn(
        { context: 'ErrorBoundary', code: 'database_unavailable' },
        `database_unavailable on ${request.method} ${request.url}: ${(exception as Error).message}`,
      );
      return {
        status: 503,
        code: 'database_unavailable',
        message: 'the database is unavailable; try again shortly',
        retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
      };
    }
    return this.internal(exception, request);
  }

  private internal(exception: unknown, request: FastifyRequest): Translated {
    request.log.error(
      { context: 'ErrorBoundary', stack: exception instanceof Error ? exception.stack : String(exception) },
      `unhandled error on ${request.method} ${request.url}`,
    );
    return { status: 500, code: 'internal_error', message: 'internal error' };
  }
}

/** The one body of every error answer, as bytes on the wire. */
const errorJson = (code: ApiErrorCode, message: string): string => JSON.stringify(errorBody(code, message));

const CLIENT_ERRORS: Record<string, { code: ApiErrorCode; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'request_timeout', message: 'the request did not arrive in time' },
  HPE_HEADER_OVERFLOW: { code: 'headers_too_large', message: 'the request headers are too large' },
};

/**
 * Fastify's `clientErrorHandler`: the HTTP parser refused the bytes received (a malformed
 * request line or header, headers over the limit) or the request missed its deadline
 * (KEYPEARS_REQUEST_TIMEOUT_MS, KEYPEARS_HEADERS_TIMEOUT_MS). No route has seen the request,
 * so the answer is written on the socket, in the documented shape, and the connection closed.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { code, message } = CLIENT_ERRORS[error.code ?? ''] ?? {
    code: 'invalid_request',
    message: 'malformed HTTP request',
  };
  // A response already under way cannot be replaced by another one.
  const started = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (socket.writable && !started) {
    const status = statusForCode(code)!;
    const body = errorJson(code, message);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

const FRAMEWORK_ERRORS: Record<string, string> = {
  FST_ERR_BAD_URL: 'the URL is not valid (malformed percent-encoding)',
  FST_ERR_MAX_PARAM_LENGTH: 'a path parameter is over 1024 characters',
};

/**
 * Fastify's `frameworkErrors`: the URL could not be routed (malformed percent-encoding, a
 * parameter over the router's limit).
 */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const message = FRAMEWORK_ERRORS[error.code] ?? 'malformed request';
  void reply
    .status(400)
    .header('Content-Type', 'application/json; charset=utf-8')
    .send(errorJson('invalid_request', message));
}
