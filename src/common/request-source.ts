/**
 * The source a request is counted as by per-source rate limits (src/net/source-address.ts):
 * worked out once per request, when it arrives, from the client address Fastify reports
 * (the connection's peer, or the X-Forwarded-For client when the peer is a trusted proxy).
 */
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sourceBucket } from '../net/source-address.js';

const DEFAULT_IPV6_PREFIX = 64;
const sources = new WeakMap<FastifyRequest, string>();

/** Registers the hook that names every request's source, IPv6 cut to `ipv6Prefix` bits. */
export function nameRequestSources(fastify: FastifyInstance, ipv6Prefix: number): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    sources.set(request, sourceBucket(request.ip, ipv6Prefix));
    done();
  });
}

/** The rate-limit source of `request` (e.g. `203.0.113.7`, `2001:db8:1:2::/64`). */
export function requestSource(request: FastifyRequest): string {
  return sources.get(request) ?? sourceBucket(request.ip, DEFAULT_IPV6_PREFIX);
}

/** Parameter decorator: the request's rate-limit source. */
export const Source = createParamDecorator((_: unknown, ctx: ExecutionContext): string =>
  requestSource(ctx.switchToHttp().getRequest<FastifyRequest>()),
);
