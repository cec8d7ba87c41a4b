import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KT_KNOWN_HEADER, KT_KNOWN_HEADER_NAME, parseKnownHeader } from '../protocol/transparency/wire.js';

/**
 * The size of this node's log the requester knows, from `KeyPears-KT-Known`
 * (docs/transparency.md §11.2): undefined when it did not opt in. The answer is marked
 * `Vary: KeyPears-KT-Known` either way, so that caches keep the two forms apart.
 *
 * @throws KeyPearsError `invalid_request` for a malformed header.
 */
export const KtKnown = createParamDecorator((_data: unknown, ctx: ExecutionContext): number | undefined => {
  const http = ctx.switchToHttp();
  const reply = http.getResponse<FastifyReply>();
  const vary = reply.getHeader('vary');
  reply.header('Vary', vary ? `${String(vary)}, ${KT_KNOWN_HEADER_NAME}` : KT_KNOWN_HEADER_NAME);
  return parseKnownHeader(http.getRequest<FastifyRequest>().headers[KT_KNOWN_HEADER]);
});

/** The header in the OpenAPI document of a route that reads it. */
export const ApiKtKnown = () =>
  ApiHeader({
    name: KT_KNOWN_HEADER_NAME,
    required: false,
    description:
      'Opt in to key transparency: the size of the log of the node serving the address that the requester has verified (0: none). The answer then carries a `transparency` member (docs/transparency.md §11).',
  });
